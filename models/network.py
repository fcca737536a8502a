"""The network: a small Transformer encoder over the site text, a classifier over the type
vocabulary and a ranking head over the site's local candidates (names in scope composed
with templates).  Plain PyTorch modules that export cleanly to ONNX."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class NetConfig:
    vocab_size: int
    n_types: int
    n_features: int
    d: int = 256
    layers: int = 4
    heads: int = 4
    ff: int = 768
    max_len: int = 129
    dropout: float = 0.1
    cand_attn: int = 0  # 1: each candidate attends over the site's tokens before it is scored

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


class Block(nn.Module):
    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.ln1 = nn.LayerNorm(cfg.d)
        self.qkv = nn.Linear(cfg.d, 3 * cfg.d)
        self.proj = nn.Linear(cfg.d, cfg.d)
        self.ln2 = nn.LayerNorm(cfg.d)
        self.ff1 = nn.Linear(cfg.d, cfg.ff)
        self.ff2 = nn.Linear(cfg.ff, cfg.d)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(
            qkv[0], qkv[1], qkv[2], attn_mask=bias, dropout_p=self.drop.p if self.training else 0.0
        )
        y = y.transpose(1, 2).reshape(b, t, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.ff2(F.gelu(self.ff1(self.ln2(x)))))


class CandAttn(nn.Module):
    """Cross-attention from each candidate to the site's encoded tokens: the candidate sees *where*
    the evidence mentions it (`isinstance(x, Foo)`, `Foo(...)`, `x.foo_attr`) and not only how often.
    The output projection starts at zero, so a network grown from one without it starts with the
    same scores."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.ln = nn.LayerNorm(cfg.d)
        self.q = nn.Linear(cfg.d, cfg.d)
        self.kv = nn.Linear(cfg.d, 2 * cfg.d)
        self.out = nn.Linear(cfg.d, cfg.d)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, e: torch.Tensor, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, c, d = e.shape
        t = x.shape[1]
        h = self.heads
        q = self.q(self.ln(e)).view(b, c, h, d // h).transpose(1, 2)
        kv = self.kv(x).view(b, t, 2, h, d // h).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, kv[0], kv[1], attn_mask=bias)
        return e + self.out(y.transpose(1, 2).reshape(b, c, d))


class TypeNet(nn.Module):
    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d, padding_idx=0)
        self.pos = nn.Embedding(cfg.max_len, cfg.d)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.d)
        self.type_head = nn.Linear(cfg.d, cfg.n_types)
        self.feat = nn.Linear(cfg.n_features, cfg.d)
        self.cand_mlp = nn.Sequential(nn.Linear(3 * cfg.d, cfg.d), nn.GELU(), nn.Linear(cfg.d, 1))
        self.cand_attn = CandAttn(cfg) if cfg.cand_attn else None

    def forward(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        cand_tok: torch.Tensor,
        cand_feat: torch.Tensor,
        cand_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        t = ids.shape[1]
        pos = torch.arange(t, device=ids.device).unsqueeze(0)
        x = self.tok(ids) + self.pos(pos)
        bias = ((1.0 - mask.to(x.dtype)) * -1e4)[:, None, None, :]
        for blk in self.blocks:
            x = blk(x, bias)
        if self.cand_attn is not None:  # the candidates attend over every normalised token
            x = self.norm(x)
            site = x[:, 0]
        else:
            site = self.norm(x[:, 0])
        type_logits = self.type_head(site)
        emb = self.tok(cand_tok)  # [B, C, L, d]
        m = (cand_tok != 0).to(emb.dtype).unsqueeze(-1)
        name = (emb * m).sum(2) / m.sum(2).clamp(min=1.0)
        e = name + self.feat(cand_feat.to(name.dtype))
        if self.cand_attn is not None:
            e = self.cand_attn(e, x, bias)
        s = site.unsqueeze(1).expand_as(e)
        cand_logits = self.cand_mlp(torch.cat([s, e, s * e], dim=-1)).squeeze(-1)
        cand_logits = cand_logits.masked_fill(cand_mask == 0, -1e4)
        return type_logits, cand_logits


def load_checkpoint(ck: dict[str, Any]) -> TypeNet:
    """The network a `models.train` checkpoint holds (its `net_config` and weights), in eval mode."""
    model = TypeNet(NetConfig(**ck["net_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    return model
