"""Where the model's test errors are: `python -m models.errors SITES.jsonl.gz`.

Reads the per-site file `python -m models.evaluate --sites` writes and splits each language's
headline sites (declared labels other than Any/object/any/unknown) into disjoint buckets:

    right            exact at the first choice
    ranked 2-5       the label is in the top 5, not first
    ranked out       the label could be named (vocabulary or a local candidate), not in the top 5
    not nameable     neither the vocabulary nor a local candidate names it (a miss by construction)

each split again by generic / plain label and by whether the first choice has the label's base type;
then per package (the test split is dominated by a few large ones) and the most frequent confusions.
Pure over the file: the figures a model change should move, measured on the same sites.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from models.evaluate import UNINFORMATIVE
from typeinf.types import base_type

BUCKETS = ("right", "ranked 2-5", "ranked out", "not nameable")


def read_sites(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def bucket(site: dict[str, Any]) -> str:
    top, label = site["top"], site["label"]
    if top and top[0] == label:
        return "right"
    if label in top[:5]:
        return "ranked 2-5"
    return "ranked out" if site["representable"] else "not nameable"


def headline(sites: Iterable[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    return [
        s
        for s in sites
        if s["language"] == language and not s.get("inferred") and s["label"] not in UNINFORMATIVE
    ]


def breakdown(
    sites: list[dict[str, Any]], language: str, packages: int = 10, confusions: int = 20
) -> dict[str, Any]:
    rows = headline(sites, language)
    n = len(rows)
    if not n:
        return {"n": 0}
    buckets: Counter[str] = Counter()
    detail: Counter[tuple[str, str, str]] = Counter()
    pkg_n: Counter[str] = Counter()
    pkg_ok: Counter[str] = Counter()
    conf: Counter[tuple[str, str]] = Counter()
    by_cat: Counter[tuple[str, str]] = Counter()
    for s in rows:
        b = bucket(s)
        buckets[b] += 1
        by_cat[(s["category"], b)] += 1
        first = s["top"][0] if s["top"] else ""
        base_ok = bool(first) and base_type(first, language) == base_type(s["label"], language)
        detail[(b, "generic" if s["generic"] else "plain", "base right" if base_ok else "base wrong")] += 1
        pkg_n[s["package"]] += 1
        pkg_ok[s["package"]] += b == "right"
        if b != "right":
            conf[(first, s["label"])] += 1

    def share(k: int) -> float:
        return round(100 * k / n, 2)

    return {
        "n": n,
        "buckets": {b: {"n": buckets[b], "share": share(buckets[b])} for b in BUCKETS},
        "detail": [
            {"bucket": b, "label": g, "first choice": r, "n": k, "share": share(k)}
            for (b, g, r), k in sorted(detail.items(), key=lambda x: -x[1])
        ],
        "by_category": {
            c: {b: by_cat[(c, b)] for b in BUCKETS} for c in ("builtin", "third-party", "user-defined")
        },
        "packages": len(pkg_n),
        "macro_exact@1": round(100 * sum(pkg_ok[p] / pkg_n[p] for p in pkg_n) / len(pkg_n), 2),
        "largest_packages": [
            {"package": p, "n": k, "share": share(k), "exact@1": round(100 * pkg_ok[p] / k, 1)}
            for p, k in pkg_n.most_common(packages)
        ],
        "confusions": [{"predicted": a, "label": b, "n": k} for (a, b), k in conf.most_common(confusions)],
    }


def render(res: dict[str, Any]) -> str:
    out = []
    for lang, r in res.items():
        if not r.get("n"):
            continue
        out.append(
            f"## {lang}: {r['n']:,} headline sites, {r['packages']} packages "
            f"(macro exact@1 {r['macro_exact@1']})\n"
        )
        out.append("| bucket | sites | share |\n|---|---|---|")
        out.extend(f"| {b} | {v['n']:,} | {v['share']} |" for b, v in r["buckets"].items())
        out.append("\n| category | " + " | ".join(BUCKETS) + " |\n|---|" + "---|" * len(BUCKETS))
        for c, counts in r["by_category"].items():
            tot = max(1, sum(counts.values()))
            out.append(
                f"| {c} ({tot:,}) | " + " | ".join(f"{100 * counts[b] / tot:.1f}" for b in BUCKETS) + " |"
            )
        out.append("\n| bucket | label | first choice | sites | share |\n|---|---|---|---|---|")
        out.extend(
            f"| {d['bucket']} | {d['label']} | {d['first choice']} | {d['n']:,} | {d['share']} |"
            for d in r["detail"]
        )
        out.append("\n| package | sites | share | exact@1 |\n|---|---|---|---|")
        out.extend(
            f"| {p['package']} | {p['n']:,} | {p['share']} | {p['exact@1']} |" for p in r["largest_packages"]
        )
        out.append("\n| predicted | label | sites |\n|---|---|---|")
        out.extend(f"| `{c['predicted']}` | `{c['label']}` | {c['n']} |" for c in r["confusions"])
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("sites", type=Path, help="written by `python -m models.evaluate --sites`")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    try:
        sites = read_sites(args.sites)
    except (OSError, ValueError) as e:
        print(f"error: cannot read {args.sites}: {e}", file=sys.stderr)
        return 2
    res = {lang: breakdown(sites, lang) for lang in ("python", "typescript")}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    print(render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
