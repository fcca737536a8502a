"""The prediction stages on their own: the model bundle loads strictly (a missing or corrupt
calibration file is an error naming it), and finalisation turns fixed rankings into predictions
without a model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from typeinf.inference.bundle import RULE_PRIOR, BundleError, Calibration, ModelBundle
from typeinf.inference.confidence import FEATURES, Calibrator
from typeinf.inference.consistent import aliases, consistent
from typeinf.inference.features import ProjectType
from typeinf.inference.finalize import combine_raw, finalize, member_table
from typeinf.inference.project import ProjectIndex
from typeinf.inference.scorer import Ranking
from typeinf.inference.static import Fact
from typeinf.slices import extract

MODEL = ROOT / "typeinf" / "model"


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """The shipped model directory, its big ONNX file linked rather than copied."""
    d = tmp_path / "model"
    d.mkdir()
    for f in MODEL.iterdir():
        if f.name == "typeinf.onnx":
            (d / f.name).symlink_to(f)
        else:
            shutil.copy(f, d / f.name)
    return d


def test_the_shipped_bundle_loads_with_its_calibration(model_copy: Path) -> None:
    b = ModelBundle.load(model_copy)
    cal = json.loads((MODEL / "thresholds.json").read_text())
    assert (
        b.calibration.temperature == cal["temperature"] and b.calibration.default_threshold == cal["default"]
    )
    assert dict(b.calibration.thresholds) == cal["by_language"]
    assert set(b.calibration.calibrators) == set(cal["calibrators"])
    assert dict(b.calibration.rules) == json.loads((MODEL / "static_rules.json").read_text())
    with pytest.raises(AttributeError):
        b.calibration.temperature = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        b.calibration.rules["python:var:constructor"] = 1.0  # type: ignore[index]


@pytest.mark.parametrize("name", ["thresholds.json", "static_rules.json"])
@pytest.mark.parametrize(
    "content", [None, "", "{not json", "[1, 2]"], ids=["missing", "empty", "corrupt", "array"]
)
def test_a_missing_or_corrupt_calibration_file_is_an_error_naming_it(
    model_copy: Path, name: str, content: str | None
) -> None:
    path = model_copy / name
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    with pytest.raises(BundleError) as e:
        ModelBundle.load(model_copy)
    assert str(e.value).startswith(f"{path}: ") and e.value.path == path
    assert isinstance(e.value, ValueError)  # the CLI reports "cannot load the model: <file>: ..."


@pytest.mark.parametrize("name", ["thresholds.json", "static_rules.json"])
def test_the_predictor_refuses_a_model_without_its_calibration(model_copy: Path, name: str) -> None:
    """Through the facade the CLI and the editor use (they report the ValueError and stop)."""
    from typeinf.inference.predict import Predictor

    (model_copy / name).unlink()
    with pytest.raises(ValueError, match=f"^{model_copy / name}: missing"):
        Predictor(model_copy)
    (model_copy / name).write_text("{")
    with pytest.raises(ValueError, match=f"^{model_copy / name}: not valid JSON"):
        Predictor(model_copy)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.pop("temperature"),
        lambda d: d.update(temperature="1.1"),
        lambda d: d.update(temperature=0),
        lambda d: d.pop("default"),
        lambda d: d.update(by_language={"python": None}),
        lambda d: d.update(calibrators={"python": {"features": list(FEATURES), "mean": []}}),
        lambda d: d.update(calibrators=[]),
    ],
    ids=[
        "no-temperature",
        "string-temperature",
        "zero-temperature",
        "no-default",
        "null-threshold",
        "half-calibrator",
        "calibrators-list",
    ],
)
def test_a_malformed_thresholds_file_is_an_error_naming_it(model_copy: Path, edit) -> None:  # noqa: ANN001
    path = model_copy / "thresholds.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(BundleError, match=f"^{path}: "):
        ModelBundle.load(model_copy)


def test_a_rule_precision_that_is_not_a_number_is_an_error_naming_the_file(model_copy: Path) -> None:
    path = model_copy / "static_rules.json"
    path.write_text(json.dumps({"python:var:constructor": "high"}))
    with pytest.raises(BundleError, match=f"^{path}: python:var:constructor"):
        ModelBundle.load(model_copy)


def test_other_model_files_missing_are_named_too(model_copy: Path) -> None:
    (model_copy / "types.json").unlink()
    with pytest.raises(BundleError, match=f"^{model_copy / 'types.json'}: missing"):
        ModelBundle.load(model_copy)
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(BundleError, match=f"^{model_copy / 'tokenizer.json'}: missing"):
        ModelBundle.load(model_copy)


def test_a_calibration_written_reads_back_equal(tmp_path: Path) -> None:
    cal = Calibration(
        1.25,
        0.88,
        {"python": 0.9},
        {"python": Calibrator([0.0] * len(FEATURES), [1.0] * len(FEATURES), [0.5] * len(FEATURES), -1.0)},
        {"python:var:constructor": 0.25},
    )
    cal.write(tmp_path, target_precision=0.95)
    assert Calibration.load(tmp_path) == cal
    assert list(json.loads((tmp_path / "thresholds.json").read_text())) == [
        "temperature",
        "default",
        "by_language",
        "target_precision",
        "calibrators",
    ]


# ---------------------------------------------------------------------- finalisation, no model
def _site(src: str, name: str, kind: str, language: str = "python"):  # noqa: ANN202
    path = "m.py" if language == "python" else "m.ts"
    return next(s for s in extract(src, language, path) if s.name == name and s.kind == kind)


def test_a_static_fact_wins_with_its_rule_precision_over_a_less_sure_model() -> None:
    s = _site("def f(flag=False):\n    return flag\n", "flag", "param")
    cal = Calibration(rules={"python:param:literal:bool": 0.96})
    p = finalize(cal, s, Ranking((("int", 0.9), ("bool", 0.05)), {}))
    assert (p.type, p.source, p.confidence, p.rule) == ("bool", "static", 0.96, "literal")
    assert p.alternatives == [("bool", 0.96), ("int", 0.9)]
    # an unmeasured rule has the prior: the model wins only when it is more confident than that
    p = finalize(Calibration(), s, Ranking((("int", 0.7), ("bool", 0.05)), {}))
    assert (p.type, p.confidence) == ("bool", RULE_PRIOR)
    p = finalize(Calibration(), s, Ranking((("int", 0.9), ("bool", 0.05)), {}))
    assert (p.type, p.confidence, p.source) == ("int", 0.9, "model")


def test_the_model_and_the_module_of_its_type_where_there_is_no_fact() -> None:
    s = _site("def f(repo):\n    return repo\n", "repo", "param")
    p = finalize(Calibration(), s, Ranking((("Repo", 0.7), ("str", 0.2)), {"Repo": "app.models"}))
    assert (p.type, p.source, p.confidence, p.module, p.rule) == ("Repo", "model", 0.7, "app.models", None)
    assert p.to_dict()["alternatives"] == [
        {"type": "Repo", "confidence": 0.7},
        {"type": "str", "confidence": 0.2},
    ]


def test_the_member_check_and_qualifiers_apply_to_a_fixed_ranking() -> None:
    s = _site("def f(x):\n    return x.startswith('a')\n", "x", "param")
    ranking = Ranking((("int", 0.6), ("Final[str]", 0.3), ("Final", 0.1)), {})
    table = member_table((), "python")
    p = finalize(Calibration(), s, ranking, members=lambda: table)
    assert p.type == "str" and p.alternatives[0][0] == "str"  # int lacks startswith; Final[...] taken off
    assert "Final" not in dict(p.alternatives)
    off = finalize(Calibration(), s, ranking, members=None)
    assert off.type == "int"  # no member check: the model's first choice (the qualifiers still go)
    assert "Final[str]" not in dict(off.alternatives)


def test_the_calibrator_gives_the_final_confidence() -> None:
    s = _site("def f(n):\n    return n + 1\n", "n", "param")
    n = len(FEATURES)
    sure = Calibrator([0.0] * n, [1.0] * n, [0.0] * n, 2.0)  # a constant: sigmoid(2)
    p = finalize(Calibration(calibrators={"python": sure}), s, Ranking((("int", 0.4), ("float", 0.3)), {}))
    assert (
        p.type == "int"
        and p.confidence == pytest.approx(0.8808, abs=1e-4)
        and p.alternatives[0] == ("int", p.confidence)
    )
    ts = _site("function f(n) { return n + 1; }\n", "n", "param", "typescript")
    q = finalize(Calibration(calibrators={"python": sure}), ts, Ranking((("number", 0.4),), {}))
    assert q.confidence == 0.4  # no calibrator for the language: the model's probability


def test_combine_raw_returns_a_typed_choice() -> None:
    c = combine_raw(
        Calibration(), "python", Fact("int", "literal"), [("float", 0.95), ("int", 0.03)], kind="var"
    )
    assert (c.type, c.source) == ("float", "model") and c.confidence == 0.95


def test_a_parameter_that_defaults_to_none_admits_none() -> None:
    s = _site("class Tag: ...\ndef f(tag=None):\n    return tag.name\n", "tag", "param")
    ranking = Ranking((("Tag", 0.6), ("Tag | None", 0.2), ("str", 0.1)), {"Tag": "m"})
    p = consistent(finalize(Calibration(), s, ranking), ranking)
    assert (p.type, p.confidence, p.module) == ("Tag | None", 0.6, "m")
    assert p.alternatives == [("Tag | None", 0.6), ("str | None", 0.1)]  # merged, each at its best
    # types that hold None already, and aliases (which may), stay as they are
    for t in ("Optional[Tag]", "Any", "None", "object", "Tag | int | None"):
        q = finalize(Calibration(), s, Ranking(((t, 0.6),), {}))
        assert consistent(q, ranking) == q
    alias = finalize(Calibration(), s, Ranking((("MaybeTag", 0.6),), {}))
    assert consistent(alias, ranking, aliases=frozenset({"MaybeTag"})).type == "MaybeTag"
    # another default, or none: unchanged
    other = _site("def f(tag=''):\n    return tag\n", "tag", "param")
    q = finalize(Calibration(), other, Ranking((("str", 0.6),), {}))
    assert consistent(q, ranking) == q


def test_the_aliases_are_those_at_the_site_and_the_projects() -> None:
    s = _site("from typing import TypeVar\nT = TypeVar('T')\ndef f(x=None):\n    return x\n", "x", "param")
    project = (ProjectType("Headers", "alias", "app.types"), ProjectType("Page", "class", "app.pages"))
    assert aliases(s, project) == {"T", "Headers"}
    assert aliases(_site("def f(x=1):\n    return x\n", "x", "param"), project) == frozenset()


def test_a_function_that_returns_a_value_does_not_return_none() -> None:
    s = _site("class C:\n    def name(self):\n        return self._name\n", "name", "return")
    ranking = Ranking((("None", 0.5), ("str", 0.3), ("Name", 0.1)), {"Name": "app.names"})
    p = consistent(finalize(Calibration(), s, ranking), ranking)
    assert (p.type, p.confidence, p.source, p.alternatives) == (
        "str",
        0.3,
        "model",
        [("str", 0.3), ("Name", 0.1)],
    )
    q = consistent(
        finalize(Calibration(), s, Ranking((("None", 0.5), ("Name", 0.3)), {"Name": "app.names"})), ranking
    )
    assert (q.type, q.module) == ("Name", "app.names")
    # a call's result, a bare return or `return None` may be None: unchanged
    for body in ("return helper()", "return", "return None", "await go()\n    return"):
        t = _site(f"async def f():\n    {body}\n", "f", "return")
        r = finalize(Calibration(), t, ranking)
        assert consistent(r, ranking) == r
    # nothing else to choose: the prediction stands
    alone = finalize(Calibration(), s, Ranking((("None", 0.9),), {}))
    assert consistent(alone, Ranking((("None", 0.9),), {})) == alone


def test_the_empty_object_type_is_not_predicted_in_typescript() -> None:
    """`{}` (any value but null and undefined) is what an empty object literal is inferred as, and
    hardly ever a declared type: the next candidate is the prediction, with its own confidence."""
    s = _site(
        "function vacuum(options = {}) {\n  return options.batchSize;\n}\n", "options", "param", "typescript"
    )
    ranking = Ranking((("{ }", 0.4), ("VacuumOptions", 0.2), ("Options", 0.1)), {"VacuumOptions": "./vacuum"})
    p = consistent(finalize(Calibration(), s, ranking), ranking)
    assert (p.type, p.confidence, p.module) == ("VacuumOptions", 0.2, "./vacuum")
    assert "{ }" not in [t for t, _ in p.alternatives]
    # alone, or in a larger type, it stands
    for only in ((("{}", 0.4),), (("{ a: number }", 0.4), ("{ }", 0.1))):
        q = finalize(Calibration(), s, Ranking(only, {}))
        assert consistent(q, Ranking(only, {})).type == q.type


def test_a_typescript_function_that_returns_a_value_is_not_void() -> None:
    s = _site("function f(a) { if (a) { return; } return a.name; }\n", "f", "return", "typescript")
    ranking = Ranking((("void", 0.5), ("string", 0.3)), {})
    assert consistent(finalize(Calibration(), s, ranking), ranking).type == "string"


def test_a_modules_type_expressions_are_aliases_in_its_scope_and_the_projects(tmp_path) -> None:
    """`X = Union[...]` (a type expression, or a string holding one) names a type: the file's sites
    have it in scope as an alias, the project index lists it among the project's types (the
    model's candidates elsewhere), and `consistent` leaves a parameter typed with it as it is (the
    alias may hold `None`).  A value that is not a type (a call, a constant's union of flags) is not."""
    src = (
        "from typing import Optional, Union\n"
        "Headers = Union[dict[str, str], list[tuple[str, str]]]\n"
        "MaybeId = 'int | None'\n"
        "Pair = (int, int)\n"
        "Flags = Perm.READ | Perm.WRITE\n"
        "limit = Optional[int]\n"
        "def send(headers=None):\n"
        "    return headers\n"
    )
    s = _site(src, "headers", "param")
    assert {(n.name, n.kind) for n in s.scope if n.kind == "alias"} == {
        ("Headers", "alias"),
        ("MaybeId", "alias"),
        ("limit", "alias"),
    }
    # the variables themselves stay sites (the `type-alias` rule predicts them)
    assert {x.name for x in extract(src, "python", "m.py") if x.kind == "var"} >= {
        "Headers",
        "MaybeId",
        "Pair",
    }
    (tmp_path / "types.py").write_text(src)
    index = ProjectIndex.build(tmp_path)
    kinds = {(p.name, p.kind) for p in index.types_for(tmp_path / "app.py", "python")}
    assert {("Headers", "alias"), ("MaybeId", "alias"), ("limit", "alias")} <= kinds
    assert not {n for n, _ in kinds} & {"Pair", "Flags"}
    other = _site("def send(headers=None):\n    return headers\n", "headers", "param")
    assert "Headers" in aliases(other, index.types_for(tmp_path / "app.py", "python"))


def test_a_project_type_whose_module_the_file_imports_is_spelled_through_it(tmp_path: Path) -> None:
    """`from pkg import configuration` then `configuration.NamespaceConfig`, as authors write it:
    no import to add.  A relative `from .sub import obj` the same; a type whose module the file
    does not import keeps its bare name and the module annotate imports it from; a name the file
    imports by name is left as it is; the checker's `IO[str]` is typing's, not a project alias
    that shadows the name."""
    from typeinf.inference.engine import Engine, FileSites
    from typeinf.inference.finalize import Prediction
    from typeinf.inference.spelling import resolve_relative

    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "configuration.py").write_text("class NamespaceConfig:\n    pass\n")
    (pkg / "sub" / "obj.py").write_text("class VirtualHost:\n    pass\n")
    (pkg / "other.py").write_text(
        "import typing\nclass Other:\n    pass\n\nclass Named:\n    pass\n\nIO = typing.IO[str] | typing.IO[bytes]\n"
    )
    src = (
        "from pkg import configuration\n"
        "from .sub import obj\n"
        "from pkg.other import Named\n"
        "def f(config, vhost, other, named):\n"
        "    return config\n"
    )
    path = pkg / "reverter.py"
    path.write_text(src)
    sites = {s.name: s for s in extract(src, "python", "pkg/reverter.py") if s.kind == "param"}
    sites["io"] = sites["named"]
    engine = Engine(None, ProjectIndex.build(tmp_path), None)  # type: ignore[arg-type]
    preds = [
        Prediction(
            sites["config"],
            "NamespaceConfig | None",
            0.9,
            "model",
            [("NamespaceConfig | None", 0.9), ("list[NamespaceConfig]", 0.05)],
            "pkg.configuration",
        ),
        Prediction(sites["vhost"], "VirtualHost", 0.9, "model", [("VirtualHost", 0.9)], "pkg.sub.obj"),
        Prediction(sites["other"], "Other", 0.9, "model", [("Other", 0.9)], "pkg.other"),
        Prediction(sites["named"], "Named", 0.9, "model", [("Named", 0.9)], None),
        Prediction(sites["io"], "IO[str]", 0.9, "checker", [("IO[str]", 0.9)], None),
    ]
    out = engine.with_modules(FileSites(path, "python", list(sites.values())), preds)
    assert [(p.type, p.module) for p in out] == [
        ("configuration.NamespaceConfig | None", None),
        ("obj.VirtualHost", None),
        ("Other", "pkg.other"),
        ("Named", None),
        ("IO[str]", None),
    ]
    assert out[0].alternatives == [
        ("configuration.NamespaceConfig | None", 0.9),
        ("list[configuration.NamespaceConfig]", 0.05),
    ]
    assert resolve_relative("..x", "a.b.c", False) == "a.x"
    assert resolve_relative(".", "a.b", True) == "a.b"
    assert resolve_relative("...x", "a.b", False) is None


def test_a_union_of_none_with_an_alias_that_holds_none_is_the_alias(tmp_path: Path) -> None:
    """`CookiesType = None | dict[str, str]` then `cookies: CookiesType = None`: the model's
    `CookiesType | None` is written `CookiesType`, in the defining file and where it is imported;
    an alias of the same name elsewhere that does not hold None keeps it out of other files."""
    from typeinf.inference.engine import Engine, FileSites
    from typeinf.inference.finalize import Prediction

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "helpers.py").write_text(
        "from typing import Optional\n"
        "CookiesType = None | dict[str, str]\n"
        "QueryType = Optional[bytes]\n"
        "HeadersType = 'list[str] | None'\n"
        "def send(cookies=None, query=None, headers=None, other=None):\n"
        "    return cookies\n"
    )
    (tmp_path / "types.py").write_text("HeadersType = dict[str, str]\n")
    (tmp_path / "client.py").write_text(
        "from helpers import CookiesType, HeadersType\ndef get(cookies=None, headers=None):\n    return cookies\n"
    )
    index = ProjectIndex.build(tmp_path)
    assert index.nullable_aliases(tmp_path / "helpers.py", "python") == {
        "CookiesType",
        "QueryType",
        "HeadersType",
    }
    assert index.nullable_aliases(tmp_path / "client.py", "python") == {"CookiesType", "QueryType"}
    engine = Engine(None, index, None)  # type: ignore[arg-type]

    def run(file: str, want: dict[str, str]) -> dict[str, tuple[str, list[str]]]:
        sites = [s for s in extract((tmp_path / file).read_text(), "python", file) if s.kind == "param"]
        preds = [
            Prediction(s, want[s.name], 0.9, "model", [(want[s.name], 0.9), ("int | None", 0.05)])
            for s in sites
        ]
        got = engine.with_modules(FileSites(tmp_path / file, "python", sites), preds)
        return {p.slice.name: (p.type, [t for t, _ in p.alternatives]) for p in got}

    got = run(
        "helpers.py",
        {
            "cookies": "CookiesType | None",
            "query": "Optional[QueryType]",
            "headers": "HeadersType | None",
            "other": "str | None",
        },
    )
    assert got == {
        "cookies": ("CookiesType", ["CookiesType", "int | None"]),
        "query": ("QueryType", ["QueryType", "int | None"]),
        "headers": ("HeadersType", ["HeadersType", "int | None"]),
        "other": ("str | None", ["str | None", "int | None"]),
    }
    got = run("client.py", {"cookies": "CookiesType | None", "headers": "HeadersType | None"})
    assert got["cookies"][0] == "CookiesType" and got["headers"][0] == "HeadersType | None"
