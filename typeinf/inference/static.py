"""Static facts: what the code states for certain, before any model.

    static_fact(slice) -> Fact | None

Rules (each has its own confidence, measured on the validation split and stored with the
model in `static_rules.json`; see models/evaluate.py):
  literal     a variable bound to a literal, a parameter whose default is a literal
              (`x = 0` -> int / number, `"a"` -> str / string, `True` -> bool / boolean)
  constructor a variable bound to a call of a class known at the site
              (`x = Foo(...)`, `new Foo(...)` -> Foo)
  no-return   a function with no return value: `None` (Python) / `void` (TypeScript);
              an async one: `Promise<void>` in TypeScript.  Not for stubs (a body of only a
              docstring, `...`, `pass` or `raise` / `throw` statements; `@overload`,
              `@abstractmethod`): their overrides or implementations return the real type.
              (On the validation split 82% of Python bodies that only raise and 87% of
              TypeScript bodies that only throw were annotated with something else)
  literal-returns  every return is a literal of one type (`return True` / `return False`), and
              no path ends without a value (a bare `return`, or the end of the body)
  type-alias  (Python) a variable of the module bound to a type expression: `Handler =
              Callable[[int], str]`, `Key = Union[int, str]`, `Id = int | None`, a forward
              reference `Ref = "dict[str, Handler]"` -> `TypeAlias` (PEP 613).  Any other type
              written there would make the alias a variable (its uses in annotations errors);
              checked before `literal`, which would call the forward reference a `str`
  final       (Python) a variable of the module bound to a literal and never assigned again, in a
              file that imports `Final` (the project declares its constants so: `TIMEOUT: Final =
              30`, PEP 591)
  final-constant  (Python) the same for a variable named as a constant (`MAX_SIZE`, `_CACHE`) bound
              to any other expression but a lambda: `Final` alone, the checker infers the rest (on
              the corpus's validation and test splits such constants were `Final` 438 times,
              `Final[...]` 195 times and something else 22 times)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..lang import lang_family
from ..memo import by_identity
from ..slices.data import Expr, ScopeName, Slice
from ..slices.type_expressions import STRING, is_type_expression
from ..text import split_top
from ..types import normalize, union_members

_PY_STR = re.compile(r"^[rRuUfF]{0,2}('|\")")
_PY_BYTES = re.compile(r"^(?:[bB][rR]?|[rR][bB])('|\")")
_INT = re.compile(r"^-?(0[xXoObB][0-9a-fA-F_]+|\d[\d_]*)$")
_FLOAT = re.compile(r"^-?(\d[\d_]*\.\d*|\.\d+|\d[\d_]*(\.\d*)?[eE][-+]?\d+)$")
_CTOR_PY = re.compile(r"^([A-Z][\w]*(?:\.[A-Z][\w]*)*)\(")
_CTOR_TS = re.compile(r"^new\s+([A-Z][\w$]*(?:\.[A-Z][\w$]*)*)\s*[(<]")


def _module_variable(s: Slice) -> bool:
    """A Python variable of the module (not a function's local, nor a member `self.x`)."""
    return s.language == "python" and s.kind == "var" and not s.qualname and "." not in s.name


def _type_alias(s: Slice) -> bool:
    """A Python variable of the module bound to a type expression, or to a string holding one (a
    forward reference): a type alias."""
    d = s.evidence.definition
    if not _module_variable(s) or d is None:
        return False
    text = d.text.strip()
    if d.category == "literal":
        m = STRING.match(text)
        return m is not None and is_type_expression(m.group(2))
    return d.category in ("subscript", "binary", "paren") and is_type_expression(text)


# Rules whose type the model never ranks (a declaration qualifier: finalize.types_not_qualifiers
# drops them from its candidates): their confidence is the rule's measured precision as it is (the
# confidence calibrator reads the model's probability of the type, 0 here), and the project's
# evidence does not re-rank them (typeinf.inference.rerank)
QUALIFIER_RULES = frozenset({"type-alias", "final", "final-constant"})


_TYPING = ("typing", "typing_extensions")
_TYPING_MODULE_NAMES = frozenset({"typing", "typing_extensions", "t", "te", "tx", "tp"})


def _imported(qualifier: str, scope: list[ScopeName]) -> str | None:
    """How the file names a qualifier it imports from `typing`: by its name or an alias of it
    (`from typing import TypeAlias as _TypeAlias`); None when not so imported."""
    names = [e.name for e in scope if e.kind == "import" and e.module in _TYPING]
    if qualifier in names:
        return qualifier
    return next((n for n in names if n.endswith(qualifier)), None)


def spelled(qualifier: str, scope: list[ScopeName]) -> str:
    """A qualifier as the file can name it: imported (`_imported`), through the module
    (`import typing_extensions as te`: `te.TypeAlias`), else by its own name."""
    name = _imported(qualifier, scope)
    if name is not None:
        return name
    modules = sorted(  # `typing` before `typing_extensions`
        (e.module or "", e.name)
        for e in scope
        if e.kind == "import" and e.module in _TYPING and e.name in _TYPING_MODULE_NAMES
    )
    module = modules[0][1] if modules else None
    return f"{module}.{qualifier}" if module is not None else qualifier


_CONSTANT = re.compile(r"_*[A-Z][A-Z0-9_]*")


def _final(s: Slice) -> Fact | None:
    """`Final` as the file imports it, for a Python variable of the module never assigned again (a
    name bound twice cannot be `Final`) and bound to a literal (rule `final`), or named as a
    constant (`MAX_SIZE`) and bound to another expression but a lambda (`final-constant`); None
    when neither applies."""
    d = s.evidence.definition
    if not _module_variable(s) or d is None or s.evidence.assignments:
        return None
    if d.category == "literal":
        rule = "final"
    elif d.category != "lambda" and _CONSTANT.fullmatch(s.name):
        rule = "final-constant"
    else:
        return None
    name = _imported("Final", s.scope)
    return Fact(name, rule) if name is not None else None


@dataclass(frozen=True, slots=True)
class Fact:
    type: str
    rule: str


def rule_key(language: str, kind: str, fact: Fact) -> str:
    """The calibration key of a fact: language, site kind, rule and (for literals) the type, so
    `x=False -> bool` and `x=0 -> int` (sometimes meant as float) each get their own precision."""
    fam = lang_family(language)
    typed = fact.rule in ("literal", "literal-returns", "no-return")
    return f"{fam}:{kind}:{fact.rule}" + (f":{fact.type}" if typed else "")


def literal_type(expr: Expr | None, language: str) -> str | None:
    """The type of a literal expression, or None."""
    if expr is None or expr.category != "literal":
        return None
    text = expr.text.strip()
    if language == "python":
        if text in ("True", "False"):
            return "bool"
        if _PY_BYTES.match(text):
            return "bytes"
        if _PY_STR.match(text):
            return "str"
        if _INT.match(text):
            return "int"
        if _FLOAT.match(text):
            return "float"
        return None
    if text in ("true", "false"):
        return "boolean"
    if text[:1] in ("'", '"', "`"):
        return "string"
    if _INT.match(text) or _FLOAT.match(text):
        return "number"
    return None


@by_identity(maxsize=256)  # the slices of one file share their scope list
def _classes_and_imports(scope: list[ScopeName]) -> frozenset[str]:
    return frozenset(e.name for e in scope if e.kind in ("class", "import"))


def _constructor(s: Slice) -> str | None:
    d = s.evidence.definition
    if d is None:
        return None
    known = _classes_and_imports(s.scope)
    if s.language == "python":
        if d.category != "call":
            return None
        m = _CTOR_PY.match(d.text)
    else:
        if d.category != "new":
            return None
        m = _CTOR_TS.match(d.text)
    if m is None:
        return None
    name = m.group(1)
    if name.split(".")[0] not in known:
        return None
    if s.language != "python" and "<" in d.text.split("(")[0]:
        return None  # generic arguments: leave the full type to the model
    return name


_STUB_DECORATORS = ("overload", "abstractmethod", "abstractproperty")
_STUB_STATEMENTS = re.compile(r"^(\.\.\.|pass|raise\b.*|return\s+NotImplemented)$", re.S)
_THROW = re.compile(r"throw\b")


def _ts_throw_only(window: str) -> bool:
    """A TypeScript function whose body (the window's last braces) is only `throw` statements.
    One pass each way, no regular expression over the body (a window may be long)."""
    w = window.rstrip().rstrip(";,").rstrip()
    if not w.endswith("}"):
        return False
    depth, start = 0, -1
    for i in range(len(w) - 1, -1, -1):
        if w[i] == "}":
            depth += 1
        elif w[i] == "{":
            depth -= 1
            if depth == 0:
                start = i
                break
    head = w[:start].rstrip() if start > 0 else ""
    head = head[:-2].rstrip() if head.endswith("=>") else head
    if not head.endswith(")"):
        return False
    statements = split_top(w[start + 1 : -1], ";\n")
    code = [st for st in statements if not st.startswith(("//", "/*", "*"))]
    return bool(code) and all(_THROW.match(st) for st in code)


def is_stub(s: Slice) -> bool:
    """A function whose body only marks it as a placeholder (see no-return above)."""
    if s.language != "python":
        window = s.evidence.window
        return bool(window) and not window.endswith("\u2026") and _ts_throw_only(window)
    if any(d.rsplit(".", 1)[-1].split("(")[0] in _STUB_DECORATORS for d in s.evidence.decorators):
        return True
    window = s.evidence.window
    if not window or window.endswith("\u2026"):
        return False
    lines = window.splitlines()
    depth = 0
    body_start = None
    for i, line in enumerate(lines):
        code = line.split("#", 1)[0].rstrip()
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth <= 0 and code.endswith(":"):
            body_start = i + 1
            break
        if depth <= 0 and ":" in code:  # the signature ends with the body on its line: `def f(): ...`
            tail = code.rsplit(":", 1)[-1].strip()
            return bool(_STUB_STATEMENTS.match(tail))
    if body_start is None:
        return False
    body = "\n".join(ln for ln in lines[body_start:] if not ln.strip().startswith("#")).strip()
    for quote in ('"""', "'''"):
        for prefix in ("", "r", "R"):
            if body.startswith(prefix + quote):
                end = body.find(quote, len(prefix) + 3)
                if end < 0:
                    return False
                body = body[end + 3 :].strip()
                break
    code = "\n".join(line.split("#", 1)[0] for line in body.splitlines())
    return all(_STUB_STATEMENTS.match(st) for st in split_top(code, "\n"))


def static_fact(s: Slice) -> Fact | None:
    """What the code states for certain about the site's type, if anything."""
    ev = s.evidence
    lang = s.language
    if s.kind == "var":
        if _type_alias(s):
            return Fact(normalize(spelled("TypeAlias", s.scope), "python"), "type-alias")
        final = _final(s)
        if final is not None:
            return final
        lit = literal_type(ev.definition, lang)
        if lit is not None:
            return Fact(lit, "literal")
        ctor = _constructor(s)
        if ctor is not None:
            return Fact(ctor, "constructor")
        return None
    if s.kind == "param":
        lit = literal_type(ev.default, lang)
        return Fact(lit, "literal") if lit is not None else None
    # returns
    if ev.yields:
        return None
    values = [r for r in ev.returns if r.category != "bare"]
    if not values:
        if is_stub(s):
            return None
        if lang == "python":
            return Fact("None", "no-return")
        return Fact("Promise<void>" if s.is_async else "void", "no-return")
    lits = {literal_type(r, lang) for r in values}
    # `return True` beside a path that ends without a value returns None too: not a bool
    if len(lits) == 1 and None not in lits and not s.is_async and not ev.ends_without_value:
        (t,) = lits
        assert t is not None
        return Fact(t, "literal-returns")
    return None


# The types that can hold a value of a fact's type (its supertypes and the top types), by language:
# a prediction that overrides a fact must be one of these (in a union, one member suffices), else a
# checker would reject it (`def f(): return 1` annotated `-> bool`).
_HOLDS = {
    "python": {
        "bool": {"bool", "int", "float", "complex"},
        "int": {"int", "float", "complex", "SupportsInt", "SupportsIndex", "numbers.Number", "Number"},
        "float": {"float", "complex", "SupportsFloat"},
        "str": {"str", "AnyStr", "Sequence[str]", "Iterable[str]", "Hashable"},
        "bytes": {"bytes", "AnyStr", "Sequence[int]", "Hashable"},
        "None": {"None", "NoReturn", "Never"},
        "_top": {"Any", "object", "typing.Any"},
    },
    "typescript": {
        "boolean": {"boolean", "true", "false"},
        "number": {"number"},
        "string": {"string"},
        "void": {"void", "undefined"},
        "Promise<void>": {"Promise<void>", "Promise<undefined>"},
        "_top": {"any", "unknown", "Object", "object", "{}"},
    },
}


def holds(candidate: str, fact: Fact, language: str) -> bool:
    """Whether a type written in place of a literal or no-return fact would still accept the
    value the code has (always true for other facts: a constructor's class may be a subclass)."""
    fam = lang_family(language)
    if fact.rule not in ("literal", "literal-returns", "no-return"):
        return True
    table = _HOLDS[fam]
    accepted = table.get(fact.type)
    if accepted is None:
        return True
    for member in union_members(candidate, fam):
        if member in accepted or member in table["_top"] or member.startswith(("Literal[", "Optional[")):
            return True
        if (
            fam == "typescript"
            and fact.type in ("number", "string", "boolean")
            and _ts_literal_of(member, fact.type)
        ):
            return True
    return False


def _ts_literal_of(member: str, ts_type: str) -> bool:
    if ts_type == "string":
        return member[:1] in ("'", '"', "`")
    if ts_type == "boolean":
        return member in ("true", "false")
    return bool(_INT.match(member) or _FLOAT.match(member))
