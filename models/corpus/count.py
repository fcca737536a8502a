"""Cheap per-file counters of annotated sites, used to prune the candidate list.

Python (``ast``): annotated parameters, annotated returns, and annotated
assignments with a value (``x: int = 0``); ``sites`` is their sum.  Bare
declarations (``x: int``, dataclass fields) are counted apart as ``decls``.

TypeScript (tree-sitter-typescript): ``type_annotation`` nodes on the
parameters and return types of functions with bodies (function declarations
and expressions, arrow functions, methods, generators) and on variable
declarators; ``sites`` is their sum.  Annotated class fields are counted
apart as ``fields`` and the parameters/returns of body-less signatures
(interfaces, overloads, ``declare``) as ``signatures``.  ``.d.ts`` files are
counted by the caller into a separate bucket.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

COUNTER_VERSION = 1


@dataclass
class Counts:
    """Annotated-site counts over one or more files."""

    files: int = 0
    unparsed: int = 0
    bytes: int = 0
    params: int = 0
    params_total: int = 0
    returns: int = 0
    returns_total: int = 0
    variables: int = 0
    decls: int = 0
    fields: int = 0
    signatures: int = 0

    @property
    def sites(self) -> int:
        return self.params + self.returns + self.variables

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self) -> dict[str, int]:
        d = asdict(self)
        d["sites"] = self.sites
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Counts:
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in d.items() if k in names})


def count_python(source: bytes) -> Counts:
    """Counts for one Python file (``unparsed=1`` if it does not parse)."""
    c = Counts(files=1, bytes=len(source))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        c.unparsed = 1
        return c
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            args = [*a.posonlyargs, *a.args, *a.kwonlyargs]
            if a.vararg is not None:
                args.append(a.vararg)
            if a.kwarg is not None:
                args.append(a.kwarg)
            for arg in args:
                if arg.annotation is not None:
                    c.params += 1
                    c.params_total += 1
                elif arg.arg not in ("self", "cls"):
                    c.params_total += 1
            c.returns_total += 1
            if node.returns is not None:
                c.returns += 1
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                c.variables += 1
            else:
                c.decls += 1
    return c


_BODY_KINDS = (
    "function_declaration",
    "function_expression",
    "arrow_function",
    "method_definition",
    "generator_function_declaration",
    "generator_function",
)
_SIG_KINDS = (
    "function_signature",
    "method_signature",
    "abstract_method_signature",
    "call_signature",
    "construct_signature",
)


def _query_source() -> str:
    parts: list[str] = []
    params = (
        "[(required_parameter type: (type_annotation) @{0}) "
        "(optional_parameter type: (type_annotation) @{0})]"
    )
    for kinds, p, r in ((_BODY_KINDS, "param", "ret"), (_SIG_KINDS, "sparam", "sret")):
        for k in kinds:
            parts.append(f"({k} parameters: (formal_parameters {params.format(p)}))")
            parts.append(f"({k} return_type: (type_annotation) @{r})")
    for k in _BODY_KINDS:
        parts.append(
            f"({k} parameters: (formal_parameters [(required_parameter) (optional_parameter)] @ptotal))"
        )
        parts.append(f"({k}) @fn")
    parts.append("(variable_declarator type: (type_annotation) @var)")
    parts.append("(public_field_definition type: (type_annotation) @field)")
    return "\n".join(parts)


@lru_cache(maxsize=2)
def _ts_tools(tsx: bool) -> tuple[Any, Any]:
    import tree_sitter_typescript as tst
    from tree_sitter import Language, Parser, Query

    lang = Language(tst.language_tsx() if tsx else tst.language_typescript())
    # Keep only the patterns this grammar version can match (node kinds and
    # fields move between tree-sitter-typescript releases).
    ok: list[str] = []
    for pattern in _query_source().splitlines():
        try:
            Query(lang, pattern)
        except Exception:  # noqa: BLE001 - QueryError and friends
            continue
        ok.append(pattern)
    return Parser(lang), Query(lang, "\n".join(ok))


def count_typescript(source: bytes, tsx: bool = False) -> Counts:
    """Counts for one TypeScript file (``unparsed=1`` if the tree has errors)."""
    from tree_sitter import QueryCursor

    parser, query = _ts_tools(tsx)
    c = Counts(files=1, bytes=len(source))
    tree = parser.parse(source)
    if tree.root_node.has_error:
        c.unparsed = 1
    caps = QueryCursor(query).captures(tree.root_node)
    n = {k: len(v) for k, v in caps.items()}
    c.params = n.get("param", 0)
    c.params_total = n.get("ptotal", 0)
    c.returns = n.get("ret", 0)
    c.returns_total = n.get("fn", 0)
    c.variables = n.get("var", 0)
    c.fields = n.get("field", 0)
    c.signatures = n.get("sparam", 0) + n.get("sret", 0)
    return c


def count_files(files: Iterable[tuple[str, bytes]], lang: str) -> Counts:
    """Sum of the counts of ``(path, bytes)`` files of one language."""
    total = Counts()
    for path, data in files:
        if lang == "python":
            total.add(count_python(data))
        else:
            total.add(count_typescript(data, tsx=path.endswith(".tsx")))
    return total
