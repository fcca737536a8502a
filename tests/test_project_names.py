"""The project's evidence (typeinf.inference.names, .rerank, .engine): which annotated sites the
index counts, how the re-ranker joins the votes and the checker's type to the model's top 5, and the
end-to-end effect on a half-typed project through the CLI with the shipped model and a real checker."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, checked_engine, python_project, python_sites

from typeinf.inference.bundle import RERANK_FILE, BundleError, ModelBundle
from typeinf.inference.confidence import Calibrator
from typeinf.inference.finalize import Prediction
from typeinf.inference.names import NameTable, Votes, annotated_names
from typeinf.inference.project import ProjectIndex
from typeinf.inference.rerank import FEATURES, Evidence, Reranker, key
from typeinf.slices import extract
from typeinf.slices.source import parse
from typeinf.types import normalize

MODEL = ROOT / "typeinf" / "model"


def test_the_index_counts_exactly_the_annotated_sites_the_slicer_reports() -> None:
    """On this package's own (fully annotated) Python sources, the tree-sitter queries find the same
    (kind, name, annotation) as the slicer's annotated slices, without slicing."""
    query: Counter[tuple[str, str, str]] = Counter()
    sliced: Counter[tuple[str, str, str]] = Counter()
    for f in sorted((ROOT / "typeinf").rglob("*.py")):
        data = f.read_bytes()
        query.update(
            (k, n, normalize(t)) for k, n, t in annotated_names(parse(data, "python").root_node, "python")
        )
        sliced.update(
            (s.kind, s.name, normalize(s.annotation)) for s in extract(data, "python", f.name) if s.annotation
        )
    assert sum(sliced.values()) > 1000
    assert query == sliced


def test_typescript_annotations_of_parameters_returns_variables_and_fields() -> None:
    src = b"""
export function load(path: string, n?: number): Promise<Buffer> { const size: number = 1; return read(path) }
class Store { cache: Map<string, Item> = new Map(); get(key: string): Item | undefined { return undefined } }
const parse = (text: string): Item => JSON.parse(text);
let plain = 3;
"""
    got = annotated_names(parse(src, "typescript").root_node, "typescript")
    assert sorted(got) == sorted(
        [
            ("param", "path", "string"),
            ("param", "n", "number"),
            ("return", "load", "Promise<Buffer>"),
            ("var", "size", "number"),
            ("var", "cache", "Map<string, Item>"),
            ("param", "key", "string"),
            ("return", "get", "Item | undefined"),
            ("param", "text", "string"),
            ("return", "parse", "Item"),
        ]
    )


def test_self_attributes_and_starred_parameters_but_not_self_itself() -> None:
    src = b"""
class A:
    def __init__(self, *items: int, **kw: str) -> None:
        self.items: list[int] = list(items)
        other.x: int = 1
"""
    got = annotated_names(parse(src, "python").root_node, "python")
    assert sorted(got) == [
        ("param", "items", "int"),
        ("param", "kw", "str"),
        ("return", "__init__", "None"),
        ("var", "self.items", "list[int]"),
    ]


def test_the_table_counts_normalised_types_most_frequent_first() -> None:
    t = NameTable.build(
        [[("param", "req", "Request"), ("param", "req", "Request"), ("param", "req", "Optional[Request]")]],
        "python",
    )
    v = t.votes("param", "req")
    assert v == Votes((("Request", 2), ("Request | None", 1)), 3)
    assert v.top == "Request" and v.share == pytest.approx(2 / 3)
    assert t.votes("var", "req") is None and t.votes("param", "other") is None


def test_a_parameter_hears_the_attribute_of_its_name_and_the_other_way_round() -> None:
    """`def __init__(self, session): self.session = session` beside a class field `session:
    ClientSession` (class fields keep their annotations even in unannotated code)."""
    t = NameTable.build(
        [
            [
                ("var", "session", "ClientSession"),
                ("var", "self.session", "ClientSession"),
                ("param", "url", "str"),
            ]
        ],
        "python",
    )
    assert t.votes("param", "session") is None
    assert t.other_votes("param", "session") == Votes((("ClientSession", 2),), 2)
    assert t.other_votes("var", "self.url") == Votes((("str", 1),), 1)
    assert t.other_votes("var", "self.session") == Votes((("ClientSession", 1),), 1)  # not itself
    assert t.other_votes("return", "session") is None


def test_an_edit_changes_the_projects_votes(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a.py").write_text("def f(req: Request) -> None: ...\n")
    index = ProjectIndex.build(tmp_path)
    assert index.names_for("python").votes("param", "req") == Votes((("Request", 1),), 1)
    index.add(tmp_path / "a.py", "python", data=b"def f(req: Response) -> None: ...\n")
    assert index.names_for("python").votes("param", "req") == Votes((("Response", 1),), 1)


def test_an_editors_versions_of_a_file_do_not_pile_up_in_the_scan_cache(tmp_path: Path) -> None:
    """The index keeps the scan of the version an edit was made from until the edit is scanned,
    then drops it: a long editing session does not keep a scan of every version typed."""
    import hashlib

    from typeinf.inference.project import _SCAN_CACHE

    (tmp_path / "pyproject.toml").write_text("")
    path = tmp_path / "a.py"
    texts = [b"def f(req: Request) -> None:\n    return None\n"]
    path.write_bytes(texts[0])
    index = ProjectIndex.build(tmp_path)
    index.add(path, "python", data=texts[0])
    for i in range(1, 6):
        texts.append(texts[-1].replace(b"return None", b"x%d = %d\n    return None" % (i, i)))
        index.add(path, "python", data=texts[-1], previous=texts[-2])
    kept = [_SCAN_CACHE.get((hashlib.sha1(t).hexdigest(), "python")) is not None for t in texts]
    assert kept == [False] * 5 + [True]
    assert index.names_for("python").votes("param", "req") == Votes((("Request", 1),), 1)


def test_a_replaced_table_is_the_built_one_and_keeps_the_votes_of_the_names_it_did_not_change() -> None:
    """`replaced` gives what `build` gives; the votes of the names the edit left alone are the same
    objects (the engine keeps its filtered evidence by their identity), the edited name's are new."""
    other = [("param", "req", "Request"), ("var", "self.session", "Session"), ("param", "n", "int")]
    before = [("param", "req", "Request"), ("param", "session", "Session"), ("param", "n", "int")]
    after = [("param", "req", "Request"), ("param", "session", "Session"), ("param", "n", "float")]
    t = NameTable.build([other, before], "python")
    votes = {
        k: (t.votes(*k), t.other_votes(*k)) for k in [("param", "req"), ("param", "session"), ("param", "n")]
    }
    new = t.replaced(before, after, "python")
    assert new == NameTable.build([other, after], "python")
    assert new.votes("param", "req") is votes[("param", "req")][0]
    assert new.other_votes("param", "session") is votes[("param", "session")][1]
    assert new.votes("param", "n") == Votes((("float", 1), ("int", 1)), 2) != votes[("param", "n")][0]
    assert t.votes("param", "n") == Votes((("int", 2),), 2)  # (the old table is as it was)
    same = new.replaced(after, list(after), "python")  # the same annotations: the same counters
    assert all(same.counts[k] is new.counts[k] for k in new.counts)


def _chooser(share_weight: float) -> Reranker:
    """A hand-made chooser: the log of the model's probability plus `share_weight` x the vote share."""
    w = [0.0] * len(FEATURES)
    w[FEATURES.index("log_model_p")] = 1.0
    w[FEATURES.index("share")] = share_weight
    n = len(FEATURES)
    return Reranker(Calibrator([0.0] * n, [1.0] * n, w, 0.0), Calibrator([0.0] * n, [1.0] * n, w, 0.0))


def _pred(alts: list[tuple[str, float]]) -> Prediction:
    s = extract("def f(req):\n    return req.path\n", "python", "m.py")[1]
    assert s.kind == "param" and s.name == "req"
    return Prediction(s, alts[0][0], alts[0][1], "model", alts, None)


def test_without_votes_the_prediction_is_the_models() -> None:
    p = _pred([("str", 0.6), ("Request", 0.2)])
    assert _chooser(10.0).apply(p, Evidence()) is p


def test_strong_votes_win_over_a_weak_model_choice_and_weak_votes_do_not() -> None:
    p = _pred([("str", 0.6), ("Path", 0.2)])
    votes = Votes((("web.Request", 9), ("str", 1)), 10)
    strong = _chooser(20.0).apply(p, Evidence(votes))
    assert strong.type == "web.Request" and strong.source == "project" and strong.module is None
    assert [t for t, _ in strong.alternatives][:2] == ["web.Request", "str"]
    weak = _chooser(0.1).apply(p, Evidence(votes))
    assert weak.type == "str" and weak.source == "model"


def test_a_voted_type_the_model_also_ranks_keeps_the_models_spelling() -> None:
    """`configuration.NamespaceConfig` in the project is the model's `NamespaceConfig`: one candidate."""
    p = _pred([("str", 0.5), ("NamespaceConfig", 0.3)])
    got = _chooser(10.0).apply(p, Evidence(Votes((("configuration.NamespaceConfig", 5),), 5)))
    assert got.type == "NamespaceConfig" and got.source == "model"
    assert key("configuration.NamespaceConfig") == key("NamespaceConfig")


def test_a_site_whose_checker_agrees_has_its_own_offset_and_an_unseen_group_its_parents() -> None:
    """The calibration groups split the sites whose checker's type is the model's own choice
    (`:agree`): their writes are held to the threshold's precision by an offset of their own; a
    group validation did not see takes the offset of the group it was split from."""
    from dataclasses import replace as with_

    from typeinf.inference.rerank import Site, group

    p = _pred([("Request", 0.6), ("str", 0.2)])
    site = Site.of(p)
    assert group(site, Evidence(checker="Request")) == "python:param:model:agree"
    assert group(site, Evidence(checker="str")) == "python:param:model"
    assert group(site, Evidence(Votes((("Request", 3),), 3))) == "python:param:model"
    base = _chooser(0.0)
    parent = with_(base, offsets={"python:param:model": 3.0})
    split = with_(base, offsets={"python:param:model": 3.0, "python:param:model:agree": 0.0})
    ev = Evidence(checker="Request")
    assert parent.rank(site, ev)[0][0] < split.rank(site, ev)[0][0]  # the parent's offset: lower
    assert base.rank(site, ev)[0][0] == split.rank(site, ev)[0][0]


def test_the_checkers_none_for_a_return_the_model_types_otherwise_is_not_evidence() -> None:
    """pyrefly's `None` for a function the model thinks returns something (a hook returning `None`
    until it is overridden) was right 6 times of 175 on validation: dropped; where the model says
    `None` too, is unsure of its choice, or for another type, the checker's answer stays."""
    from typeinf.inference.rerank import Site, trusted

    s = extract("def get_acr(self):\n    return None\n", "python", "m.py")[0]
    assert s.kind == "return"
    pred = Prediction(s, "str | None", 0.4, "model", [("str | None", 0.4), ("None", 0.3)], None)
    assert trusted(Site.of(pred), Evidence(checker="None")) == Evidence()
    assert _chooser(0.0).apply(pred, Evidence(checker="None")) is pred
    agreeing = Prediction(s, "None", 0.6, "model", [("None", 0.6), ("str", 0.1)], None)
    assert trusted(Site.of(agreeing), Evidence(checker="None")) == Evidence(checker="None")
    assert trusted(Site.of(pred), Evidence(checker="int")) == Evidence(checker="int")
    unsure = Prediction(s, "BytesExpr", 0.05, "model", [("BytesExpr", 0.05), ("None", 0.04)], None)
    assert trusted(Site.of(unsure), Evidence(checker="None")) == Evidence(checker="None")


def test_the_spellings_of_one_type_vote_together() -> None:
    """A project writes `NamespaceConfig` in one file and `configuration.NamespaceConfig` in another:
    one type, whose votes count together (3 + 2 of 5, not 3 of 5 beside 2 of 5)."""
    from typeinf.inference.rerank import Site, candidates

    p = _pred([("str", 0.5), ("NamespaceConfig", 0.3)])
    split = Votes((("NamespaceConfig", 3), ("configuration.NamespaceConfig", 2)), 5)
    whole = Votes((("NamespaceConfig", 5),), 5)
    share = FEATURES.index("share")
    got = {c.type: c.features[share] for c in candidates(Site.of(p), Evidence(split))}
    assert got == {c.type: c.features[share] for c in candidates(Site.of(p), Evidence(whole))}
    assert got["NamespaceConfig"] == 1.0


def test_a_vote_through_a_module_the_site_does_not_import_is_the_project_type(tmp_path: Path) -> None:
    """`configuration.NamespaceConfig` written where `configuration` is imported is, in a file that
    does not import it, the project's `NamespaceConfig` (importable); `httpx.Request` is not the
    project's own `Request`."""
    from typeinf.inference.engine import Engine, FileSites
    from typeinf.inference.spelling import through_project

    root = python_project(
        tmp_path,
        {
            "configuration.py": "class NamespaceConfig:\n    pass\n",
            "models.py": "class Request:\n    pass\n",
            "a.py": "import httpx\nimport configuration\n"
            + "".join(
                f"def f{i}(config: configuration.NamespaceConfig, req: httpx.Request): ...\n"
                for i in range(3)
            ),
            "b.py": "def g(config, req):\n    return config\n",
        },
    )
    sites = [s for s in extract((root / "b.py").read_text(), "python", "b.py") if s.kind == "param"]
    engine = Engine(None, ProjectIndex.build(root))  # type: ignore[arg-type]
    ev = {
        s.name: e
        for s, e in zip(sites, engine.evidence(FileSites(root / "b.py", "python", sites)), strict=True)
    }
    assert ev["config"].votes == Votes((("NamespaceConfig", 3),), 3)
    assert ev["req"].votes is None
    modules = {"NamespaceConfig": "pkg.configuration", "Request": "pkg.models"}
    assert (
        through_project("list[configuration.NamespaceConfig] | None", modules)
        == "list[NamespaceConfig] | None"
    )
    assert through_project("pkg.configuration.NamespaceConfig", modules) == "NamespaceConfig"
    assert through_project("httpx.Request", modules) is None


def test_the_chooser_file_loads_strictly(tmp_path: Path) -> None:
    d = tmp_path / "model"
    d.mkdir()
    for f in MODEL.iterdir():
        (d / f.name).symlink_to(f) if f.name == "typeinf.onnx" else shutil.copy(f, d / f.name)
    (d / RERANK_FILE).write_text(json.dumps({"features": ["something", "else"], "calibrator": {}}))
    with pytest.raises(BundleError, match=RERANK_FILE):
        ModelBundle.load(d)
    (d / RERANK_FILE).write_text("{")
    with pytest.raises(BundleError, match=RERANK_FILE):
        ModelBundle.load(d)
    (d / RERANK_FILE).unlink()
    assert ModelBundle.load(d).reranker is None


def test_the_shipped_model_has_the_stage() -> None:
    assert ModelBundle.load(MODEL).reranker is not None


def test_predict_follows_how_the_project_annotates_a_name(tmp_path: Path) -> None:
    """A half-typed project: `session` is an `aiohttp.ClientSession` in four functions; the fifth,
    unannotated, is predicted the same through `typeinf predict`, and the model alone is not."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\nrequires-python='>=3.10'\n")
    typed = "\n".join(
        f"async def get{i}(session: aiohttp.ClientSession, url: str) -> bytes:\n"
        f"    async with session.get(url) as r:\n        return await r.read()\n"
        for i in range(4)
    )
    (tmp_path / "typed.py").write_text("import aiohttp\n\n" + typed)
    (tmp_path / "todo.py").write_text(
        "import aiohttp\n\nasync def fetch(session, url):\n    async with session.get(url) as r:\n"
        "        return await r.text()\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "typeinf", "predict", "todo.py", "--format", "json", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    preds = {(p["kind"], p["name"]): p for p in json.loads(out.stdout)}
    assert preds[("param", "session")]["type"] in ("aiohttp.ClientSession", "ClientSession")
    (tmp_path / "typed.py").unlink()
    alone = subprocess.run(
        [sys.executable, "-m", "typeinf", "predict", "todo.py", "--format", "json", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert {(p["kind"], p["name"]): p for p in json.loads(alone.stdout)}[("param", "session")][
        "type"
    ] not in (
        "aiohttp.ClientSession",
        "ClientSession",
    )


# ---------------------------------------------------------------------------- the engine and the checker
def test_the_checkers_type_is_evidence_only_when_concrete() -> None:
    from typeinf.inference.engine import concrete

    assert concrete("list[int]", "python") == "list[int]"
    assert concrete("dict[str, Any]", "python") == "dict[str, Any]"
    assert concrete("_asyncio.Future[int]", "python") == "Future[int]"
    for nothing in ("Any", "Any | None", "Optional[Any]", "list[Unknown]", "", None):
        assert concrete(nothing, "python") is None
    assert concrete("Map<string, number>", "typescript") == "Map<string, number>"
    assert concrete("string | any", "typescript") is None


def test_the_engine_asks_pyrefly_about_the_text_it_is_given(tmp_path: Path) -> None:
    """A real checker (pyrefly, from the test extra): the inferred return type of the file as the
    caller has it in memory (annotate's later rounds), not as it is on disk."""
    from typeinf.inference.engine import FileSites

    root = python_project(tmp_path, {"m.py": "def f():\n    return [1, 2]\n"})
    on_disk = extract((root / "m.py").read_text(), "python", "m.py")
    with checked_engine(root) as engine:
        ev = engine.evidence(FileSites(root / "m.py", "python", [s for s in on_disk if s.kind == "return"]))
        assert [e.checker for e in ev] == ["list[int]"]
        text = "def f():\n    return {'a': 1.5}\n"
        sites = [s for s in extract(text, "python", "m.py") if s.kind == "return"]
        ev = engine.evidence(FileSites(root / "m.py", "python", sites, text))
        assert [e.checker for e in ev] == ["dict[str, float]"]
    assert (root / "m.py").read_text() == "def f():\n    return [1, 2]\n"


def test_the_checkers_self_is_the_class_where_the_file_does_not_import_self(tmp_path: Path) -> None:
    """pyrefly says `Self` of `return self`; a file that does not import it names the class (as
    most code does, and `Self` would need an import that only Python 3.11's typing has)."""
    from typeinf.inference.engine import FileSites

    method = "    def named(self, name):\n        self.name = name\n        return self\n"
    plain = (
        "class Route:\n"
        + method
        + "\n\nclass Outer:\n    class Inner:\n"
        + method.replace("    ", "        ")
    )
    typed = "from typing import Self\n\n\nclass Route:\n" + method
    root = python_project(tmp_path, {"plain.py": plain, "typed.py": typed})
    with checked_engine(root) as engine:
        got = {
            name: [
                e.checker
                for e in engine.evidence(FileSites(root / name, "python", python_sites(root, name, "return")))
            ]
            for name in ("plain.py", "typed.py")
        }
    # (a nested class's method keeps `Self`: its bare name is not bound where the annotation is read)
    assert got == {"plain.py": ["Route", "Self"], "typed.py": ["Self"]}


def test_without_a_checker_the_engine_warns_once_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from typeinf.checker import checker_or_none, python_checker
    from typeinf.inference.engine import Engine, FileSites
    from typeinf.inference.predict import Predictor

    root = python_project(tmp_path, {"m.py": "def f(x):\n    return [x]\n"})
    sites = extract((root / "m.py").read_text(), "python", "m.py")
    missing = {"python": lambda: checker_or_none(lambda: python_checker(root, "no-such-checker"))}
    with Engine(Predictor(), ProjectIndex.build(root), missing) as engine:
        preds = engine.predict_files([FileSites(root / "m.py", "python", sites)])
        again = engine.predict_files([FileSites(root / "m.py", "python", sites)])
    assert [p.type for p in preds[0]] == [p.type for p in again[0]] and len(preds[0]) == len(sites)
    warnings = [r for r in caplog.records if "checker" in r.getMessage()]
    assert len(warnings) == 1 and "without the checker" in warnings[0].getMessage()


def test_no_checker_flag_and_setting(tmp_path: Path) -> None:
    """`--no-checker` and `[tool.typeinf] checker = false` run without the checker: the same output
    format, and a checker setting that is not a boolean is a configuration error (exit 2)."""
    root = python_project(tmp_path, {"m.py": "def f():\n    return [1, 2]\n"})
    run = [sys.executable, "-m", "typeinf", "predict", "m.py", "--format", "json", "--no-cache"]
    full = subprocess.run(run, cwd=root, capture_output=True, text=True, check=True)
    off = subprocess.run([*run, "--no-checker"], cwd=root, capture_output=True, text=True, check=True)
    assert {p["kind"] for p in json.loads(full.stdout)} == {p["kind"] for p in json.loads(off.stdout)}
    ret = [p for p in json.loads(full.stdout) if p["kind"] == "return"][0]
    assert ret["type"] == "list[int]"
    (root / "pyproject.toml").write_text("[project]\nname='x'\n[tool.typeinf]\nchecker = 'yes'\n")
    bad = subprocess.run(run, cwd=root, capture_output=True, text=True)
    assert bad.returncode == 2 and "checker" in bad.stderr


def test_only_types_that_exist_at_the_site_are_evidence(tmp_path: Path) -> None:
    """A vote for a name the site cannot see (another function's type parameter, a class imported
    only elsewhere) is dropped; one for a project type stays and, chosen, says where to import it from."""
    from typeinf.inference.engine import Engine, FileSites, nameable
    from typeinf.inference.predict import Predictor

    root = python_project(
        tmp_path,
        {
            "shapes.py": "class Widget:\n    def draw(self): ...\n",
            "a.py": "from typing import TypeVar\nfrom pkg import Thing\nU = TypeVar('U')\n"
            + "".join(f"def f{i}(item: U, widget: Widget, other: Thing) -> None: ...\n" for i in range(4)),
            "b.py": "def g(item, widget, other):\n    widget.draw()\n",
        },
    )
    sites = [s for s in extract((root / "b.py").read_text(), "python", "b.py") if s.kind == "param"]
    engine = Engine(Predictor(), ProjectIndex.build(root))
    ev = {
        s.name: e
        for s, e in zip(sites, engine.evidence(FileSites(root / "b.py", "python", sites)), strict=True)
    }
    assert ev["item"].votes is None and ev["other"].votes is None  # U and Thing are not visible in b.py
    assert ev["widget"].votes == Votes((("Widget", 4),), 4)
    assert nameable("list[Widget] | None", sites[1], {"Widget"}) and not nameable("Thing", sites[1], set())
    preds = {p.slice.name: p for p in engine.predict_files([FileSites(root / "b.py", "python", sites)])[0]}
    assert preds["widget"].type == "Widget" and preds["widget"].module == "shapes"
