"""Inferred TypeScript labels (models/corpus/infer.py) with the real TypeScript compiler."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
from conftest import need_tool

from models.corpus.build import _Stats
from models.corpus.infer import infer_package, typescript_dir, usable

SOURCE = """\
import { Remote } from "some-missing-package";
import { helper } from "./util";

export interface Options { depth: number }

export class Tree {
  constructor(public readonly opts: Options) {}
  size() { return this.opts.depth * 2; }
  async load(): Promise<void> {}
}

export function build(n: number) {
  const tree = new Tree({ depth: n });
  const names = ["a", "b"];
  const flag = n > 1;
  const remote = new Remote();
  const annotated: string = helper(n);
  return tree;
}

export const double = (x: number) => x * 2;
"""
UTIL = "export function helper(n: number) { return String(n); }\n"


def _tarball(tmp: Path, files: dict[str, str]) -> Path:
    path = tmp / "pkg-1.0.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> tuple[dict, list[dict]]:
    ts = typescript_dir(install=False)
    need_tool(ts, "the TypeScript compiler (npm install typescript; TYPEINF_TYPESCRIPT)")
    tmp = tmp_path_factory.mktemp("infer")
    archive = _tarball(tmp, {"src/index.ts": SOURCE, "src/util.ts": UTIL, "package.json": "{}"})
    out = tmp / "pkg.inferred.jsonl.gz"
    summary = infer_package(str(archive), str(out), "pkg", "train", str(ts))
    with gzip.open(out, "rt") as fh:
        recs = [r for line in fh for r in json.loads(line)["sites"]]
    assert json.loads(Path(str(out) + ".json").read_text()) == summary
    return summary, recs


def test_compiler_types_become_inferred_labels(records):
    summary, recs = records
    assert summary["error"] is None
    by = {(r["kind"], r["name"]): r for r in recs}
    assert by[("var", "tree")]["label"] == "Tree"
    assert by[("var", "names")]["label"] == "string[]"
    assert by[("var", "flag")]["label"] == "boolean"  # literal types widened, as a person writes them
    assert by[("return", "build")]["label"] == "Tree"
    assert by[("return", "size")]["label"] == "number"
    assert by[("return", "double")]["label"] == "number"
    assert by[("return", "helper")]["label"] == "string"  # across files of the package
    for r in recs:
        assert r["inferred"] is True and r["annotation"] is None
        assert r["package"] == "pkg" and r["split"] == "train" and len(r["file_hash"]) == 64
    assert by[("var", "tree")]["category"] == "user-defined"


def test_unresolvable_and_annotated_sites_get_no_label(records):
    _, recs = records
    names = {(r["kind"], r["name"]) for r in recs}
    assert ("var", "remote") not in names  # a class from a package that is not there: `any`
    assert ("var", "annotated") not in names  # declared labels are the build's, not inferred
    assert ("return", "load") not in names


def test_usable_filters_uninformative_types():
    assert usable("Map<string, Tree>")
    for bad in ("any", "any[]", "Promise<any>", "unknown", 'import("./x").Foo', "x" * 200, "{}"):
        assert not usable(bad), bad


def test_stats_count_inferred_sites_apart():
    st = _Stats("npm")
    declared = [
        {"kind": "param", "label": "string", "category": "builtin", "generic": False, "visible": True}
    ]
    st.add_package("train", 1, declared, {"dts_sites": 0})
    st.add_inferred("train", [{"kind": "var"}, {"kind": "var"}, {"kind": "return"}])
    out = st.finish()
    assert out["sites"] == 1 and out["inferred_sites"] == 3
    assert out["inferred_by_kind"] == {"return": 1, "var": 2}
    assert out["splits"]["train"]["inferred_sites"] == 3
