"""A shallower student of a trained network: its layers taken from the teacher's, trained on the
teacher's scores beside the labels (`python -m models.train --teacher CKPT --keep-layers 0,1`).

Issue #22 names the lever: the encoder is most of the model's time per site, and a network with
fewer layers costs proportionally less per token. The student starts as the teacher with some of
its blocks left out (embeddings, heads and the kept blocks copied), so it begins near the
teacher's ranking instead of from nothing, and the loss pulls its whole distribution over types
and candidates towards the teacher's (Hinton et al. 2015) as well as towards the label.
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn.functional as F

_BLOCK = re.compile(r"^blocks\.(\d+)\.(.*)$")


def parse_layers(text: str) -> list[int]:
    """`0,2` -> [0, 2]: the teacher's blocks the student keeps, in order."""
    try:
        keep = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--keep-layers {text!r}: expected block numbers such as 0,2") from None
    if not keep or len(set(keep)) != len(keep) or keep != sorted(keep):
        raise ValueError(f"--keep-layers {text!r}: expected distinct block numbers in increasing order")
    return keep


def student_from(
    net_config: dict[str, Any], weights: dict[str, torch.Tensor], keep: list[int]
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The student's network config and initial weights: the teacher's, with only the blocks in
    `keep` (renumbered from 0). Everything outside the blocks is shared as it is."""
    layers = int(net_config["layers"])
    if any(k < 0 or k >= layers for k in keep):
        raise ValueError(f"the teacher has blocks 0..{layers - 1}; asked to keep {keep}")
    rename = {old: new for new, old in enumerate(keep)}
    out: dict[str, torch.Tensor] = {}
    for name, value in weights.items():
        m = _BLOCK.match(name)
        if m is None:
            out[name] = value.clone()
        elif int(m.group(1)) in rename:
            out[f"blocks.{rename[int(m.group(1))]}.{m.group(2)}"] = value.clone()
    return {**net_config, "layers": len(keep)}, out


def distill_loss(
    student: tuple[torch.Tensor, torch.Tensor],
    teacher: tuple[torch.Tensor, torch.Tensor],
    lmask: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """KL(teacher || student) over the joint distribution the model ranks (the language's
    vocabulary, then the site's candidates), at `temperature`, scaled by its square so the
    gradient's size does not depend on it."""

    def log_probs(logits: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        joint = torch.cat([logits[0].float() + lmask, logits[1].float()], dim=1)
        return F.log_softmax(joint / temperature, dim=1)

    kl = F.kl_div(log_probs(student), log_probs(teacher), log_target=True, reduction="batchmean")
    return kl * temperature**2
