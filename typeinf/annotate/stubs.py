"""`typeinf annotate --stubs DIR`: write `.pyi` stubs of the annotated module instead of editing it.

A stub keeps imports, classes, function signatures (bodies become `...`), and module- and
class-level variables as `name: T` (a value only where no type is known: `name = ...`).
"""

from __future__ import annotations

import libcst as cst


class _Stub(cst.CSTTransformer):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # functions entered

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.depth += 1
        return False  # the body is dropped anyway

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.depth -= 1
        body = cst.SimpleStatementSuite([cst.Expr(cst.Ellipsis())])
        return updated_node.with_changes(body=body)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine,
                                  updated_node: cst.SimpleStatementLine) -> cst.SimpleStatementLine | cst.RemovalSentinel:  # fmt: skip
        kept: list[cst.BaseSmallStatement] = []
        for stmt in updated_node.body:
            if isinstance(stmt, (cst.Import, cst.ImportFrom)):
                kept.append(stmt)
            elif isinstance(stmt, cst.AnnAssign):
                kept.append(stmt.with_changes(value=None, equal=cst.MaybeSentinel.DEFAULT))
            elif isinstance(stmt, cst.Assign) and all(isinstance(t.target, cst.Name) for t in stmt.targets):
                name = stmt.targets[0].target
                assert isinstance(name, cst.Name)
                if name.value == "__all__":
                    kept.append(stmt)
                else:
                    kept.append(cst.Assign(targets=[cst.AssignTarget(name)], value=cst.Ellipsis()))
        if not kept:
            return cst.RemoveFromParent()
        return updated_node.with_changes(body=kept)

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:  # fmt: skip
        # keep `if TYPE_CHECKING:` imports as plain imports; drop other conditional code
        if isinstance(original_node.test, cst.Name) and original_node.test.value == "TYPE_CHECKING":
            body = updated_node.body
            if isinstance(body, cst.IndentedBlock) and body.body:
                return cst.FlattenSentinel(list(body.body))
        return cst.RemoveFromParent()

    def _drop(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.RemovalSentinel:
        return cst.RemoveFromParent()

    leave_For = leave_While = leave_Try = leave_With = leave_Match = _drop  # type: ignore[assignment]


def python_stub(annotated_source: str) -> str:
    """The `.pyi` text of an (annotated) module."""
    module = cst.parse_module(annotated_source)
    stub = module.visit(_Stub())
    return stub.code
