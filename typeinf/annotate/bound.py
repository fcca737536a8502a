"""Which names are bound at run time where an annotation is evaluated.

    evaluation_envs(tree, data) -> {(kind, byte offset of the site's name): names | None}
    unbound_annotation_names(tree) -> list[(line, name)]

Without `from __future__ import annotations`, Python evaluates an annotation when its statement
runs: a parameter's or return's when the `def` executes (in the enclosing scope), a variable's at
module or class level when the assignment executes; a local variable's annotation is never
evaluated.  A name used there must already be bound, else importing the module raises NameError:
a class defined further down, the class being defined (`def copy(self) -> Thing` in `Thing`), a
name imported only under `if TYPE_CHECKING:` or only inside a function.  The annotate engine
quotes an annotation whose names are not all bound at its site (`evaluation_envs`), and checks
the written file again as a whole (`unbound_annotation_names`: the count must not grow).

Bound means: a builtin, or bound by an earlier statement of the scope that is executing
(any branch of an `if`/`try`/`with`/`for` counts; the body of `if TYPE_CHECKING:` does not),
or, inside a function, anything its enclosing functions and the module bind (they have run by
the time the function is called).  `None` for a site whose annotation is not evaluated.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ..lang import PY_RUNTIME_BUILTINS
from ..text import line_starts

BUILTINS = PY_RUNTIME_BUILTINS
_DEF_HEAD = re.compile(rb"(?:async[ \t\\\r\n]+)?def[ \t\\\r\n]+")
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)

Env = frozenset[str]
Key = tuple[str, int]  # (kind, byte offset of the site's name)


def future_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(s, ast.ImportFrom)
        and s.module == "__future__"
        and s.level == 0
        and any(a.name == "annotations" for a in s.names)
        for s in tree.body
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _target_names(t: ast.expr) -> Iterator[str]:
    if isinstance(t, ast.Name):
        yield t.id
    elif isinstance(t, (ast.Tuple, ast.List)):
        for e in t.elts:
            yield from _target_names(e)
    elif isinstance(t, ast.Starred):
        yield from _target_names(t.value)


def _walrus_names(node: ast.AST) -> Iterator[str]:
    """Names bound by `:=` in an expression (not inside nested lambdas)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name):
            yield n.target.id
        if not isinstance(n, ast.Lambda):
            stack.extend(ast.iter_child_nodes(n))


def bound_by(stmt: ast.stmt, walrus: bool = True, memo: dict[int, Env] | None = None) -> Env:
    """Names a statement binds in the scope it runs in, at run time (TYPE_CHECKING-only bodies
    left out; nested function and class bodies are other scopes).  `walrus=False`: the text has no
    `:=` (its expressions are not searched); `memo`: the statements already seen, by identity (a
    walk asks about a nested statement once per level of nesting above it)."""
    if memo is not None:
        got = memo.get(id(stmt))
        if got is None:
            got = memo[id(stmt)] = _bound_by(stmt, walrus, memo)
        return got
    return _bound_by(stmt, walrus, None)


def _bound_by(stmt: ast.stmt, walrus: bool, memo: dict[int, Env] | None) -> Env:
    out: set[str] = set()
    if isinstance(stmt, (*_FUNCS, ast.ClassDef)):
        return frozenset((stmt.name,))
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return frozenset(a.asname or a.name.split(".")[0] for a in stmt.names if a.name != "*")
    if isinstance(stmt, ast.Assign):
        for t in stmt.targets:
            out.update(_target_names(t))
    elif isinstance(stmt, ast.AnnAssign):
        if stmt.value is not None:
            out.update(_target_names(stmt.target))
    elif isinstance(stmt, (ast.AugAssign, ast.For, ast.AsyncFor)):
        out.update(_target_names(stmt.target))
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        for item in stmt.items:
            if item.optional_vars is not None:
                out.update(_target_names(item.optional_vars))
    type_alias = getattr(ast, "TypeAlias", None)
    if type_alias is not None and isinstance(stmt, type_alias):
        out.update(_target_names(stmt.name))
    for block in _runtime_blocks(stmt):
        for s in block:
            out |= bound_by(s, walrus, memo)
    if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
        for h in stmt.handlers:  # type: ignore[attr-defined]
            if h.name:
                out.add(h.name)
    if isinstance(stmt, ast.Match):
        for case in stmt.cases:
            for n in ast.walk(case.pattern):
                name = getattr(n, "name", None)
                if isinstance(name, str):
                    out.add(name)
                rest = getattr(n, "rest", None)
                if isinstance(rest, str):
                    out.add(rest)
    if walrus:
        for expr in _own_expressions(stmt):
            out.update(_walrus_names(expr))
    return frozenset(out)


def _runtime_blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists nested in a compound statement that run in the same scope."""
    if isinstance(stmt, ast.If):
        if _is_type_checking(stmt.test):
            return [stmt.orelse]
        if (
            isinstance(stmt.test, ast.UnaryOp)
            and isinstance(stmt.test.op, ast.Not)
            and _is_type_checking(stmt.test.operand)
        ):
            return [stmt.body]
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [stmt.body]
    if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
        return [stmt.body, *[h.body for h in stmt.handlers], stmt.orelse, stmt.finalbody]  # type: ignore[attr-defined]
    if isinstance(stmt, ast.Match):
        return [c.body for c in stmt.cases]
    return []


def _own_expressions(stmt: ast.stmt) -> list[ast.AST]:
    """The expressions of a statement itself (not of the statements nested in it)."""
    out: list[ast.AST] = []
    for name, value in ast.iter_fields(stmt):
        if name in ("body", "orelse", "finalbody", "handlers", "cases"):
            continue
        if isinstance(value, ast.AST) and not isinstance(value, ast.stmt):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, ast.AST) and not isinstance(v, ast.stmt))
    return out


def _all_bound(body: list[ast.stmt], walrus: bool = True, memo: dict[int, Env] | None = None) -> set[str]:
    out: set[str] = set()
    for s in body:
        out |= bound_by(s, walrus, memo)
    return out


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    a = fn.args
    names = {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]}
    names |= {p.arg for p in (a.vararg, a.kwarg) if p is not None}
    return names


def _type_params(node: ast.AST) -> set[str]:
    return {getattr(t, "name", "") for t in getattr(node, "type_params", [])} - {""}


class _Walker:
    """Visits every scope with the names bound when each of its statements runs."""

    def __init__(self, data: bytes, line_starts: list[int]) -> None:
        self.data = data
        self.line_starts = line_starts
        self.walrus = b":=" in data  # (without one, no expression binds a name)
        self.memo: dict[int, Env] = {}  # bound_by of the statements seen
        self.scope_names: Env = frozenset()  # what the body of a function being visited sees
        self.envs: dict[Key, Env | None] = {}
        self.annotations: list[tuple[ast.expr, Env]] = []  # every evaluated annotation, with its env

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col

    def name_offset(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
        at = self.offset(fn.lineno, fn.col_offset)
        m = _DEF_HEAD.match(self.data, at)
        return m.end() if m else at

    def block(self, body: list[ast.stmt], outer: Env, evaluated: bool) -> None:
        """`outer`: names visible when the block starts; `evaluated`: variable annotations of
        this scope are evaluated (module and class bodies)."""
        local: set[str] = set()
        for stmt in body:
            self.statement(stmt, outer | local, evaluated)
            local |= bound_by(stmt, self.walrus, self.memo)

    def statement(self, stmt: ast.stmt, env: Env, evaluated: bool) -> None:
        if isinstance(stmt, _FUNCS):
            self.function(stmt, env)
            return
        if isinstance(stmt, ast.ClassDef):
            # a class body runs at once, seeing the enclosing scope as it is now
            self.block(stmt.body, env | _type_params(stmt), evaluated=True)
            return
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, (ast.Name, ast.Attribute)):
                    self.envs[("var", self.offset(t.lineno, t.col_offset))] = env if evaluated else None
        elif isinstance(stmt, ast.AnnAssign) and evaluated:
            self.annotations.append((stmt.annotation, env))
        for block in _blocks_in_order(stmt):  # nested statements run in this scope, in order
            self.block(block, env, evaluated)

    def function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, env: Env) -> None:
        header_env = env | _type_params(fn)
        self.envs[("return", self.name_offset(fn))] = header_env
        a = fn.args
        for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
            if p is not None:
                self.envs[("param", self.offset(p.lineno, p.col_offset))] = header_env
                if p.annotation is not None:
                    self.annotations.append((p.annotation, header_env))
        if fn.returns is not None:
            self.annotations.append((fn.returns, header_env))
        # the body runs later, when the function is called: by then the enclosing scopes are
        # complete (their whole bodies count); class scopes are not visible from it
        saved = self.scope_names
        own = _params(fn) | _type_params(fn)
        # what nested bodies see
        self.scope_names = frozenset(saved | own | _all_bound(fn.body, self.walrus, self.memo))
        self.block(fn.body, frozenset(saved | own), evaluated=False)
        self.scope_names = saved


def _blocks_in_order(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """All nested statement lists, TYPE_CHECKING bodies included (their sites are visited; what
    they bind is left out by `bound_by`)."""
    if isinstance(stmt, ast.If):
        return [stmt.body, stmt.orelse]
    return _runtime_blocks(stmt)


def _walk(tree: ast.Module, data: bytes) -> _Walker:
    w = _Walker(data, line_starts(data, universal=True))
    w.scope_names = frozenset(BUILTINS | _all_bound(tree.body, w.walrus, w.memo))
    w.block(tree.body, BUILTINS, evaluated=True)
    return w


def evaluation_envs(tree: ast.Module, data: bytes) -> dict[Key, Env | None]:
    """For each site (kind, byte offset of its name): the names bound when its annotation would be
    evaluated, or None when it would not be (a local variable, or the whole module under
    `from __future__ import annotations`)."""
    w = _walk(tree, data)
    if future_annotations(tree):
        return dict.fromkeys(w.envs)
    return w.envs


def annotation_roots(expr: ast.expr) -> set[str]:
    """The root names an annotation evaluates (quoted parts are strings: not evaluated)."""
    out: set[str] = set()
    for n in ast.walk(expr):
        if isinstance(n, ast.Name):
            out.add(n.id)
    return out


def unbound_annotation_names(tree: ast.Module, data: bytes) -> list[tuple[int, str]]:
    """(line, name) for each name an evaluated annotation uses before it is bound."""
    if future_annotations(tree):
        return []
    w = _walk(tree, data)
    return sorted(
        (expr.lineno, name)
        for expr, env in w.annotations
        for name in annotation_roots(expr)
        if name not in env
    )
