"""The precision of static-fact rules on a split's declared sites, read from the corpus shards.

    python -m models.rules [--split valid] [--rules type-alias,final] [--write typeinf/model]

`models.evaluate` measures every rule on the validation split while it calibrates the model (it
scores the whole split with the model too).  A rule added between two calibrations is measured
here the same way (a declared site counts when the rule fires; right when the fact's type is the
author's label; a rule seen fewer than 20 times gets the prior) without scoring anything, and
`--write DIR` adds the named rules' precisions to DIR/static_rules.json, leaving the others as
the last calibration measured them.  Rules are keyed as at run time (`rule_key`: language, kind,
rule, and the type for literals).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from models.dataset import cache_dir, shard_files
from typeinf.inference.bundle import RULE_PRIOR, RULES_FILE
from typeinf.inference.static import rule_key, static_fact
from typeinf.slices.data import slice_from_dict


def measure(shards: Path, split: str, rules: set[str] | None = None) -> dict[str, tuple[int, int]]:
    """(right, fired) per rule key over the split's declared sites (`rules`: only these rules)."""
    right: Counter[str] = Counter()
    fired: Counter[str] = Counter()
    for path in shard_files(shards, split):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if r.get("inferred"):
                    continue
                s = slice_from_dict(r)
                fact = static_fact(s)
                if fact is None or (rules is not None and fact.rule not in rules):
                    continue
                k = rule_key(s.language, s.kind, fact)
                fired[k] += 1
                right[k] += fact.type == r["label"]
    return {k: (right[k], n) for k, n in fired.items()}


def precision(right: int, n: int) -> float:
    """A rule's precision as calibration stores it: a rule seen fewer than 20 times keeps a cautious
    prior instead of a noisy estimate (models.evaluate measures every rule with this too)."""
    return round(right / n, 4) if n >= 20 else RULE_PRIOR


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", type=Path, default=cache_dir() / "corpus-build" / "shards")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--rules", help="comma-separated rule names (default: all)")
    ap.add_argument("--write", type=Path, help="a model directory whose static_rules.json gets these rules")
    args = ap.parse_args(argv)
    rules = set(args.rules.split(",")) if args.rules else None
    got = measure(args.shards, args.split, rules)
    report = {
        k: {"right": ok, "sites": n, "precision": precision(ok, n)} for k, (ok, n) in sorted(got.items())
    }
    print(json.dumps(report, indent=1))
    if args.write is not None:
        if rules is None:
            sys.exit("--write needs --rules: the other rules are the calibration's (models.evaluate)")
        path = args.write / RULES_FILE
        table = json.loads(path.read_text())
        table.update({k: v["precision"] for k, v in report.items()})
        path.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")


if __name__ == "__main__":
    main()
