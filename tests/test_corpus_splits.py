"""Over the real corpus (the committed manifests and file index written by the build): no
package and no file is in two splits, and the corpus meets its size targets."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest
from conftest import ROOT

from models.corpus.manifest import read_manifest
from models.corpus.split import normalize_name, split_of

CORPUS = ROOT / "models" / "corpus"


@pytest.mark.parametrize("eco", ["python", "npm"])
def test_no_package_or_file_in_two_splits(eco):
    manifest = {normalize_name(p.name, eco): p.split for p in read_manifest(eco)}
    assert all(split_of(name, eco) == split for name, split in manifest.items())
    with open(CORPUS / f"files-{eco}.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) > 30_000
    splits_of_hash: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        assert r["package"] in manifest, r
        assert r["split"] == manifest[r["package"]], r
        splits_of_hash[r["hash"]].add(r["split"])
    assert len(splits_of_hash) == len(rows), "a file hash is listed twice"
    assert all(len(s) == 1 for s in splits_of_hash.values())
    assert {r["split"] for r in rows} == {"train", "valid", "test"}


def test_corpus_targets_and_digests():
    stats = json.loads((CORPUS / "STATS.json").read_text())
    assert stats["python"]["sites"] >= 800_000
    assert stats["typescript"]["sites"] >= 200_000
    digests = json.loads((CORPUS / "DIGESTS.json").read_text())
    for lang in ("python", "typescript"):
        names = digests[lang]
        declared = [n for n in names if not n.startswith("inferred/")]
        assert {n.split("-")[0] for n in declared} == {"train", "valid", "test"}
        inferred = [n.removeprefix("inferred/") for n in names if n.startswith("inferred/")]
        if lang == "typescript":  # the compiler's labels: shards of their own, per split
            assert {n.split("-")[0] for n in inferred} == {"train", "valid", "test"}
            assert stats[lang]["inferred_sites"] > 0
        else:
            assert not inferred
        assert all(len(h) == 64 for h in names.values())
        for split, st in stats[lang]["splits"].items():
            assert st["sites"] > 0, (lang, split)
