"""Write annotations into Python source with libcst, keyed by position.

    annotate_python(source, edits, target=DEFAULT_PYTHON_TARGET) -> (new_source, applied edits)

Each `Edit` names a site by kind and the byte offset of its name (what the slices carry), the
type to write and the imports it needs.  A position-keyed codemod (ByteSpanPositionProvider)
applies them: parameters and returns in place, `x = v` becomes `x: T = v`, `self.x = v`
becomes `self.x: T = v`.  Only the pieces of the module that hold edits are parsed and walked
(a function's header, an assignment, a function or a statement: typeinf.annotate.units), and new
imports are added to the module's head alone; the result is the same as over the whole module,
which is the fallback.  Existing annotations are never touched.  Imports go through
libcst's AddImportsVisitor; project types are imported under `if TYPE_CHECKING:` and quoted
(unless the module has `from __future__ import annotations`), so no run-time import (and no
import cycle) is added.  The written syntax suits the target Python: `Optional[X]` /
`List[X]` from `typing` below 3.10 / 3.9.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import ByteSpanPositionProvider, MetadataWrapper

from ..lang import DEFAULT_PYTHON_TARGET
from .bound import BUILTINS, Env, Key, annotation_roots, evaluation_envs, future_annotations
from .check import too_deep
from .edits import Edit, NotParsable
from .units import Lines, import_prefix, parse_tree, units_for

RUNTIME_CLASS_DECORATORS = re.compile(
    r"(^|\.)(dataclass|dataclasses\.dataclass|define|frozen|mutable|attrs|s|attributes|"
    r"dataclass_transform|model|table|entity|pydantic_dataclass)\b"
)
RUNTIME_BASES = re.compile(
    r"(^|\.)(BaseModel|RootModel|BaseSettings|NamedTuple|TypedDict|Enum|IntEnum|StrEnum|Flag|IntFlag|"
    r"Struct|SQLModel|Model|Schema|DeclarativeBase|Base|Document|Protocol)\b"
)
RUNTIME_FUNCTION_DECORATORS = re.compile(
    r"(^|\.)(get|post|put|patch|delete|head|options|trace|route|websocket|api_route|command|callback|"
    r"group|validate_call|validate_arguments|register|singledispatch|singledispatchmethod|task|tool|"
    r"field_validator|validator|root_validator|model_validator|computed_field|on_event|middleware|"
    r"exception_handler|dependency|fixture|hookimpl|overload)\b"
)
_BUILTIN_GENERICS = {
    "list": "List",
    "dict": "Dict",
    "set": "Set",
    "frozenset": "FrozenSet",
    "tuple": "Tuple",
    "type": "Type",
}


@dataclass
class _State:
    edits: dict[tuple[str, int], Edit]
    applied: list[Edit] = field(default_factory=list)
    runtime_skipped: list[Edit] = field(default_factory=list)


def for_target(type_text: str, target: tuple[int, int]) -> tuple[str, set[str]]:
    """The type spelled for the target Python, and the `typing` names that spelling needs."""
    needed: set[str] = set()
    try:
        tree = ast.parse(type_text, mode="eval").body
    except SyntaxError:
        return type_text, needed

    def render(n: ast.expr) -> str:
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) and target < (3, 10):
            members = _union_members(n)
            if len(members) == 2 and any(_is_none(m) for m in members):
                needed.add("Optional")
                other = next(m for m in members if not _is_none(m))
                return f"Optional[{render(other)}]"
            needed.add("Union")
            return "Union[" + ", ".join(render(m) for m in members) + "]"
        if isinstance(n, ast.Subscript):
            head = ast.unparse(n.value)
            if target < (3, 9) and head in _BUILTIN_GENERICS:
                head = _BUILTIN_GENERICS[head]
                needed.add(head)
            sl = n.slice
            items = sl.elts if isinstance(sl, ast.Tuple) else [sl]
            return f"{head}[{', '.join(render(i) for i in items)}]"
        if isinstance(n, ast.List):
            return "[" + ", ".join(render(i) for i in n.elts) + "]"
        return ast.unparse(n)

    return render(tree), needed


def _union_members(n: ast.expr) -> list[ast.expr]:
    if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
        return _union_members(n.left) + _union_members(n.right)
    return [n]


def _is_none(n: ast.expr) -> bool:
    return isinstance(n, ast.Constant) and n.value is None


def _quoted(type_text: str) -> str:
    return '"' + type_text.replace('"', "'") + '"'


def _needs_quotes(type_text: str, key: Key, added: set[str], envs: dict[Key, Env | None] | None) -> bool:
    """Whether the annotation uses a name that is not bound where Python evaluates it (a type
    imported only for type checking or only in a function, a class defined further down or being
    defined): quoted, it is not evaluated.  `added`: names this run imports at run time."""
    try:
        roots = annotation_roots(ast.parse(type_text, mode="eval").body)
    except SyntaxError:
        return False
    env: Env | None = BUILTINS  # a site the analysis did not see: only builtins are certain
    if envs is not None and key in envs:
        env = envs[key]
    if env is None:  # not evaluated at run time
        return False
    return any(r not in env and r not in added for r in roots)


def _decorator_names(decorators: Sequence[cst.Decorator]) -> list[str]:
    out = []
    for d in decorators:
        expr = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
        out.append(cst.Module([]).code_for_node(expr))
    return out


class _Annotate(cst.CSTTransformer):
    """Applies the edits; skips sites whose annotations are read at run time (unless aggressive):
    fields of dataclass-like classes, parameters and returns of functions whose decorators read
    annotations (web routes, CLI commands, validators, singledispatch ...)."""

    METADATA_DEPENDENCIES = (ByteSpanPositionProvider,)

    def __init__(self, state: _State, aggressive: bool = False) -> None:
        super().__init__()
        self.state = state
        self.aggressive = aggressive
        self.stack: list[tuple[str, bool]] = []  # ("class" | "def", annotations read at run time)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        deco = any(RUNTIME_CLASS_DECORATORS.search(n) for n in _decorator_names(node.decorators))
        bases = any(RUNTIME_BASES.search(cst.Module([]).code_for_node(a.value)) for a in node.bases)
        meta = any(a.keyword is not None for a in node.keywords)
        self.stack.append(("class", deco or bases or meta))

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self.stack.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.append(
            ("def", any(RUNTIME_FUNCTION_DECORATORS.search(n) for n in _decorator_names(node.decorators)))
        )

    def _sensitive(self, kind: str) -> bool:
        if self.aggressive or not self.stack:
            return False
        where, flag = self.stack[-1]
        if kind == "var":
            return where == "class" and flag  # a class-body field; locals never matter
        return where == "def" and flag

    def _find(self, kind: str, node: cst.CSTNode) -> Edit | None:
        span = self.get_metadata(ByteSpanPositionProvider, node, None)
        if span is None:
            return None
        edit = self.state.edits.get((kind, span.start))
        if edit is not None and self._sensitive(kind):
            self.state.runtime_skipped.append(edit)
            return None
        return edit

    def _annotation(self, edit: Edit) -> cst.Annotation:
        self.state.applied.append(edit)
        return cst.Annotation(cst.parse_expression(edit.type))

    def leave_Param(self, original_node: cst.Param, updated_node: cst.Param) -> cst.Param:
        if updated_node.annotation is not None:
            return updated_node
        edit = self._find("param", original_node.name)
        if edit is None:
            return updated_node
        changes: dict[str, object] = {"annotation": self._annotation(edit)}
        if updated_node.default is not None:
            changes["equal"] = cst.AssignEqual()  # `x: T = v`, as PEP 8 spells annotated defaults
        return updated_node.with_changes(**changes)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if updated_node.returns is not None:
            self.stack.pop()
            return updated_node
        edit = self._find("return", original_node.name)
        self.stack.pop()
        return updated_node if edit is None else updated_node.with_changes(returns=self._annotation(edit))

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.BaseSmallStatement:
        if len(original_node.targets) != 1:
            return updated_node
        target = original_node.targets[0].target
        if not isinstance(target, (cst.Name, cst.Attribute)):
            return updated_node
        edit = self._find("var", target)
        if edit is None:
            return updated_node
        return cst.AnnAssign(
            target=updated_node.targets[0].target, annotation=self._annotation(edit), value=updated_node.value
        )


def _has_future_annotations(module: cst.Module) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for s in stmt.body:
                if (
                    isinstance(s, cst.ImportFrom)
                    and isinstance(s.module, cst.Name)
                    and s.module.value == "__future__"
                ):
                    names = s.names
                    if isinstance(names, cst.ImportStar):
                        continue
                    if any(isinstance(a.name, cst.Name) and a.name.value == "annotations" for a in names):
                        return True
    return False


def _type_checking_block(module: cst.Module, imports: set[tuple[str, str]]) -> cst.Module:
    """Add `from m import X` lines under `if TYPE_CHECKING:` (created after the imports)."""
    lines = [cst.parse_statement(f"from {m} import {n}") for m, n in sorted(imports)]
    body = list(module.body)
    for i, stmt in enumerate(body):
        if (
            isinstance(stmt, cst.If)
            and isinstance(stmt.test, cst.Name)
            and stmt.test.value == "TYPE_CHECKING"
        ):
            block = stmt.body
            if isinstance(block, cst.IndentedBlock):
                body[i] = stmt.with_changes(body=block.with_changes(body=[*block.body, *lines]))
                return module.with_changes(body=body)
    last_import = -1
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
        ):
            last_import = i
        elif i == 0 and isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Expr):
            continue  # docstring
        elif last_import >= 0:
            break
    guard = cst.If(
        test=cst.Name("TYPE_CHECKING"), body=cst.IndentedBlock(body=lines), leading_lines=[cst.EmptyLine()]
    )
    body.insert(last_import + 1, guard)
    return module.with_changes(body=body)


def _spell(
    edits: list[Edit], future: bool, target: tuple[int, int], envs: dict[Key, Env | None] | None
) -> tuple[list[Edit], set[str]]:
    """The edits with their types spelled for the target Python (quoted where a name would not be
    bound at run time), and the `typing` names needed."""
    spelled = []
    typing_needed: set[str] = set()
    for e in edits:
        text, needed = for_target(e.type, (3, 14) if future else target)
        typing_needed |= needed
        if not future and _needs_quotes(text, (e.kind, e.start), needed | {n for _, n in e.imports}, envs):
            text = _quoted(text)
        spelled.append(replace(e, type=text))
    return spelled, typing_needed


def _imports_wanted(
    used: list[Edit], typing_needed: set[str]
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(run-time imports, TYPE_CHECKING imports) that the applied edits need."""
    wanted = {imp for e in used for imp in e.imports}
    wanted |= {("typing", n) for e in used for n in typing_needed if re.search(rf"(?<![\w.]){n}\[", e.type)}
    return wanted, {imp for e in used for imp in e.type_only_imports}


def annotate_python(
    source: str, edits: list[Edit], target: tuple[int, int] = DEFAULT_PYTHON_TARGET, aggressive: bool = False
) -> tuple[str, list[Edit], list[Edit]]:
    """Apply the edits; returns the new source, the edits applied and those skipped because the
    annotation would be read at run time.  Only the functions and statements holding edits go
    through libcst (typeinf.annotate.units); imports are added to the module's head alone."""
    if not edits:
        return source, [], []
    tree, envs = analysed(source)
    if tree is not None:
        done = _annotate_units(source, tree, envs, edits, target, aggressive)
        if done is not None:
            return done
    return _annotate_module(source, envs, edits, target, aggressive)


def analysed(source: str) -> tuple[ast.Module | None, dict[Key, Env | None] | None]:
    """The module's `ast` and where each site's annotation is evaluated (None, None: the running
    Python cannot parse it); NotParsable when it is nested too deep for libcst to parse."""
    tree = parse_tree(source)
    if tree is None:
        depth = too_deep(source)
        if depth is not None:
            raise NotParsable(f"nested {depth} levels deep, too deep to edit safely; nothing written")
        return None, None
    return tree, evaluation_envs(tree, source.encode("utf-8"))


def _annotate_units(
    source: str,
    tree: ast.Module,
    envs: dict[Key, Env | None] | None,
    edits: list[Edit],
    target: tuple[int, int],
    aggressive: bool,
) -> tuple[str, list[Edit], list[Edit]] | None:
    """The edits applied unit by unit; None when the whole module must be edited instead (a unit
    cannot be cut out exactly, or the edits need an import the module does not have)."""
    future = future_annotations(tree)
    spelled, typing_needed = _spell(edits, future, target, envs)
    lines = Lines(source)
    units = units_for(lines, tree, [(e.start, e.kind) for e in spelled])
    if units is None:
        return None
    applied: list[Edit] = []
    runtime: list[Edit] = []
    out: list[str] = []
    at = 0  # next line of the module to copy
    for u in units:
        mine = [e for e in spelled if u.first <= lines.line_of(e.start) < u.end]
        local = [
            Edit(e.kind, lines.local_offset(u, e.start), e.type, e.imports, e.type_only_imports) for e in mine
        ]
        back = {id(le): e for le, e in zip(local, mine, strict=True)}
        state = _State({(le.kind, le.start): le for le in local})
        try:
            module = cst.parse_module(u.code)
        except cst.ParserSyntaxError:
            return None
        new = MetadataWrapper(module, unsafe_skip_copy=True).visit(_Annotate(state, aggressive))
        applied += [back[id(le)] for le in state.applied]
        runtime += [back[id(le)] for le in state.runtime_skipped]
        out.extend(lines.lines[at : u.first])
        if state.applied:
            text = u.put_back(new.code)
            if text is None:
                return None
            out.append(text)
        else:
            out.extend(lines.lines[u.first : u.end])
        at = u.end
    out.extend(lines.lines[at:])
    if not applied:
        return source, [], runtime
    done = {id(e) for e in applied}
    applied = [e for e in spelled if id(e) in done]  # in the order given, as _annotate_module has them
    wanted, needed_tc = _imports_wanted(applied, typing_needed)
    missing = wanted - _module_level_imports_ast(tree)
    if not missing and not needed_tc:
        return "".join(out), applied, runtime
    cut = import_prefix(lines, tree)
    if cut is None:
        return None
    end, indent = cut
    edited = Lines("".join(out)).lines  # as many lines as the source
    try:
        head = cst.parse_module("".join(edited[:end]))
    except cst.ParserSyntaxError:
        return None
    if indent is not None:  # the whole module's indentation (the head may have no indented line)
        head = head.with_changes(default_indent=indent)
    return _add_imports(head, missing, needed_tc).code + "".join(edited[end:]), applied, runtime


def _annotate_module(
    source: str,
    envs: dict[Key, Env | None] | None,
    edits: list[Edit],
    target: tuple[int, int],
    aggressive: bool,
) -> tuple[str, list[Edit], list[Edit]]:
    """The edits applied over the whole module with libcst, imports added where needed."""
    module = cst.parse_module(source)
    future = _has_future_annotations(module)
    spelled, typing_needed = _spell(edits, future, target, envs)
    state = _State({(e.kind, e.start): e for e in spelled})
    new = MetadataWrapper(module, unsafe_skip_copy=True).visit(_Annotate(state, aggressive))
    if not state.applied:
        return source, [], state.runtime_skipped
    applied_keys = {(e.kind, e.start) for e in state.applied}
    used = [e for e in spelled if (e.kind, e.start) in applied_keys]
    wanted, needed_tc = _imports_wanted(used, typing_needed)
    missing = wanted - _module_level_imports(new)
    if not missing and not needed_tc:  # the common case: spare libcst's two whole-module passes
        return new.code, used, state.runtime_skipped
    return _add_imports(new, missing, needed_tc).code, used, state.runtime_skipped


def _add_imports(
    module: cst.Module, missing: set[tuple[str, str]], needed_tc: set[tuple[str, str]]
) -> cst.Module:
    """The run-time imports (AddImportsVisitor) and the TYPE_CHECKING ones added to the module."""
    # imported here: libcst.codemod (with libcst.matchers) takes ~0.3 s to import, and most
    # annotated files need no new import
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    for m, n in sorted(missing):
        AddImportsVisitor.add_needed_import(context, m, n)
    new = module
    if needed_tc:
        AddImportsVisitor.add_needed_import(context, "typing", "TYPE_CHECKING")
        new = _type_checking_block(new, needed_tc)
    new = AddImportsVisitor(context).transform_module(new)
    return _separate_new_imports(module, new)


def _module_level_imports_ast(tree: ast.Module) -> set[tuple[str, str]]:
    """As `_module_level_imports`, from the module's `ast`."""
    return {
        ("." * s.level + (s.module or ""), a.name)
        for s in tree.body
        if isinstance(s, ast.ImportFrom)
        for a in s.names
        if a.asname is None and a.name != "*"
    }


def _module_level_imports(module: cst.Module) -> set[tuple[str, str]]:
    """`(module, name)` of the unconditional top-level `from m import name` statements (no alias,
    no star): names certainly bound at run time, so AddImportsVisitor need not be asked for them."""
    out: set[tuple[str, str]] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for s in stmt.body:
            if not isinstance(s, cst.ImportFrom) or isinstance(s.names, cst.ImportStar):
                continue
            base = get_full_name_for_node(s.module) if s.module is not None else ""
            mod = "." * len(s.relative) + (base or "")
            for a in s.names:
                if a.asname is None and isinstance(a.name, cst.Name):
                    out.add((mod, a.name.value))
    return out


def _is_import_block(stmt: cst.CSTNode) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine):
        return all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)
    return isinstance(stmt, cst.If) and isinstance(stmt.test, cst.Name) and stmt.test.value == "TYPE_CHECKING"


def _separate_new_imports(before: cst.Module, after: cst.Module) -> cst.Module:
    """Imports added right above code that had none (a file starting with `def`) are followed by
    blank lines as PEP 8 has them: two before a def or class, one before other code."""
    old = {before.code_for_node(stmt) for stmt in before.body}
    body = list(after.body)
    for i in range(1, len(body)):
        prev, stmt = body[i - 1], body[i]
        if not _is_import_block(prev) or after.code_for_node(prev) in old or _is_import_block(stmt):
            continue
        if isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            n = 2 if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) else 1
            blank = sum(1 for ln in stmt.leading_lines if ln.comment is None)
            if blank < n and all(ln.comment is None for ln in stmt.leading_lines):
                body[i] = stmt.with_changes(leading_lines=[cst.EmptyLine()] * n)
        break
    return after.with_changes(body=body)
