"""The pinned corpus manifests (models/corpus/*.toml) and the archive reader."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from models.corpus.archive import excluded_reason, iter_sources
from models.corpus.count import count_python, count_typescript
from models.corpus.fetch import FetchRequest, find_cached
from models.corpus.manifest import (
    Package,
    format_manifest,
    parse_candidate_line,
    read_manifest,
    write_manifest,
)
from models.corpus.split import normalize_name, split_bucket, split_of

MIN_PACKAGES = {"python": 400, "npm": 200}


# --------------------------------------------------------------------------- manifests


@pytest.fixture(scope="module", params=["python", "npm"])
def manifest(request: pytest.FixtureRequest) -> tuple[str, list[Package]]:
    eco = request.param
    return eco, read_manifest(eco)


def test_manifest_entries_complete(manifest: tuple[str, list[Package]]) -> None:
    eco, packages = manifest
    for p in packages:
        assert p.name and p.name == p.name.strip(), p
        assert p.version and p.version[0].isdigit(), p
        assert not any(c in p.version for c in "<>=~^* "), f"{p.name}: not an exact pin: {p.version}"
        assert p.split in ("train", "valid", "test"), p


def test_manifest_names_unique(manifest: tuple[str, list[Package]]) -> None:
    eco, packages = manifest
    keys = [normalize_name(p.name, eco) for p in packages]
    assert len(keys) == len(set(keys))


def test_manifest_split_is_hash_of_name(manifest: tuple[str, list[Package]]) -> None:
    eco, packages = manifest
    wrong = [p.name for p in packages if p.split != split_of(p.name, eco)]
    assert not wrong


def test_manifest_split_proportions(manifest: tuple[str, list[Package]]) -> None:
    eco, packages = manifest
    n = len(packages)
    for split in ("valid", "test"):
        share = sum(1 for p in packages if p.split == split) / n
        assert 0.05 <= share <= 0.15, (eco, split, share)
    assert sum(1 for p in packages if p.split == "train") / n >= 0.7


def test_manifest_size(manifest: tuple[str, list[Package]]) -> None:
    eco, packages = manifest
    assert len(packages) >= MIN_PACKAGES[eco]


def test_manifest_has_no_stub_packages() -> None:
    assert not [p.name for p in read_manifest("python") if p.name.startswith("types-")]
    assert not [p.name for p in read_manifest("npm") if p.name.startswith("@types/")]


# --------------------------------------------------------------------------- split / manifest io


def test_split_definition() -> None:
    for name, eco in [("Pydantic", "python"), ("typing_extensions", "python"), ("@Angular/core", "npm")]:
        norm = normalize_name(name, eco)
        bucket = int.from_bytes(hashlib.sha256(norm.encode()).digest()[:8], "big") % 100
        assert split_bucket(name, eco) == bucket
        expected = "train" if bucket < 80 else "valid" if bucket < 90 else "test"
        assert split_of(name, eco) == expected


def test_normalize_name() -> None:
    assert normalize_name("Typing_Extensions") == "typing-extensions"
    assert normalize_name("zope.interface") == "zope-interface"
    assert split_of("Typing_Extensions") == split_of("typing-extensions")
    assert normalize_name("@Scope/Pkg.js", "npm") == "@scope/pkg.js"


def test_split_distribution_over_many_names() -> None:
    names = [f"pkg{i}" for i in range(5000)]
    shares = {s: sum(split_of(n) == s for n in names) / len(names) for s in ("train", "valid", "test")}
    assert abs(shares["train"] - 0.8) < 0.03
    assert abs(shares["valid"] - 0.1) < 0.02
    assert abs(shares["test"] - 0.1) < 0.02


def test_manifest_roundtrip(tmp_path: Path) -> None:
    pkgs = [Package("b-pkg", "1.0", "test", "python"), Package('we"ird', "2.0.post1", "train", "python")]
    path = write_manifest("python", pkgs, path=tmp_path / "m.toml", header="hello\nworld")
    back = read_manifest("python", path)
    assert [(p.name, p.version) for p in back] == [("b-pkg", "1.0"), ('we"ird', "2.0.post1")]
    assert all(p.split == split_of(p.name) for p in back)  # recomputed on write
    text = format_manifest("npm", [Package("@a/b", "1.2.3", split_of("@a/b", "npm"), "npm")])
    assert '[[package]]\nname = "@a/b"\nversion = "1.2.3"' in text


def test_parse_candidate_line() -> None:
    assert parse_candidate_line("httpx==0.28.1  # comment", "python") == ("httpx", "0.28.1")
    assert parse_candidate_line("certifi", "python") == ("certifi", "")
    assert parse_candidate_line("# only a comment", "python") is None
    assert parse_candidate_line("@scope/pkg@1.2.3", "npm") == ("@scope/pkg", "1.2.3")
    assert parse_candidate_line("@scope/pkg", "npm") == ("@scope/pkg", "")
    assert parse_candidate_line("zod@4.0.0", "npm") == ("zod", "4.0.0")


def test_find_cached(tmp_path: Path) -> None:
    vdir = tmp_path / "npm" / "@a__b" / "1.2.4"
    vdir.mkdir(parents=True)
    (vdir / "a-b-1.2.4.tgz").write_bytes(b"x")
    meta = {"file": "a-b-1.2.4.tgz", "version": "1.2.4", "requested": "1.2.3"}
    (vdir / "meta.json").write_text(json.dumps(meta))
    assert find_cached(tmp_path, FetchRequest("npm", "@a/b", "1.2.4")) is not None
    assert find_cached(tmp_path, FetchRequest("npm", "@a/b", "1.2.3")) is None
    assert find_cached(tmp_path, FetchRequest("npm", "@a/b", "1.2.3", allow_fallback=True)) is not None


# --------------------------------------------------------------------------- archive.py


PY_OK = b"def f(x: int) -> str:\n    return str(x)\n"


def _make_wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _make_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _paths(archive: Path, lang: str, **kw: bool) -> dict[str, bytes]:
    return {sf.path: sf.data for sf in iter_sources(archive, lang, **kw)}


def test_wheel_sources_and_exclusions(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": b"",
        "pkg/core.py": PY_OK,
        "pkg/sub/mod.py": PY_OK + b"# sub\n",
        "pkg/tests/test_core.py": PY_OK + b"# 1\n",
        "pkg/test/helpers.py": PY_OK + b"# 2\n",
        "pkg/test_things.py": PY_OK + b"# 3\n",
        "pkg/things_test.py": PY_OK + b"# 4\n",
        "pkg/conftest.py": PY_OK + b"# 5\n",
        "pkg/_vendor/six.py": PY_OK + b"# 6\n",
        "pkg/third_party/lib.py": PY_OK + b"# 7\n",
        "pkg/msg_pb2.py": PY_OK + b"# 8\n",
        "pkg/gen.py": b"# @generated by a tool\n" + PY_OK,
        "pkg/gen2.py": b'"""Auto-generated file."""\n' + PY_OK,
        "pkg/gen3.py": b"# Code generated. DO NOT EDIT.\n" + PY_OK,
        "pkg/late_marker.py": PY_OK + b"#" * 700 + b"\n# DO NOT EDIT\n",
        "pkg/stub.pyi": b"def f(x: int) -> str: ...\n",
        "pkg/data.json": b"{}",
        "pkg-1.0.dist-info/METADATA": b"Name: pkg\n",
    }
    wheel = _make_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", files)
    got = _paths(wheel, "python")
    assert set(got) == {"pkg/__init__.py", "pkg/core.py", "pkg/sub/mod.py", "pkg/late_marker.py"}
    assert got["pkg/core.py"] == PY_OK


def test_sdist_root_directory_is_stripped(tmp_path: Path) -> None:
    sdist = _make_tar(
        tmp_path / "pkg-1.0.tar.gz",
        {
            "pkg-1.0/src/pkg/core.py": PY_OK,
            "pkg-1.0/tests/test_core.py": PY_OK + b"#t\n",
            "pkg-1.0/setup.py": b"from setuptools import setup\nsetup()\n",
            "pkg-1.0/src/pkg/dup.py": PY_OK,  # identical content: yielded once
        },
    )
    got = _paths(sdist, "python")
    assert set(got) == {"src/pkg/core.py", "setup.py"}


def test_npm_tarball_sources_maps_and_dts(tmp_path: Path) -> None:
    index_ts = "export function add(a: number, b: number): number { return a + b; }\n"
    extra_ts = "export const x: string = 'x';\n"
    other_ts = "export let y: number = 1;\n"
    sourcemap = {
        "version": 3,
        "file": "index.js",
        "sources": [
            "../src/index.ts",  # also shipped as a real file: not repeated
            "../src/extra.ts",  # recovered from the map
            "../node_modules/dep/lib.ts",  # vendored: excluded
            "../src/util.js",  # not TypeScript
            "../src/extra.spec.ts",  # test: excluded
            "webpack://pkg/./src/other.ts",
        ],
        "sourcesContent": [
            index_ts,
            extra_ts,
            "export const z: number = 1;\n",
            "var a;",
            "test();",
            other_ts,
        ],
        "mappings": "",
    }
    tgz = _make_tar(
        tmp_path / "pkg-1.0.0.tgz",
        {
            "package/package.json": b'{"name": "pkg"}',
            "package/src/index.ts": index_ts.encode(),
            "package/src/view.tsx": b"export const V = (p: Props): JSX.Element => <div/>;\n",
            "package/src/index.spec.ts": b"it('works', () => {});\n",
            "package/src/thing.test.tsx": b"it('works', () => {});\n",
            "package/src/__tests__/a.ts": b"export const a: number = 1;\n",
            "package/src/gen.ts": b"// This file is auto-generated. Do not edit.\nexport const g: number = 1;\n",
            "package/src/mod.mts": b"export const m: number = 1;\n",
            "package/dist/index.js": b"exports.add = function (a, b) { return a + b; };\n",
            "package/dist/index.d.ts": b"export declare function add(a: number, b: number): number;\n",
            "package/dist/index.js.map": json.dumps(sourcemap).encode(),
            "package/node_modules/dep/x.ts": b"export const d: number = 1;\n",
        },
    )
    got = {sf.path: sf for sf in iter_sources(tgz, "ts")}
    assert set(got) == {"src/index.ts", "src/view.tsx", "src/mod.mts", "src/extra.ts", "src/other.ts"}
    assert got["src/extra.ts"].from_map and got["src/extra.ts"].data == extra_ts.encode()
    assert not got["src/index.ts"].from_map
    assert got["src/view.tsx"].is_tsx
    assert not any(sf.dts for sf in got.values())

    with_dts = {sf.path: sf for sf in iter_sources(tgz, "npm", include_dts=True)}
    assert with_dts["dist/index.d.ts"].dts
    assert set(with_dts) - set(got) == {"dist/index.d.ts"}

    no_maps = _paths(tgz, "ts", source_maps=False)
    assert set(no_maps) == {"src/index.ts", "src/view.tsx", "src/mod.mts"}


def test_indexed_and_broken_source_maps(tmp_path: Path) -> None:
    indexed = {
        "version": 3,
        "sections": [
            {
                "offset": {"line": 0, "column": 0},
                "map": {"version": 3, "sources": ["a.ts"], "sourcesContent": ["let a: number = 1;\n"]},
            }
        ],
    }
    tgz = _make_tar(
        tmp_path / "p-1.0.0.tgz",
        {
            "package/lib/bundle.js.map": json.dumps(indexed).encode(),
            "package/lib/broken.js.map": b'{"sourcesContent": [',
            "package/lib/nocontent.js.map": json.dumps({"version": 3, "sources": ["b.ts"]}).encode(),
        },
    )
    assert set(_paths(tgz, "ts")) == {"lib/a.ts"}


def test_max_bytes(tmp_path: Path) -> None:
    wheel = _make_wheel(tmp_path / "w-1-py3-none-any.whl", {"w/big.py": b"x = 1\n" * 100, "w/s.py": PY_OK})
    assert set(_paths(wheel, "python")) == {"w/big.py", "w/s.py"}
    small = {sf.path for sf in iter_sources(wheel, "python", max_bytes=200)}
    assert small == {"w/s.py"}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("pkg/mod.py", None),
        ("pkg/tests/x.py", "test"),
        ("src/__tests__/x.ts", "test"),
        ("src/__mocks__/x.ts", "test"),
        ("src/a.spec.ts", "test"),
        ("src/a.test.tsx", "test"),
        ("src/a.testing.ts", None),
        ("pkg/latest.py", None),
        ("pkg/contest.py", None),
        ("pkg/vendor/x.py", "vendored"),
        ("pkg/vendored/x.py", "vendored"),
        ("node_modules/a/b.ts", "vendored"),
        ("pkg/api_pb2_grpc.py", "generated"),
    ],
)
def test_excluded_reason(path: str, reason: str | None) -> None:
    assert excluded_reason(path) == reason


def test_generated_marker_only_in_head() -> None:
    assert excluded_reason("a.py", b"# DO NOT EDIT\n") == "generated"
    assert excluded_reason("a.py", b"x" * 600 + b"DO NOT EDIT") is None


# --------------------------------------------------------------------------- counters


def test_count_python() -> None:
    src = b"def f(self, a: int, b, *c: str) -> None:\n    x: int = 1\n    y: str\n"
    c = count_python(src)
    assert (c.params, c.returns, c.variables, c.decls, c.sites) == (2, 1, 1, 1, 4)
    assert count_python(b"print 'py2'\n").unparsed == 1


def test_count_typescript() -> None:
    src = (
        b"class A { m(x: number): string { let y: number = 1; return ''; } f: number = 2; }\n"
        b"const g = (a: T): U => a;\n"
        b"function h(b?: B, c): void {}\n"
        b"declare function k(z: Z): Q;\n"
        b"interface I { n(q: Q): R; }\n"
        b"type F = (x: X) => Y;\n"
    )
    c = count_typescript(src)
    assert (c.params, c.returns, c.variables, c.fields, c.signatures) == (3, 3, 1, 1, 4)
    assert c.sites == 7
    tsx = count_typescript(b"function V(p: P): JSX.Element { return <div a={1} />; }\n", tsx=True)
    assert (tsx.params, tsx.returns, tsx.unparsed) == (1, 1, 0)
