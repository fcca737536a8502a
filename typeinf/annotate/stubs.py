"""`typeinf annotate --stubs DIR`: write `.pyi` stubs of the annotated module instead of editing it.

A stub keeps what a checker reading it needs, as `mypy.stubgen` does:
  - imports, as explicit re-exports (`from m import X as X`: a name a module imports is one of its
    attributes at run time; in a stub only the `as X` form, or `__all__`, exports it), those under
    `if TYPE_CHECKING:`, `try:` and other conditional blocks included (their first branch);
  - classes (bases, decorators, nested classes) and function signatures, bodies and default values
    becoming `...`;
  - module- and class-level variables as `name: T`: the written annotation, the type of a literal
    (`__version__ = "1.0"` -> `__version__: str`), else `Incomplete` (from `_typeshed`), never
    `name = ...` (which a checker reads as `EllipsisType`);
  - type aliases and type-variable definitions as they are (`T = TypeVar("T")`,
    `Pair = tuple[int, int]`, `Alias = SomeClass`), and `__all__`;
  - `namedtuple("Row", "a b")` / `NamedTuple("Row", [("a", int)])` as classes deriving NamedTuple.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

_TYPE_FACTORIES = {"TypeVar", "ParamSpec", "TypeVarTuple", "NewType", "TypedDict", "TypeAliasType"}
_LITERAL_TYPES = (
    (cst.Integer, "int"),
    (cst.Float, "float"),
    (cst.Imaginary, "complex"),
)


def _literal_type(value: cst.BaseExpression) -> str | None:
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return "bool"
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, (cst.Minus, cst.Plus)):
        return _literal_type(value.expression)
    for node_type, name in _LITERAL_TYPES:
        if isinstance(value, node_type):
            return name
    if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        prefix = ""
        if isinstance(value, cst.SimpleString):
            prefix = value.prefix.lower()
        elif isinstance(value, cst.ConcatenatedString) and isinstance(value.left, cst.SimpleString):
            prefix = value.left.prefix.lower()
        return "bytes" if "b" in prefix else "str"
    return None


def _is_type_expression(value: cst.BaseExpression) -> bool:
    """A value that reads as a type: a (dotted) name, a subscripted one, a `|` of those."""
    if isinstance(value, (cst.Name, cst.Attribute)):
        return not (isinstance(value, cst.Name) and value.value in ("True", "False", "None"))
    if isinstance(value, cst.Subscript):
        return isinstance(value.value, (cst.Name, cst.Attribute))
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.BitOr):
        return _is_type_expression(value.left) and _is_type_expression(value.right)
    return False


def _call_name(value: cst.BaseExpression) -> str | None:
    if isinstance(value, cst.Call):
        name = get_full_name_for_node(value.func)
        return name.rsplit(".", 1)[-1] if name else None
    return None


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _namedtuple_fields(call: cst.Call) -> list[tuple[str, str]] | None:
    """(field, type) of a `namedtuple(...)` / `NamedTuple(...)` call with literal fields."""
    if len(call.args) < 2:
        return None
    spec = call.args[1].value
    out: list[tuple[str, str]] = []
    text = _string(spec)
    if text is not None:
        return [(f, "Incomplete") for f in re.split(r"[,\s]+", text.strip()) if f]
    if not isinstance(spec, (cst.List, cst.Tuple)):
        return None
    for el in spec.elements:
        v = el.value
        name = _string(v)
        if name is not None:
            out.append((name, "Incomplete"))
        elif isinstance(v, cst.Tuple) and len(v.elements) == 2 and _string(v.elements[0].value) is not None:
            out.append(
                (_string(v.elements[0].value) or "", cst.Module([]).code_for_node(v.elements[1].value))
            )
        else:
            return None
    return out


class _Stub(cst.CSTTransformer):
    def __init__(self) -> None:
        super().__init__()
        self.needs: set[tuple[str, str]] = set()  # (module, name) the stub itself must import
        self.elifs: set[int] = set()  # ids of `elif` nodes: dropped with the rest of their `if`

    def visit_If(self, node: cst.If) -> bool:
        if isinstance(node.orelse, cst.If):
            self.elifs.add(id(node.orelse))
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # the body becomes `...`; the parameters are rewritten on the way out

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        p = updated_node.params

        def bare(params: Sequence[cst.Param]) -> list[cst.Param]:
            return [x if x.default is None else x.with_changes(default=cst.Ellipsis()) for x in params]

        params = p.with_changes(
            params=bare(p.params), posonly_params=bare(p.posonly_params), kwonly_params=bare(p.kwonly_params)
        )
        body = cst.SimpleStatementSuite([cst.Expr(cst.Ellipsis())])
        return updated_node.with_changes(params=params, body=body)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        body = updated_node.body
        if isinstance(body, cst.IndentedBlock) and not body.body:
            return updated_node.with_changes(body=cst.SimpleStatementSuite([cst.Expr(cst.Ellipsis())]))
        return updated_node

    def _variable(self, target: cst.Name, value: cst.BaseExpression) -> cst.BaseSmallStatement | cst.ClassDef:
        name = target.value
        called = _call_name(value)
        if name == "__all__" or called in _TYPE_FACTORIES or (called is None and _is_type_expression(value)):
            return cst.Assign(targets=[cst.AssignTarget(target)], value=value)
        if called in ("namedtuple", "NamedTuple") and isinstance(value, cst.Call):
            fields = _namedtuple_fields(value)
            if fields is not None:
                self.needs.add(("typing", "NamedTuple"))
                if any(t == "Incomplete" for _, t in fields):
                    self.needs.add(("_typeshed", "Incomplete"))
                lines: list[cst.BaseStatement] = [
                    cst.parse_statement(f"{f}: {t}") for f, t in fields if f.isidentifier()
                ]
                if not lines:
                    lines = [cst.SimpleStatementLine([cst.Expr(cst.Ellipsis())])]
                return cst.ClassDef(
                    name=target, body=cst.IndentedBlock(lines), bases=[cst.Arg(cst.Name("NamedTuple"))]
                )
        typ = _literal_type(value)
        if typ is None:
            typ = "Incomplete"
            self.needs.add(("_typeshed", "Incomplete"))
        return cst.AnnAssign(target=target, annotation=cst.Annotation(cst.Name(typ)), value=None)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        kept: list[cst.BaseSmallStatement] = []
        classes: list[cst.BaseStatement] = []
        for stmt in updated_node.body:
            if isinstance(stmt, cst.ImportFrom):
                imported, aliases = _reexported(stmt)
                kept.append(imported)
                kept += aliases
            elif isinstance(stmt, cst.Import):
                kept.append(stmt)
            elif isinstance(stmt, cst.AnnAssign):
                kept.append(stmt.with_changes(value=None, equal=cst.MaybeSentinel.DEFAULT))
            elif isinstance(stmt, cst.Assign):
                for t in stmt.targets:
                    if isinstance(t.target, cst.Name):
                        got = self._variable(t.target, stmt.value)
                        if isinstance(got, cst.ClassDef):
                            classes.append(got)
                        else:
                            kept.append(got)
            elif type(stmt).__name__ == "TypeAlias":  # `type X = ...` (PEP 695)
                kept.append(stmt)
        out: list[cst.BaseStatement] = []
        if kept:
            out.append(updated_node.with_changes(body=kept))
        out += classes
        if not out:
            return cst.RemoveFromParent()
        return cst.FlattenSentinel(out) if len(out) > 1 else out[0]

    def leave_If(
        self, original_node: cst.If, updated_node: cst.If
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        # `if __name__ == "__main__":` runs nothing a checker needs; other conditional code keeps
        # its first branch (TYPE_CHECKING imports, version-dependent definitions)
        if id(original_node) in self.elifs:
            return cst.RemoveFromParent()  # an `elif`: only the first branch is kept
        test = cst.Module([]).code_for_node(original_node.test)
        if "__name__" in test and "__main__" in test:
            return cst.RemoveFromParent()
        return _flatten(updated_node.body)

    def leave_Try(
        self, original_node: cst.Try, updated_node: cst.Try
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        return _flatten(updated_node.body)

    def leave_With(
        self, original_node: cst.With, updated_node: cst.With
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        return _flatten(updated_node.body)

    def _drop(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.RemovalSentinel:
        return cst.RemoveFromParent()

    leave_For = leave_While = leave_Match = _drop  # type: ignore[assignment]


def _flatten(block: cst.BaseSuite) -> cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
    if isinstance(block, cst.IndentedBlock) and block.body:
        return cst.FlattenSentinel(list(block.body))
    return cst.RemoveFromParent()


def _reexported(stmt: cst.ImportFrom) -> tuple[cst.ImportFrom, list[cst.BaseSmallStatement]]:
    """`from m import X` as `from m import X as X` (an explicit re-export in a stub); a renaming
    `from m import X as Y` as `from m import X as _typeinf_Y` and `Y = _typeinf_Y` (a stub exports
    an assigned name, not a renamed import)."""
    if isinstance(stmt.names, cst.ImportStar) or (
        stmt.module is not None and get_full_name_for_node(stmt.module) == "__future__"
    ):
        return stmt, []
    names = []
    aliases: list[cst.BaseSmallStatement] = []
    for a in stmt.names:
        if not isinstance(a.name, cst.Name):
            names.append(a)
        elif a.asname is None:
            names.append(a.with_changes(asname=cst.AsName(name=cst.Name(a.name.value))))
        else:
            target = a.asname.name
            if isinstance(target, cst.Name) and target.value != a.name.value:
                hidden = f"_typeinf_{target.value}"
                names.append(a.with_changes(asname=cst.AsName(name=cst.Name(hidden))))
                aliases.append(
                    cst.Assign(targets=[cst.AssignTarget(cst.Name(target.value))], value=cst.Name(hidden))
                )
            else:
                names.append(a)
    return stmt.with_changes(names=names), aliases


def _is_future_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, cst.ImportFrom)
        and s.module is not None
        and get_full_name_for_node(s.module) == "__future__"
        for s in stmt.body
    )


def python_stub(annotated_source: str) -> str:
    """The `.pyi` text of an (annotated) module."""
    module = cst.parse_module(annotated_source)
    visitor = _Stub()
    stub = module.visit(visitor)
    if visitor.needs:
        lines = [cst.parse_statement(f"from {m} import {n}") for m, n in sorted(visitor.needs)]
        body = list(stub.body)
        at = 0
        while at < len(body) and _is_future_import(body[at]):
            at += 1
        stub = stub.with_changes(body=[*body[:at], *lines, *body[at:]])
    return stub.code
