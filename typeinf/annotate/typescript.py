"""Write annotations into TypeScript / TSX source by byte-exact insertion.

    annotate_typescript(data, language, edits) -> (new_bytes, applied edits)

Only the bytes of `: T` (and, for a lone arrow parameter, the parentheses around it) are
inserted; everything else stays byte for byte.  Parameters get the type after the name (after
`?` when optional, before a default), returns after the parameter list (`Promise<T>` for async
functions), variables and class fields after their name.  A destructured parameter gets one
type for the whole pattern.  Types from other modules come with `import type { X } from '...'`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from ..lang import ts_async_return
from ..slices.source import parse
from ..slices.typescript import FUNC_TYPES
from .edits import Edit


@dataclass(frozen=True)
class _Insert:
    at: int
    text: bytes
    seq: int = 1  # order of insertions at the same offset: ( 0, param type 1, ) 2, return type 3


def _node_at(root: Node, start: int) -> Node | None:
    node = root.descendant_for_byte_range(start, start + 1)
    return node


def _param_insert(node: Node, type_text: str) -> list[_Insert] | None:
    p: Node | None = node
    while p is not None and p.type not in ("required_parameter", "optional_parameter", "arrow_function"):
        p = p.parent
    if p is None:
        return None
    if p.type == "arrow_function":
        lone = p.child_by_field_name("parameter")
        if lone is None:
            return None
        return [
            _Insert(lone.start_byte, b"(", 0),
            _Insert(lone.end_byte, f": {type_text}".encode(), 1),
            _Insert(lone.end_byte, b")", 2),
        ]
    if p.child_by_field_name("type") is not None:
        return None
    pattern = p.child_by_field_name("pattern")
    if pattern is None:
        return None
    at = pattern.end_byte
    for c in p.children:
        if c.type == "?" and c.start_byte >= at:
            at = c.end_byte
    return [_Insert(at, f": {type_text}".encode())]


def _function_for_name(node: Node, start: int) -> Node | None:
    """The function whose return site is at `start` (its own name, the name it is bound to, or
    its first character)."""
    n: Node | None = node
    while n is not None:
        if n.type in FUNC_TYPES and n.start_byte == start:
            return n
        if n.type in ("variable_declarator", "public_field_definition", "pair"):
            value = n.child_by_field_name("value")
            if value is not None and value.type in FUNC_TYPES:
                return value
        if n.type in FUNC_TYPES:
            name = n.child_by_field_name("name")
            if name is not None and name.start_byte == start:
                return n
        n = n.parent
    return None


def _return_insert(node: Node, start: int, type_text: str) -> list[_Insert] | None:
    fn = _function_for_name(node, start)
    if fn is None or fn.child_by_field_name("return_type") is not None:
        return None
    params = fn.child_by_field_name("parameters")
    is_async = any(c.type == "async" for c in fn.children)
    if is_async:
        type_text = ts_async_return(type_text)
    if params is None:  # a lone arrow parameter: x => ...
        lone = fn.child_by_field_name("parameter")
        if lone is None:
            return None
        return [
            _Insert(lone.start_byte, b"(", 0),
            _Insert(lone.end_byte, b")", 2),
            _Insert(lone.end_byte, f": {type_text}".encode(), 3),
        ]
    return [_Insert(params.end_byte, f": {type_text}".encode(), 3)]


def _var_insert(node: Node, type_text: str) -> list[_Insert] | None:
    n: Node | None = node
    while n is not None and n.type not in ("variable_declarator", "public_field_definition"):
        n = n.parent
    if n is None or n.child_by_field_name("type") is not None:
        return None
    parent = n.parent
    if parent is not None and parent.parent is not None and parent.parent.type == "for_in_statement":
        return None  # no annotation allowed on for...of / for...in bindings
    name = n.child_by_field_name("name")
    if name is None:
        return None
    at = name.end_byte
    for c in n.children:
        if c.type in ("?", "!") and c.start_byte >= at:
            at = c.end_byte
    return [_Insert(at, f": {type_text}".encode())]


def _relative(from_file: str, module: str) -> str:
    """An import specifier from `from_file` (project-relative, posix) to `module` (no extension)."""
    src = from_file.split("/")[:-1]
    dst = module.split("/")
    i = 0
    while i < len(src) and i < len(dst) - 1 and src[i] == dst[i]:
        i += 1
    up = len(src) - i
    rel = "/".join([".."] * up + dst[i:])
    return rel if rel.startswith("..") else "./" + rel


def _import_insert(root: Node, data: bytes, imports: dict[str, set[str]]) -> list[_Insert]:
    at = 0
    for c in root.children:
        if c.type == "import_statement":
            at = c.end_byte
        elif c.type not in ("comment",) and at:
            break
    lines = "".join(
        f"import type {{ {', '.join(sorted(names))} }} from '{spec}';\n"
        for spec, names in sorted(imports.items())
    )
    if at == 0:
        return [_Insert(0, lines.encode())]
    return [_Insert(at, ("\n" + lines.rstrip("\n")).encode())]


def annotate_typescript(
    data: bytes, language: str, edits: list[Edit], file: str = ""
) -> tuple[bytes, list[Edit]]:
    """Insert the annotations; returns the new bytes and the edits applied.  `file` is the
    project-relative path, used to spell imports of project types."""
    tree = parse(data, language)
    root = tree.root_node
    inserts: list[_Insert] = []
    applied: list[Edit] = []
    imports: dict[str, set[str]] = {}
    for e in edits:
        node = _node_at(root, e.start)
        if node is None:
            continue
        if e.kind == "param":
            ins = _param_insert(node, e.type)
        elif e.kind == "return":
            ins = _return_insert(node, e.start, e.type)
        else:
            ins = _var_insert(node, e.type)
        if not ins:
            continue
        inserts.extend(ins)
        applied.append(e)
        for module, name in (*e.imports, *e.type_only_imports):
            imports.setdefault(_relative(file, module) if file else module, set()).add(name)
    if not applied:
        return data, []
    if imports:
        inserts.extend(_import_insert(root, data, imports))
    out = bytearray(data)
    # the parentheses of a lone arrow parameter are inserted once, whichever edits asked for them
    for one in sorted(set(inserts), key=lambda i: (i.at, i.seq), reverse=True):
        out[one.at : one.at] = one.text
    return bytes(out), applied
