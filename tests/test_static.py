"""Static facts: the rules and how they combine with the model's ranking."""

from __future__ import annotations

import pytest

from typeinf.inference.bundle import Calibration
from typeinf.inference.finalize import combine, combine_raw
from typeinf.inference.predict import Predictor
from typeinf.inference.static import Fact, is_stub, static_fact
from typeinf.slices import extract

STUBS = '''
import abc
from typing import overload

class Base:
    @abc.abstractmethod
    def documented(self):
        """Subclasses return the real thing."""

    def ellipsis(self): ...

    def raises(
        self, a,
    ):
        # a comment before the docstring
        """Doc
        on two lines."""
        raise NotImplementedError("subclass")

    def passes(self):
        pass

    def __call__(
        self, sender, /, *args,
    ): ...

    @overload
    def over(self, x): ...

    def rejects(self, value):
        raise ValueError(
            f"unsupported {value!r}",
        )

    def prints(self):
        print("side effect")

    def checks(self, value):
        if value is None:
            raise ValueError("missing")

    def bare_return(self):
        """Doc."""
        return
'''


def _returns(source: str) -> dict[str, object]:
    return {s.name: s for s in extract(source, "python", "m.py") if s.kind == "return"}


@pytest.mark.parametrize(
    "name", ["documented", "ellipsis", "raises", "rejects", "passes", "over", "__call__"]
)
def test_stub_bodies_get_no_none_fact(name: str) -> None:
    s = _returns(STUBS)[name]
    assert is_stub(s)
    assert static_fact(s) is None


@pytest.mark.parametrize("name", ["prints", "checks", "bare_return"])
def test_functions_that_run_and_return_nothing_are_none(name: str) -> None:
    s = _returns(STUBS)[name]
    assert not is_stub(s)
    assert static_fact(s) == Fact("None", "no-return")


TS_STUBS = """
export class Target {
  opener() {
    throw new UnsupportedOperation();
  }
  async launch(name: string) {
    throw new Error(`not in the browser: ${name}`);
  }
  close(): void {}
  check(value: unknown) {
    if (value === undefined) {
      throw new Error("missing");
    }
  }
  async stop() {
    await this.flush();
  }
}
export const fail = () => { throw new Error("x"); };
"""


def test_typescript_bodies_that_only_throw_get_no_void_fact() -> None:
    by = {s.name: s for s in extract(TS_STUBS, "typescript", "a.ts") if s.kind == "return"}
    assert is_stub(by["opener"]) and static_fact(by["opener"]) is None
    assert is_stub(by["launch"]) and static_fact(by["launch"]) is None
    assert is_stub(by["fail"]) and static_fact(by["fail"]) is None
    assert static_fact(by["check"]) == Fact("void", "no-return")
    assert static_fact(by["stop"]) == Fact("Promise<void>", "no-return")


def test_literal_and_constructor_facts() -> None:
    src = "class Foo:\n    pass\n\ndef f(flag=False, n=0):\n    x = Foo()\n    y = 'a'\n    return x, y\n"
    by = {(s.kind, s.name): static_fact(s) for s in extract(src, "python", "m.py")}
    assert by[("param", "flag")] == Fact("bool", "literal")
    assert by[("param", "n")] == Fact("int", "literal")
    assert by[("var", "x")] == Fact("Foo", "constructor")
    assert by[("var", "y")] == Fact("str", "literal")


def test_a_weak_rule_yields_to_a_more_confident_model() -> None:
    cal = Calibration(rules={"python:var:constructor": 0.2, "python:param:literal:bool": 0.96})
    fact = Fact("Foo", "constructor")
    t, conf, source, alts = combine_raw(cal, "python", fact, [("Base", 0.7), ("Foo", 0.2)], kind="var")
    assert (t, source) == ("Base", "model") and conf == 0.7
    # ... but not when the model is less sure than the rule has been
    t, conf, source, alts = combine_raw(cal, "python", fact, [("Base", 0.15), ("Foo", 0.1)], kind="var")
    assert (t, source, conf) == ("Foo", "static", 0.2)
    assert alts[0] == ("Foo", 0.2) and ("Base", 0.15) in alts
    # a reliable rule wins over a model that disagrees with less confidence than the rule's precision
    bool_fact = Fact("bool", "literal")
    t, conf, source, _ = combine_raw(cal, "python", bool_fact, [("int", 0.9), ("bool", 0.05)], kind="param")
    assert (t, source, conf) == ("bool", "static", 0.96)


def test_the_confidence_calibrator_learns_and_applies():
    from typeinf.inference.confidence import FEATURES, Calibrator, confidence_features, fit

    rows, right = [], []
    for i in range(400):  # correct when the model's first choice is far ahead of the second
        p1, p2 = 0.3 + 0.6 * (i % 20) / 20, 0.1
        alts = [("int", p1), ("str", p2)]
        rows.append(confidence_features("int", p1, alts, "model", 0.0, "param", "python"))
        right.append(p1 - p2 > 0.5)
    cal = fit(rows, right)
    sure = cal(
        confidence_features("int", 0.9, [("int", 0.9), ("str", 0.05)], "model", 0.0, "param", "python")
    )
    unsure = cal(
        confidence_features("int", 0.35, [("int", 0.35), ("str", 0.3)], "model", 0.0, "param", "python")
    )
    assert sure > 0.8 > 0.2 > unsure
    assert Calibrator.from_dict(cal.to_dict()) == cal
    assert Calibrator.from_dict({**cal.to_dict(), "features": list(FEATURES[:-1])}) is None
    calibration = Calibration(calibrators={"python": cal})
    t, conf, source, alts = combine(calibration, "python", None, [("int", 0.9), ("str", 0.05)], kind="param")
    assert (t, source) == ("int", "model") and conf == alts[0][1] == sure


def test_the_throw_only_check_reads_long_or_unclosed_windows_in_one_pass() -> None:
    from typeinf.inference.static import _ts_throw_only

    # a backtracking pattern took exponential time on these; the check must answer, and right
    assert not _ts_throw_only("f() {" + " throw x" * 2000 + " ;;")
    assert not _ts_throw_only(") {" * 3000 + "throw a")
    assert _ts_throw_only("f() {\n  // not here\n  throw new Error(`no ${a}`);\n}")
    assert not _ts_throw_only("f() {\n  log();\n  throw new Error('x');\n}")


def _facts(src: str, language: str = "python") -> dict[str, Fact | None]:
    path = "m.py" if language == "python" else "m.ts"
    return {s.name: static_fact(s) for s in extract(src, language, path) if s.kind in ("return", "var")}


def test_raw_strings_are_str_and_only_b_prefixes_are_bytes() -> None:
    facts = _facts('P = r"\\d+"\nQ = R"x"\nB = b"x"\nRB = rb"x"\nBR = Br"x"\nF = rf"{P}"\nU = u"x"\n')
    assert {k: f.type if f else None for k, f in facts.items()} == {
        "P": "str",
        "Q": "str",
        "B": "bytes",
        "RB": "bytes",
        "BR": "bytes",
        "F": "str",
        "U": "str",
    }


PY_FALLS = """
def falls_off(fd):
    if fd:
        return True


def bare(x):
    if x:
        return True
    return


def both(x):
    if x:
        return True
    elif x is None:
        return False
    else:
        return False


def loop(x):
    while True:
        if x:
            return True


def loop_with_break(x):
    while True:
        if x:
            break
        return True


def handled(x):
    try:
        return True
    except ValueError:
        return False


def swallowed(x):
    try:
        return True
    except ValueError:
        pass
"""


def test_a_function_that_can_end_without_a_value_gets_no_literal_returns_fact() -> None:
    facts = _facts(PY_FALLS)
    assert {k for k, f in facts.items() if f is not None} == {"both", "loop", "handled"}
    assert facts["both"] == Fact("bool", "literal-returns")
    ts = _facts(
        "function a(x) { if (x) { return true; } }\n"
        "function b(x) { if (x) return true; else return false; }\n"
        "function c(x) { if (x) { return true; } return; }\n"
        "function d(x) { try { return true; } finally { cleanup(); } }\n",
        "typescript",
    )
    assert {k: f.type if f else None for k, f in ts.items()} == {
        "a": None,
        "b": "boolean",
        "c": None,
        "d": "boolean",
    }


def test_declaration_qualifiers_are_not_predicted_as_types() -> None:
    from typeinf.inference.predict import types_not_qualifiers
    from typeinf.types import without_qualifier

    assert [
        without_qualifier(t) for t in ("Final", "TypeAlias", "Final[int]", "ClassVar[list[str]]", "int")
    ] == [None, None, "int", "list[str]", "int"]
    ranked = types_not_qualifiers([("Final", 0.5), ("Final[int]", 0.2), ("int", 0.2), ("str", 0.1)])
    assert (
        ranked[0][0] == "int" and abs(ranked[0][1] - 0.4) < 1e-9 and [t for t, _ in ranked] == ["int", "str"]
    )
    predictor = Predictor()
    preds = predictor.predict(extract("DEFAULT_LIMIT = 50\nPATTERN = r'x'\nNAME = 'n'\n", "python", "m.py"))
    for p in preds:
        assert all(without_qualifier(t) == t for t, _ in p.alternatives), p.alternatives


def test_the_model_overrides_a_fact_only_with_a_type_that_holds_its_value() -> None:
    from typeinf.inference.static import holds

    ret_int = Fact("int", "literal-returns")
    assert not holds("bool", ret_int, "python") and not holds("str | None", ret_int, "python")
    assert all(
        holds(t, ret_int, "python")
        for t in ("int", "float", "int | None", "Optional[int]", "Any", "Literal[1]")
    )
    assert holds("Base", Fact("Derived", "constructor"), "python")  # a subclass relation is not known here
    assert not holds("string", Fact("number", "literal"), "typescript") and holds(
        "0 | 1", Fact("number", "literal"), "typescript"
    )
    predictor = Predictor()
    # a model that puts `bool` first beside `return 1` (its parameter is annotated bool) does not win
    fact = Fact("int", "literal-returns")
    t, _, source, _ = predictor.combine_raw("python", fact, [("bool", 0.97), ("int", 0.02)], 5, "return")
    assert (t, source) == ("int", "static")
    t, _, source, _ = predictor.combine_raw("python", fact, [("float", 0.97), ("int", 0.02)], 5, "return")
    assert (t, source) == ("float", "model")


ALIASES = """from typing import Callable, Optional, TypeAlias, Union
import re

Handler = Callable[[int], str]
MaybeInt = Optional[int]
Key = Union[int, str]
Ref = "dict[str, Handler]"
Pair = tuple[int, int]
Id = int | None
Either = (Handler | Key)
Fwd = "Handler | None"
FLAGS = re.I | re.M
NAME = "service"
Greeting = "Hello | world"
table = {"a": 1}["a"]
first = [1, 2][0]


def run(h: Handler, k: Key) -> Pair:
    Local = Optional[int]
    return (1, 2)
"""


def test_a_module_variable_bound_to_a_type_expression_is_a_type_alias() -> None:
    by = {(s.kind, s.qualname, s.name): static_fact(s) for s in extract(ALIASES, "python", "m.py")}
    alias = Fact("TypeAlias", "type-alias")
    for name in ("Handler", "MaybeInt", "Key", "Ref", "Pair", "Id", "Either", "Fwd"):
        assert by[("var", "", name)] == alias, name
    # values, not types: an enum flag's union, strings that are not types, subscripted values, a
    # function's local (an alias is the module's)
    assert by[("var", "", "FLAGS")] is None
    assert by[("var", "", "NAME")] == Fact("str", "literal")
    assert by[("var", "", "Greeting")] == Fact("str", "literal")
    assert by[("var", "", "table")] is None and by[("var", "", "first")] is None
    assert by[("var", "run", "Local")] is None


def test_a_type_alias_is_predicted_as_one_whatever_the_evidence_and_written_only_when_importable(
    tmp_path,
) -> None:
    """Any other type on an alias makes it a variable (`Ref: str = "dict[...]"`): its uses in
    annotations become errors.  The rule's precision is its confidence (the model never ranks a
    qualifier), the project's evidence does not re-rank it, and annotate writes it where
    `TypeAlias` is in scope (from `typing` only since Python 3.10: the default target is 3.9)."""
    from typeinf.annotate import Options, apply, plan
    from typeinf.inference.names import Votes
    from typeinf.inference.rerank import Evidence

    slices = [s for s in extract(ALIASES, "python", "m.py") if s.kind == "var" and s.name in ("Ref", "Pair")]
    predictor = Predictor()
    assert predictor.reranker is not None
    evidence = [Evidence(Votes((("str", 9),), 9), "str") for _ in slices]  # the checker and votes say str
    preds = predictor.predict(slices, evidence=evidence)
    assert [(p.type, p.source) for p in preds] == [("TypeAlias", "static")] * 2
    assert all(p.confidence >= predictor.calibration.threshold("python") for p in preds)
    options = Options(min_confidence=0.0)
    new, applied, _ = apply(ALIASES.encode(), "python", plan(preds, options, "python").edits, options, "m.py")
    assert len(applied) == 2
    assert b'Ref: TypeAlias = "dict[str, Handler]"' in new and b"Pair: TypeAlias = tuple[int, int]" in new
    compile(new, "m.py", "exec")
    without = ALIASES.replace("TypeAlias, ", "")
    preds = predictor.predict([s for s in extract(without, "python", "m.py") if s.name == "Key"])
    assert preds[0].type == "TypeAlias" and plan(preds, options, "python").unimportable == 1


def test_constants_are_final_where_the_file_imports_final_and_aliases_take_the_files_spelling() -> None:
    src = (
        "from typing import Final\nfrom typing import TypeAlias as _TypeAlias\n\n"
        "TIMEOUT = 30\nname = 'svc'\nDEFAULTS = {'a': 1}\nPair = tuple[int, int]\nretries = 1\nretries = 2\n"
        "cache = {}\nHANDLER = lambda x: x\nSEEN = set()\nSEEN = set()\n\n"
        "def f():\n    LOCAL = 1\n    return LOCAL\n"
    )
    by = {(s.qualname, s.name): static_fact(s) for s in extract(src, "python", "m.py") if s.kind == "var"}
    assert by[("", "TIMEOUT")] == Fact("Final", "final") and by[("", "name")] == Fact("Final", "final")
    assert by[("", "DEFAULTS")] == Fact("Final", "final-constant")  # named as a constant
    assert by[("", "retries")] == Fact("int", "literal")  # assigned again: not a constant
    assert by[("", "cache")] is None  # not named as a constant: its type is the model's to say
    assert by[("", "HANDLER")] is None  # a function's alias
    assert by[("", "SEEN")] is None  # assigned again: not a constant
    assert by[("f", "LOCAL")] == Fact("int", "literal")  # a function's local is no constant of the module
    assert by[("", "Pair")] == Fact("_TypeAlias", "type-alias")
    plain = {s.name: static_fact(s) for s in extract("TIMEOUT = 30\n", "python", "m.py")}
    assert plain["TIMEOUT"] == Fact("int", "literal")  # a file that does not import Final


def test_a_new_rule_is_measured_on_the_shards_and_added_to_the_models_rules(tmp_path) -> None:
    """models.rules: a rule's precision over a split's declared sites (what models.evaluate measures
    while calibrating), added to a model directory's static_rules.json without touching the others."""
    import json

    from models.rules import main, measure

    src = "from typing import Final, TypeAlias\n\nKey = int | str\nPair = tuple[int, int]\nLIMIT = 3\n"
    labels = {"Key": "TypeAlias", "Pair": "TypeAlias", "LIMIT": "Final[int]"}
    (tmp_path / "python").mkdir()
    with open(tmp_path / "python" / "valid-0.jsonl", "w") as fh:
        for s in extract(src, "python", "m.py"):
            fh.write(json.dumps({**s.to_dict(), "label": labels[s.name], "package": "p"}) + "\n")
            fh.write(json.dumps({**s.to_dict(), "label": labels[s.name], "inferred": True}) + "\n")
    got = measure(tmp_path, "valid", {"type-alias", "final"})
    assert got == {"python:var:type-alias": (2, 2), "python:var:final": (0, 1)}
    model = tmp_path / "model"
    model.mkdir()
    (model / "static_rules.json").write_text(json.dumps({"python:var:literal:int": 0.36}))
    main(["--shards", str(tmp_path), "--rules", "type-alias", "--write", str(model)])
    # fewer than 20 sites: the prior, not 2 of 2
    assert json.loads((model / "static_rules.json").read_text()) == {
        "python:var:literal:int": 0.36,
        "python:var:type-alias": 0.8,
    }
