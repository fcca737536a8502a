"""Write the model card (typeinf/model/MODEL_CARD.md) from the measured results:
`python -m models.card`.  Every figure comes from a file a command wrote:

    models/corpus/STATS.json       python -m models.corpus build
    models/eval/results.json       python -m models.evaluate
    models/eval/training.json      python -m models.train (history, copied by models.export)
    typeinf/model/config.json      python -m models.export
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "typeinf" / "model"
EVAL = ROOT / "models" / "eval"


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else {}


def _pct(x: Any) -> str:
    return f"{100 * x:.1f}" if isinstance(x, (int, float)) else "–"


def _row(name: str, r: dict[str, Any]) -> str:
    return f"| {name} | {r.get('n', 0):,} | {_pct(r.get('exact@1'))} | {_pct(r.get('exact@5'))} | {_pct(r.get('base@1'))} |"


def results_tables(res: dict[str, Any]) -> list[str]:
    test = res.get("test", {})
    out = []
    for lang in ("python", "typescript"):
        if lang not in test.get("model", {}):
            continue
        out += [
            "",
            f"### {lang}",
            "",
            "| sites | n | model exact@1 | exact@5 | base@1 | name lookup exact@1 | most frequent exact@1 |",
            "|---|---|---|---|---|---|---|",
        ]
        m, nl, mf = test["model"][lang], test["name_lookup"][lang], test["most_frequent_per_kind"][lang]

        def line(label: str, a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]) -> str:
            return (
                f"| {label} | {a.get('n', 0):,} | {_pct(a.get('exact@1'))} | {_pct(a.get('exact@5'))} "
                f"| {_pct(a.get('base@1'))} | {_pct(b.get('exact@1'))} | {_pct(c.get('exact@1'))} |"
            )

        out.append(line("**all (headline)**", m["all"], nl["all"], mf["all"]))
        for k in ("param", "return", "var"):
            out.append(line(k, m["by_kind"][k], nl["by_kind"][k], mf["by_kind"][k]))
        for c in ("builtin", "third-party", "user-defined"):
            out.append(line(c, m["by_category"][c], nl["by_category"][c], mf["by_category"][c]))
        out.append(line("generic", m["generic"], nl["generic"], mf["generic"]))
        out.append(
            line(
                "Any/object/any/unknown (apart)",
                m["uninformative_labels"],
                nl["uninformative_labels"],
                mf["uninformative_labels"],
            )
        )
    return out


def _precision(train: dict[str, Any]) -> str:
    """How the last stage ran: bf16 autocast on a CPU with AMX, fp32 on one without (models.train)."""
    p = train.get("precision") or ["bf16"]  # stages before the choice was recorded ran in bf16
    return "bf16 autocast" if set(p) == {"bf16"} else "fp32" if set(p) == {"fp32"} else " then ".join(p)


def strip_restore_tables() -> list[str]:
    """typeinf beside pyright / tsc on the same stripped sites of held-out applications."""
    out = []
    for lang, tool in (("python", "pyright"), ("typescript", "tsc")):
        for setting, suffix in (("classic", ""), ("strict", "_strict")):
            data = _load(EVAL / f"strip_restore_{lang}{suffix}.json")
            if not data:
                continue
            if not out:
                out += [
                    "| language | setting | project | sites | typeinf exact | typeinf base | "
                    f"{'pyright / tsc'} exact | base | typeinf precision / coverage at the default threshold |",
                    "|---|---|---|---|---|---|---|---|---|",
                ]
            for project, r in sorted(data.items()):
                t = r.get("typeinf", {}).get("all", {})
                b = r.get(tool, {}).get("all", {})
                prec = t.get("precision", {})
                default = max(prec, key=float, default=None) if prec else None
                # the default threshold is the one key that is not a round figure, else the highest
                keys = [k for k in prec if k not in ("0.0", "0.5", "0.7", "0.9", "0.95")]
                default = keys[0] if keys else default
                at = prec.get(default, {}) if default else {}
                cov = at.get("n", 0) / max(1, t.get("sites", 0))
                out.append(
                    f"| {lang} | {setting} | {project} | {t.get('sites', 0):,} | {_pct(t.get('exact'))} | "
                    f"{_pct(t.get('base'))} | {tool} {_pct(b.get('exact'))} | {_pct(b.get('base'))} | "
                    f"{_pct(at.get('exact'))} / {_pct(cov)} (at {default}) |"
                )
    return out


def written_table() -> list[str]:
    """What `typeinf annotate` wrote at the default threshold (benchmarks/annotate_restore.py)."""
    out = []
    for lang in ("python", "typescript"):
        for setting, suffix in (("classic", ""), ("strict", "_strict")):
            data = _load(EVAL / f"annotate_restore_{lang}{suffix}.json")
            if not data or not data.get("all"):
                continue
            if not out:
                out += [
                    "| language | setting | projects | stripped sites | written | exact | precision | restored |",
                    "|---|---|---|---|---|---|---|---|",
                ]
            a = data["all"]
            out.append(
                f"| {lang} | {setting} | {a['projects']} | {a['sites']:,} | {a['written']:,} | {a['exact']:,} | "
                f"{_pct(a['precision'])} | {_pct(a['restored'])} |"
            )
    return out


RESULTS = ROOT / "benchmarks" / "results"
SETTINGS = (("classic", "classic"), ("strict", "strict"), ("half", "half-typed"))


def engine_tables() -> list[str]:
    """Exact by kind and the default threshold's share and precision, per setting and stage."""
    out: list[str] = []
    for lang in ("python", "typescript"):
        rows = []
        for tag, setting in SETTINGS:
            pooled = _load(RESULTS / f"engine_{lang}_{tag}.json").get("pooled", {})
            for config, name in (
                ("checker", "checker alone"),
                ("model", "model"),
                ("no-checker", "+ project"),
                ("typeinf", "typeinf"),
            ):
                r = pooled.get(config)
                if not r:
                    continue
                at = r["all"]["at_default_threshold"]
                rows.append(
                    f"| {setting} | {name} | {r['all']['sites']:,} | **{r['all']['exact']:.3f}** | "
                    + " | ".join(
                        f"{r[k]['exact']:.3f}" if k in r else "–" for k in ("param", "return", "var")
                    )
                    + f" | {at['share']:.3f} | {at['precision']:.3f} |"
                )
        if rows:
            out += [
                f"### {lang}",
                "",
                "| setting | stages | sites | exact | param | return | var | annotate share | precision |",
                "|---|---|---|---|---|---|---|---|---|",
                *rows,
                "",
            ]
    return out


def write_back_tables() -> list[str]:
    out: list[str] = []
    for lang in ("python", "typescript"):
        rows = []
        for tag, setting in SETTINGS:
            pooled = _load(RESULTS / f"write_back_{lang}_{tag}.json").get("pooled", {})
            check = pooled.get("check", {}).get("seconds")
            for config in ("model", "no-checker", "typeinf", "pyrefly-infer"):
                r = pooled.get(config)
                if not r:
                    continue
                for counted, sc in (("protocol", r), ("by site", r.get("by_site"))):
                    if not sc:
                        continue
                    a = sc["all"]
                    kinds = " | ".join(
                        f"{sc[k]['precision']:.2f} / {sc[k]['restored']:.2f}" if k in sc else "–"
                        for k in ("param", "return", "var")
                    )
                    rows.append(
                        f"| {setting} | {config} | {counted} | {a['written_share']:.3f} | {a['precision']:.3f} | "
                        f"**{a['restored']:.3f}** | {kinds} | {r['seconds']:.0f} s | "
                        + (f"{check:.0f} s |" if check is not None else "– |")
                    )
        if rows:
            out += [
                f"### {lang}: what is written",
                "",
                "| setting | tool | counted | written | precision | restored | param (precision / restored) | return | var | time | checker's check |",
                "|---|---|---|---|---|---|---|---|---|---|---|",
                *rows,
                "",
            ]
    return out


def student_note(train: dict[str, Any]) -> list[str]:
    """Under the held-out tables: the distilled student against its teacher on the same sites, as
    measured when it replaced the teacher (before the re-ranker was fitted again on its predictions)."""
    held = _load(EVAL / "experiments" / "distill_student.json").get("held_out", {})
    if not train.get("distilled_from") or not held:
        return []
    lines = [
        "",
        "When the distilled student replaced the teacher (3 layers), both on the same applications, classic",
        "setting, the whole engine with the re-ranker fitted for the teacher",
        f"(`{held.get('command', 'strip_restore_eval.py --configs typeinf')}`); the tables above are the",
        "student's, with the re-ranker fitted again on its predictions:",
        "",
        "| language | sites | teacher exact | student exact | teacher marked (precision) | student marked (precision) |",
        "|---|---|---|---|---|---|",
    ]
    for lang in ("python", "typescript"):
        r = held.get(lang)
        if not r:
            continue
        t, st = r["teacher"], r["student"]
        lines.append(
            f"| {lang} | {r['sites']:,} | {t['exact']:.3f} | {st['exact']:.3f} | "
            f"{t['marked']:,} ({t['precision']:.3f}) | {st['marked']:,} ({st['precision']:.3f}) |"
        )
    return lines


def _stages(train: dict[str, Any]) -> list[str]:
    """The training of one lineage of weights, a line per stage (models.train --init)."""
    if not train:
        return []
    lines = []
    stages = train.get("stages", [])
    total = sum(st.get("elapsed", 0) / 60 for st in stages) + float(train.get("minutes", 0) or 0)
    for i, st in enumerate(stages, 1):
        lines.append(
            f"- stage {i}: {st.get('step', '?')} steps in {st.get('elapsed', 0) / 60:.0f} minutes, "
            f"best validation top-1 {_pct(st.get('best'))}%" + (f" ({st['note']})" if st.get("note") else "")
        )
    lines += [
        f"- {'stage ' + str(len(stages) + 1) + ' (from the previous weights, a new learning-rate schedule): ' if stages else ''}"
        f"{train.get('steps', '?')} steps, batch {train.get('batch_size', '?')}, "
        f"{train.get('minutes', '?')} minutes on 2 CPU cores ({_precision(train)}), "
        f"{train.get('epochs', '?')} epochs; best validation top-1 {_pct(train.get('best'))}%"
        + (f"; shipped weights: {train['note']}." if train.get("note") else ".")
    ]
    if stages:
        lines.append(f"- in all {total:.0f} minutes of training.")
    return lines


def main() -> int:
    cfg = _load(MODEL / "config.json")
    res = _load(EVAL / "results.json")
    stats = _load(ROOT / "models" / "corpus" / "STATS.json")
    train = _load(EVAL / "training.json")
    cal = res.get("calibration", {})
    net = cfg.get("network", {})
    size = sum(p.stat().st_size for p in MODEL.iterdir() if p.is_file() and p.name != "MODEL_CARD.md")
    lines = [
        "# typeinf model card",
        "",
        "A small Transformer trained from scratch on 2 CPU cores, shipped as INT8 ONNX and run with",
        "onnxruntime. Figures below are written by `python -m models.card` from the files the training,",
        "export and evaluation commands wrote; reproduce them with the commands in models/README.md.",
        "",
        "## What it predicts",
        "",
        "For each parameter, return or variable (a usage slice, see `slices/`), a ranked list of types over",
        "(a) a vocabulary of the most frequent types of the training corpus per language (builtins, `typing`,",
        "common library types) and (b) *local candidates*: every type-like name in scope at the site (the file's",
        "imports, classes, aliases, interfaces, enums, type parameters) and the project's own types, each",
        "composed with a few templates (`X`, `X | None`, `list[X]`; `X`, `X[]`, `X | undefined`, `X | null`,",
        "`Promise<X>`). A classifier head scores (a); a ranking head scores (b) from the candidate name's tokens,",
        "the site encoding and 24 features (name match, `isinstance`/`instanceof`, constructor calls, mentions in",
        "the evidence, kind of name, template). One softmax over both: so user-defined types never seen in",
        "training can be predicted. Static facts (literals, defaults, constructors, functions without a return",
        "value) come first, each with the precision its rule reached on the validation split.",
        "",
        "Why this design: the feasibility probe showed a closed 1,000-type classifier reaching 0% on",
        "user-defined types (38% of sites) while 97.7% of them are built from names visible in the file; a",
        "pointer/ranking head over those names covers them at the cost of one small MLP per candidate, which",
        "keeps CPU inference cheap. A constrained decoder would cover more compositions but costs a decoding",
        "loop per site on 2 cores.",
        "",
        "## Network",
        "",
        f"- encoder: {net.get('layers', '?')} layers, {net.get('d', '?')} hidden, {net.get('heads', '?')} heads, "
        f"FFN {net.get('ff', '?')}; input at most {cfg.get('max_tokens', '?')} BPE tokens "
        f"(byte-level BPE, {train.get('tokenizer_vocab', '?')} tokens, trained on the corpus)"
        + (
            f"; trained on inputs of up to {net['max_len'] - 1} tokens, cut at {cfg['max_tokens']} at run time "
            "(`benchmarks/length_budget.py`, `benchmarks/results/length_budget.json`: the same validation "
            "top-1, 16% more sites per second; held-out exact 0.608 -> 0.607 Python, 0.497 both ways TypeScript)"
            if net.get("max_len")
            and cfg.get("max_tokens")
            and cfg["max_tokens"] < (train.get("max_tokens") or net["max_len"] - 1)
            else ""
        ),
        *(
            [
                f"- candidate attention: each candidate (its name's tokens plus features) attends over the site's "
                f"encoded tokens before it is scored ({net.get('heads', '?')} heads), so the ranking head sees where the "
                f"evidence mentions a name (`isinstance(x, Foo)`, `Foo(...)`, `x: Foo` elsewhere), not only whether"
            ]
            if net.get("cand_attn")
            else []
        ),
        f"- type vocabulary: {', '.join(f'{k} {v}' for k, v in train.get('types', {}).items())}",
        f"- parameters: {train.get('parameters', '?')}; files in `typeinf/model/`: {size / 1e6:.1f} MB",
        "",
        "## Data",
        "",
    ]
    for lang, st in sorted(stats.items()):
        sp = st.get("splits", {})
        lines.append(
            f"- {lang}: {st.get('sites', 0):,} declared sites from {st.get('packages', 0)} packages "
            f"(train {sp.get('train', {}).get('sites', 0):,} / valid {sp.get('valid', {}).get('sites', 0):,} / "
            f"test {sp.get('test', {}).get('sites', 0):,}), split by package, files deduplicated across packages, "
            f"at most {st.get('cap_per_package', '?'):,} sites per package (2%)."  # type: ignore[str-format]
            if isinstance(st.get("cap_per_package"), int)
            else f"- {lang}: {st.get('sites', 0):,} sites"
        )
    lines += ["- details: `models/corpus/STATS.md`; manifests `models/corpus/*.toml`.", "", "## Training", ""]
    distilled = train.get("distilled_from")
    if distilled:
        teacher = _load(EVAL / "training_teacher.json")
        lines += [
            "The network is a student distilled from a deeper teacher (`models/distill.py`). The teacher,",
            "the weights shipped before it:",
            "",
            *_stages(teacher),
            "",
            f"The student: the teacher's blocks {distilled.get('keep_layers', '?')} kept (its embeddings and heads "
            f"copied), trained towards the teacher's distribution over types and candidates (share "
            f"{distilled.get('weight', '?')} of the loss, KL at temperature {distilled.get('temperature', '?')}) "
            f"and the labels (the rest), on inputs cut at {train.get('max_tokens', '?')} tokens: "
            f"{train.get('steps', '?')} steps, batch {train.get('batch_size', '?')}, {train.get('minutes', '?')} "
            f"minutes on 2 CPU cores ({_precision(train)}); best validation top-1 {_pct(train.get('best'))}% "
            f"(its sample of 4,000 validation sites).",
        ]
    elif train:
        lines += _stages(train)
    q = res.get("quantization", {})
    if q:
        how = (
            "static, QDQ: per-channel weights, activation scales fixed from validation sites, the two heads in fp32"
            if q.get("method") == "static"
            else "dynamic, per-channel"
        )
        lines += [
            f"- INT8 ({how}) vs fp32 ONNX on the validation sample: first choice agrees "
            f"{_pct(q.get('agree'))}%; exact@1 fp32 {_pct(q.get('fp32_exact'))}% / int8 "
            f"{_pct(q.get('int8_exact'))}%."
        ]
    rq = _load(EVAL / "requantize.json")
    if rq and q.get("method") != "static":  # the shipped file was re-quantized from a dynamic export
        lines += [
            f"- The shipped file was then re-quantized statically (`python -m models.requantize`: the same "
            f"INT8 weights, activation scales fixed from validation packages, heads in fp32) so that a site's "
            f"scores do not depend on the other sites of its batch: on {rq['sites']:,} sites of held-out "
            f"code its first choice is the dequantized fp32 model's for {_pct(rq['static_agree'])}% "
            f"(dynamic: {_pct(rq['dynamic_agree'])}%). The figures below were measured with the dynamic "
            f"file of the same weights."
        ]
    test = res.get("test", {})
    lines += [
        "",
        "## Accuracy on held-out packages",
        "",
        f"Test split: {test.get('sites', 0):,} sites from {test.get('packages', 0)} packages never seen in "
        "training. Exact = equal after `typeinf.types.normalize`; base = outermost type(s) equal. Headline rows",
        "leave out sites labelled `Any`/`object`/`any`/`unknown` (reported apart). Evidence never contains any",
        "annotation of the file. Baselines on the same sites: name lookup (the most frequent type of the same",
        "name and kind in training), most frequent type per kind. pyright and tsc on held-out applications:",
        "next section.",
    ]
    lines += results_tables(res)
    inferred = test.get("model", {}).get("typescript", {}).get("inferred_labels")
    if inferred:
        a = inferred["all"]
        lines += [
            "",
            f"Compiler-inferred labels (TypeScript variables and returns without an annotation, labelled "
            f"with tsc's type; not in the headline): {a.get('n', 0):,} sites, exact@1 {_pct(a.get('exact@1'))}%, "
            f"exact@5 {_pct(a.get('exact@5'))}%, base@1 {_pct(a.get('base@1'))}%; "
            + ", ".join(
                f"{k} {_pct(v.get('exact@1'))}% (n={v.get('n', 0):,})"
                for k, v in inferred.get("by_kind", {}).items()
            )
            + ".",
        ]
    if test:
        lines += [
            "",
            f"Static facts answered {_pct(test.get('static_share'))}% of test sites; "
            f"{_pct(test.get('representable'))}% of test labels are nameable by the vocabulary or a local "
            "candidate (the rest cannot be predicted exactly by construction).",
        ]
    sr = strip_restore_tables()
    if sr:
        lines += [
            "",
            "## Real applications: strip and restore, beside pyright and tsc",
            "",
            "The shared protocol (`../shared/eval`): every annotation of a held-out application removed",
            "(*strict*: also the imports only annotations used), then `typeinf predict` and the checker's",
            "own inference (pyright hover, tsc `getTypeAtLocation`) scored on the same sites. Reproduce:",
            "`python benchmarks/strip_restore_eval.py LANG DIR... --baseline [--drop]`.",
            "",
            *sr,
        ]
    en = engine_tables()
    if en:
        lines += [
            "",
            "## The engine: the project as evidence (held-out applications)",
            "",
            "`typeinf predict` and `typeinf annotate` re-rank the model's top 5 with the project's own",
            "annotations of the same names and the type checker's inferred types (typeinf/inference/engine.py;",
            "the re-ranker fitted on validation packages by `models/rerank.py`). Each stage on the same sites of",
            "held-out applications, in the shared protocol's three settings: *classic* (all annotations",
            "stripped), *strict* (also the imports only annotations used), *half-typed* (`--keep-fraction 0.5`:",
            "the annotations of half the functions kept, the other half to restore). Exact at full coverage by",
            "kind, and what `predict` marks for `annotate` at the default threshold (share of sites, precision).",
            "*model*: the model and its static facts alone; *+ project*: with the project's annotations",
            "and the types its calls state (literal and constructor arguments, the callees' annotated parameters;",
            "`--no-checker`); *typeinf*: with the checker too, which also types the names callers pass (pyrefly / the TypeScript compiler); *checker",
            "alone*: the checker's own inference where it has a concrete type (share = its coverage). Reproduce:",
            "`python benchmarks/strip_restore_eval.py LANG DIR... [--drop | --keep-fraction 0.5] "
            "--configs typeinf,no-checker,model,checker`.",
            "",
            *en,
        ]
    lines += student_note(train)
    wb = write_back_tables()
    if wb:
        lines += [
            "",
            "What a write-back tool wrote into the stripped copies (the shared protocol's `written_score.py`):",
            "`typeinf annotate` (with its stages as above; the checker also judges the edits in memory) beside",
            "`pyrefly infer`, the checker's own write-back; time is wall time summed over the projects, a new",
            "process each (model load, checker start included), beside `pyrefly check` / `tsc --noEmit` of the",
            "same tree (the npm packages' sources come without a tsconfig.json, so tsc's time there is not",
            "a check of the project). *counted*: as the protocol counts (a write counts for every stripped",
            "site of its file, kind, qualified name and name) and *by site*, each write once, at the site it",
            "was written (`benchmarks/site_score.py`: overloads and their implementation, a property's getter",
            "and setter share a key, and one write there counted once per site of the key). Reproduce:",
            "`python benchmarks/write_back.py LANG DIR... [--drop | --keep-fraction 0.5]`.",
            "",
            *wb,
        ]
    wr = written_table()
    if wr:
        lines += [
            "",
            "What `typeinf annotate` itself wrote into the stripped copies at the default threshold, read",
            "back by stripping the annotated copy again and scored by the same protocol (precision: exact",
            "among the written; restored: exact written / stripped sites). Reproduce:",
            "`python benchmarks/annotate_restore.py LANG DIR... [--drop]`.",
            "",
            *wr,
        ]
    lines += [
        "",
        "## Confidence",
        "",
        f"Temperature {cal.get('temperature', '?')} (least NLL on validation). Default threshold for writing",
        f"code: **{cal.get('default_threshold', '?')}**, the lowest at which validation precision is >= 95%"
        + (
            ", or per language (what `typeinf annotate` and the language server use): "
            + ", ".join(f"{k} **{v}**" for k, v in cal["threshold_by_language"].items())
            + "."
            if cal.get("threshold_by_language")
            else "."
        ),
        "",
        "| threshold | valid coverage | valid precision | test coverage | test precision |",
        "|---|---|---|---|---|",
    ]
    for v, t in zip(
        cal.get("valid_precision_coverage", []), test.get("precision_coverage", []), strict=False
    ):
        lines.append(
            f"| {v['threshold']} | {_pct(v['coverage'])} | {_pct(v['precision'])} | "
            f"{_pct(t['coverage'])} | {_pct(t['precision'])} |"
        )
    rules = cal.get("static_rules", {})
    if rules:
        lines += [
            "",
            "Static-fact rules, precision on validation (count): "
            + ", ".join(
                f"`{k}` {_pct(v)}% ({cal.get('static_rule_counts', {}).get(k, '?')})"
                for k, v in sorted(rules.items())
            ),
        ]
    lines += [
        "",
        "## Limits",
        "",
        "- Types the vocabulary does not hold and no local candidate spells (deep generics, callables,",
        "  object/function types, literal types) cannot be predicted exactly.",
        "- Trained on library code from the registries; application code differs (see the strip-and-restore",
        "  table above): TypeScript applications get far fewer predictions above the threshold.",
        "- Class members rule candidates out only when the class is defined in the project or is a builtin;",
        "  third-party classes are not resolved (no installed-package index).",
        "- Inferred TypeScript labels (the compiler's types of unannotated sites) are reported apart and",
        "  were not used in training.",
        "",
    ]
    (MODEL / "MODEL_CARD.md").write_text("\n".join(lines))
    print(f"wrote {MODEL / 'MODEL_CARD.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
