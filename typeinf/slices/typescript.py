"""TypeScript / TSX usage slices: one `Slice` per parameter, return and variable.

Approach (tree-sitter only, no recursion, two passes over one parse tree):

1. **Walk.**  An explicit-stack pre-order walk carries a small context (`_Ctx`): the lexical
   scope, the nearest function-like scope (for `var`), the qualname, the enclosing function
   and class, the node that bounds the window and the type parameters in scope.  Handlers
   for functions, classes, namespaces, declarators, class fields, for-in/of loops, catch
   clauses and imports create the sites (`Site`), declare the names they bind in a scope
   (`Binding`) and register every annotation with the `Source`, so that nothing rendered
   afterwards can contain annotation text.  Everything else is walked generically; each
   `identifier` in expression position is recorded as a reference with its scope, each
   `this.x` inside a class as a reference to member `x`.  Types (annotations, type
   arguments, interfaces, type aliases, bodyless signatures, `declare` blocks) are never
   walked for references.  Site positions, names and qualnames follow the evaluation
   harness (`strip_restore_ts.py`) exactly.
2. **Evidence.**  References are resolved through the scope chain (`scopes.resolve`: a
   nested scope that rebinds the name hides its references), then the shared assembler
   (`assemble.py`) builds each slice and asks `_EvidenceBuilder` to classify each use by its
   syntactic parent (method call, attribute read/write, argument, JSX prop, operator, type
   check, subscript, iteration, call, await, return) into the shared `EvidenceBuilder`, which
   de-duplicates and caps like the Python slicer.  A return site also gets the uses of the
   function's call results (`await f()`, `f().then(...)`, `this.m().x`).  Signatures,
   windows and expression texts are rendered with the annotations removed.

Hidden annotations: every `: T` annotation outside type-level code -- the labels of the
sites, and also those of `this` parameters, catch clauses, overload / abstract / `declare`
signatures and `declare` fields.  Interfaces, type aliases, object and function types,
casts, `satisfies` and type arguments in expressions are code and stay visible.

Definition categories: literal, call, new, name, attribute, subscript, collection, lambda,
await, template, binary, conditional, other; `iteration` / `keys` for `for (.. of xs)` /
`for (.. in o)` targets (the text is the loop's right-hand side); `unpack` for names bound
by destructuring, whose text is the initialiser plus the access path (`(await load()).data`,
`pair[0]`).  Empty `return;` / `yield;` appear as `Expr("", "bare")`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..lang import TS_SCOPE_BUILTINS
from . import vocabulary as vocab
from .assemble import assemble
from .data import Expr, ScopeName, Slice, clip
from .evidence import EvidenceBuilder
from .recover import extract_recovering
from .scopes import Binding, Function, Scope, Site, resolve, unlink
from .source import Diagnostic, Parents, Source, has_break, parse

if TYPE_CHECKING:
    from collections.abc import Callable

    from tree_sitter import Node

    _Derive = Callable[[str], tuple[str, str]]

FUNC_TYPES = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "generator_function",
        "arrow_function",
        "method_definition",
        "function",
    }
)
CLASS_TYPES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
NAMESPACE_TYPES = frozenset({"internal_module", "module"})
PARAM_TYPES = frozenset({"required_parameter", "optional_parameter"})
ANNOTATION_TYPES = frozenset({"type_annotation", "asserts_annotation", "type_predicate_annotation"})
# Bodyless or ambient declarations: no sites, but their annotations are hidden from evidence.
SIGNATURE_TYPES = frozenset(
    {
        "function_signature",
        "method_signature",
        "abstract_method_signature",
        "index_signature",
        "ambient_declaration",
    }
)
# Type-level code (kept visible) and leaves without references: never walked.
OPAQUE_TYPES = frozenset(
    {
        "interface_declaration",
        "type_alias_declaration",
        "type_arguments",
        "type_parameters",
        "implements_clause",
        "comment",
        "string",
        "number",
        "regex",
        "property_identifier",
        "private_property_identifier",
        "statement_identifier",
        "type_identifier",
        "predefined_type",
        "this",
        "true",
        "false",
        "null",
        "undefined",
        "jsx_text",
        "hash_bang_line",
        "html_comment",
    }
)
# In the walk for hidden annotations: type bodies whose annotations are code.
TYPE_BODY_TYPES = frozenset({"object_type", "function_type", "constructor_type", "interface_body"})
# Wrappers that do not change what a use of the wrapped expression says.
TRANSPARENT_TYPES = frozenset(
    {
        "parenthesized_expression",
        "non_null_expression",
        "as_expression",
        "satisfies_expression",
        "type_assertion",
    }
)
LITERAL_KINDS = {
    "number": "number",
    "string": "string",
    "true": "boolean",
    "false": "boolean",
    "null": "null",
    "undefined": "undefined",
    "regex": "regex",
    "array": "array",
    "object": "object",
    "template_string": "template",
}
CATEGORIES = {
    "number": "literal",
    "string": "literal",
    "true": "literal",
    "false": "literal",
    "null": "literal",
    "undefined": "literal",
    "regex": "literal",
    "template_string": "template",
    "call_expression": "call",
    "subscript_expression": "subscript",
    "new_expression": "new",
    "identifier": "name",
    "this": "name",
    "member_expression": "attribute",
    "array": "collection",
    "object": "collection",
    "arrow_function": "lambda",
    "function_expression": "lambda",
    "function": "lambda",
    "generator_function": "lambda",
    "await_expression": "await",
    "binary_expression": "binary",
    "ternary_expression": "conditional",
}
EQUALITY_OPS = frozenset({"===", "==", "!==", "!="})
DECLARATION_KINDS = {
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "interface_declaration": "interface",
    "type_alias_declaration": "alias",
    "enum_declaration": "enum",
}
SHORT_TEXT = 80  # callee / operand / decorator texts


def extract_typescript(data: bytes, language: str, path: str) -> tuple[list[Slice], list[Diagnostic]]:
    """All slices of a TypeScript (`language="typescript"`) or TSX (`"tsx"`) file.

    Pure and tolerant: a buffer with syntax errors yields the slices of the code that
    parses, broken blocks recovered (`recover.py`), plus diagnostics for the broken lines."""
    return extract_recovering(data, language, lambda buf: _Analysis(buf, language, path))


class _Analysis:
    """One buffer walked, its references resolved on demand by `slices`."""

    def __init__(self, data: bytes, language: str, path: str) -> None:
        self.tree = parse(data, language)
        self.source = Source(data)
        walker = _Walker(self.source)
        walker.walk(self.tree.root_node)
        self.source.finish()
        self.evidence = _EvidenceBuilder(self.source, walker, path, language)

    @property
    def root(self) -> Node:
        return self.tree.root_node

    @property
    def file_scope(self) -> list[ScopeName]:
        return self.evidence.file_scope

    def slices(self) -> list[Slice]:
        return self.evidence.build()

    def sites(self) -> list[Site]:
        """The sites, their references resolved (what `slices` assembles)."""
        self.evidence.resolve()
        return self.evidence.walker.sites

    def release(self) -> None:
        """Once its slices are made: its records freed without the garbage collector (`unlink`)."""
        walker = self.evidence.walker
        unlink(walker.scopes, walker.sites)
        walker.handlers.clear()
        self.evidence.uses.clear()


def analyse_typescript(data: bytes, language: str, path: str) -> _Analysis:
    """One buffer walked (its tree the shared parse's); `sites()` and `assemble` with `evidence`
    as the front end make its slices (typeinf.slices.incremental_typescript)."""
    return _Analysis(data, language, path)


# --------------------------------------------------------------------------- walk state


@dataclass(slots=True, eq=False)
class _Class:
    node: Node
    fields: list[Site] = field(default_factory=list)
    this_refs: dict[str, list[Node]] = field(default_factory=dict)


@dataclass(slots=True)
class _Ctx:
    scope: Scope
    fscope: Scope  # nearest function-like scope, where `var` binds
    qual: str
    fn: Function | None
    cls: _Class | None  # set only for the direct members of a class body
    this_cls: _Class | None  # the class `this` refers to
    container: Node | None
    type_params: tuple[str, ...]


def _join(qual: str, name: str) -> str:
    return f"{qual}.{name}" if qual else name


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _has_token(node: Node, token: str) -> bool:
    """Whether `node` has an anonymous child `token` (`async`, `*`, `get`, `declare`...)."""
    return any(not c.is_named and c.type == token for c in node.children)


def _expr_children(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type != "comment"]


class _Walker:
    """Pass 1: sites, bindings, references, annotations and the file's type names."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.data = source.data
        self.sites: list[Site] = []
        self.var_sites: dict[int, Site] = {}  # by name start: `const f = () => ...` -> f
        self.tracked: set[str] = set()  # names whose references are wanted
        self.scopes: list[Scope] = []  # every scope, in the order made
        self.type_names: list[ScopeName] = []
        self.stack: list[tuple[Node, _Ctx]] = []
        # every node pushed on the stack has its parent recorded: climbing never uses Node.parent
        self.parent = Parents()
        self.handlers = {
            "import_statement": self._import,
            "lexical_declaration": self._declaration,
            "variable_declaration": self._declaration,
            "public_field_definition": self._field,
            "for_in_statement": self._for_in,
            "for_statement": self._block_scope,
            "statement_block": self._block_scope,
            "switch_body": self._block_scope,
            "catch_clause": self._catch,
            "return_statement": self._return,
            "yield_expression": self._yield,
            "member_expression": self._member,
            "as_expression": self._cast,
            "satisfies_expression": self._cast,
            "enum_declaration": self._enum,
            **{t: self._function for t in FUNC_TYPES},
            **{t: self._class for t in CLASS_TYPES},
            **{t: self._namespace for t in NAMESPACE_TYPES},
            **{t: self._signature for t in SIGNATURE_TYPES},
            **{t: self._type_declaration for t in ("interface_declaration", "type_alias_declaration")},
        }

    # ---------------------------------------------------------------- helpers
    def text(self, node: Node | None) -> str:
        if node is None:
            return ""
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def push(self, node: Node | None, ctx: _Ctx, parent: Node) -> None:
        """Walk `node` (a child of `parent`) later."""
        if node is not None:
            self.parent.links[node.id] = parent
            self.stack.append((node, ctx))

    def push_children(self, node: Node, ctx: _Ctx) -> None:
        links = self.parent.links
        push = self.stack.append
        for c in reversed(node.named_children):
            links[c.id] = node
            push((c, ctx))

    def annotation(self, node: Node | None) -> Node | None:
        """Register an annotation node (hidden from all evidence) and return it if it is one."""
        if node is None or node.type not in ANNOTATION_TYPES:
            return None
        self.source.add_annotation(node.start_byte, node.end_byte)
        return node

    def new_scope(self, parent: Scope | None) -> Scope:
        scope = Scope(parent)
        self.scopes.append(scope)
        return scope

    def bind(self, scope: Scope, name: str, site: Site | None = None) -> Binding:
        binding = scope.bindings.get(name)
        if binding is None:
            binding = scope.bindings[name] = Binding(name)
        if site is not None and binding.site is None:
            binding.site = site
            site.binding = binding
            self.tracked.add(name)
        return binding

    def add_site(
        self,
        kind: str,
        name: str,
        qualname: str,
        node: Node,
        ctx: _Ctx,
        *,
        annotatable: bool = True,
        annotation: Node | None = None,
        fn: Function | None = None,
    ) -> Site:
        fn = fn if fn is not None else ctx.fn
        site = Site(
            kind=kind,
            name=name,
            qualname=qualname,
            node=node,
            annotatable=annotatable,
            annotation=annotation,
            fn=fn,
            container=ctx.container,
            type_params=ctx.type_params,
            peers=fn.sites if fn is not None else None,
        )
        self.sites.append(site)
        if kind == "var":
            self.var_sites.setdefault(site.start, site)
        return site

    def type_params(self, node: Node, ctx: _Ctx) -> tuple[str, ...]:
        tp = node.child_by_field_name("type_parameters")
        if tp is None:
            return ctx.type_params
        names = [
            self.text(p.child_by_field_name("name")) for p in tp.named_children if p.type == "type_parameter"
        ]
        return ctx.type_params + tuple(n for n in names if n)

    def declare_type(self, node: Node) -> None:
        kind = DECLARATION_KINDS.get(node.type)
        name = node.child_by_field_name("name")
        if kind is not None and name is not None:
            self.type_names.append(ScopeName(self.text(name), kind))

    # ---------------------------------------------------------------- walk
    def walk(self, root: Node) -> None:
        scope = self.new_scope(None)
        ctx = _Ctx(scope, scope, "", None, None, None, None, ())
        stack = self.stack
        handlers = self.handlers
        links = self.parent.links
        links[root.id] = None
        push = stack.append
        self.push_children(root, ctx)
        while stack:
            node, ctx = stack.pop()
            t = node.type
            if t == "identifier" or t == "shorthand_property_identifier":
                ctx.scope.refs.append(node)
                continue
            handler = handlers.get(t)
            if handler is not None:
                handler(node, ctx)
            elif t in ANNOTATION_TYPES:
                self.annotation(node)
            elif t not in OPAQUE_TYPES:
                for c in reversed(node.named_children):
                    links[c.id] = node
                    push((c, ctx))

    # ---------------------------------------------------------------- functions
    def bound_name(self, fn: Node) -> Node | None:
        """The harness's syntactic name of a function: own name, else the name it is bound to."""
        name = fn.child_by_field_name("name")
        if name is not None:
            return name
        par = self.parent(fn)
        if par is None or par.child_by_field_name("value") != fn:
            return None
        if par.type == "variable_declarator":
            n = par.child_by_field_name("name")
            return n if n is not None and n.type == "identifier" else None
        if par.type == "public_field_definition":
            return par.child_by_field_name("name")
        if par.type == "pair":
            n = par.child_by_field_name("key")
            return n if n is not None and n.type in ("property_identifier", "identifier") else None
        return None

    def _function(self, node: Node, ctx: _Ctx) -> None:
        body = node.child_by_field_name("body")
        if body is None:
            self.push_children(node, ctx)
            return
        t = node.type
        name_node = self.bound_name(node)
        name = self.text(name_node) if name_node is not None else "<anonymous>"
        fqual = _join(ctx.qual, name) if name_node is not None else ctx.qual
        is_method = t == "method_definition"
        fn = Function(
            node,
            signature_end=body.start_byte,
            is_async=_has_token(node, "async"),
            member_refs=ctx.cls.this_refs if is_method and ctx.cls is not None else None,
        )
        scope = self.new_scope(ctx.scope)
        own = node.child_by_field_name("name")
        if own is not None and own.type == "identifier":
            # a declaration binds its name outside, a named function expression inside
            if t.endswith("declaration"):
                fn.binding = self.bind(ctx.scope, name)
                fn.binding.fn = fn
                self.tracked.add(name)
            else:
                self.bind(scope, name)
        this_cls = ctx.cls if is_method else ctx.this_cls if t == "arrow_function" else None
        inner = _Ctx(scope, scope, fqual, fn, None, this_cls, node, self.type_params(node, ctx))
        self.params(node, fn, fqual, inner, ctx.cls if is_method and name == "constructor" else None)
        if not (is_method and (name == "constructor" or _has_token(node, "set"))):
            self.return_site(node, name_node, name, fqual, fn, inner)
        if body.type == "statement_block":
            self.push_children(body, inner)
        else:
            fn.returns.append((body.start_byte, body))
            self.push(body, inner, node)

    def return_site(
        self, node: Node, name_node: Node | None, name: str, fqual: str, fn: Function, inner: _Ctx
    ) -> None:
        anchor = name_node if name_node is not None else _first_leaf(node)
        ann = self.annotation(node.child_by_field_name("return_type"))
        site = self.add_site("return", name, fqual, anchor, inner, annotation=ann, fn=fn)
        site.is_async = fn.is_async
        fn.sites.append(site)

    def params(self, node: Node, fn: Function, fqual: str, inner: _Ctx, ctor_class: _Class | None) -> None:
        lone = node.child_by_field_name("parameter")
        if lone is not None:  # `x => ...`: a site, but annotating it needs parentheses
            site = self.add_site("param", self.text(lone), fqual, lone, inner, annotatable=False, fn=fn)
            self.finish_param(site, fn)
            self.bind(inner.scope, site.name, site)
            return
        params = node.child_by_field_name("parameters")
        if params is None:
            return
        for p in params.named_children:
            if p.type not in PARAM_TYPES:
                continue
            pat = p.child_by_field_name("pattern")
            ann = self.annotation(p.child_by_field_name("type"))
            default = p.child_by_field_name("value")
            self.push(default, inner, p)
            if pat is None or pat.type == "this":
                continue
            self.param(p, pat, ann, default, fn, fqual, inner, ctor_class)

    def param(
        self,
        p: Node,
        pat: Node,
        ann: Node | None,
        default: Node | None,
        fn: Function,
        fqual: str,
        inner: _Ctx,
        ctor_class: _Class | None,
    ) -> None:
        name_node = pat
        if pat.type == "rest_pattern":
            ident = next((c for c in pat.named_children if c.type == "identifier"), None)
            name_node = ident if ident is not None else pat
        if name_node.type == "identifier":
            name = self.text(name_node)
        else:
            name = _collapse(self.text(name_node))
        site = self.add_site("param", name, fqual, name_node, inner, annotation=ann, fn=fn)
        site.default = default
        self.finish_param(site, fn)
        if name_node.type == "identifier":
            self.bind(inner.scope, name, site)
            if ctor_class is not None and _is_parameter_property(p):
                site.member_refs = ctor_class.this_refs.setdefault(name, [])
        else:
            site.pattern = name_node
            for n, _node, _path, d in self.pattern_names(name_node):
                self.bind(inner.scope, n)
                self.push_default(d, inner)

    def finish_param(self, site: Site, fn: Function) -> None:
        site.is_async = fn.is_async
        fn.sites.append(site)

    def push_default(self, default: Node | None, ctx: _Ctx) -> None:
        """Walk the default of a destructured name (`pattern_names` recorded its parent)."""
        if default is not None:
            self.stack.append((default, ctx))

    # ---------------------------------------------------------------- patterns
    def pattern_names(self, pat: Node) -> list[tuple[str, Node, str, Node | None]]:
        """(name, node, access path, default) of every name a destructuring pattern binds.

        The path is how the value is reached from the destructured value (`.a`, `[0]`)."""
        out: list[tuple[str, Node, str, Node | None]] = []
        todo: list[tuple[Node, str, Node | None]] = [(pat, "", None)]
        while todo:
            node, path, default = todo.pop()
            t = node.type
            if t == "identifier":
                out.append((self.text(node), node, path, default))
            elif t == "shorthand_property_identifier_pattern":
                name = self.text(node)
                out.append((name, node, f"{path}.{name}", default))
            elif t == "object_pattern":
                todo.extend(self.object_pattern_items(node, path))
            elif t == "array_pattern":
                todo.extend(self.array_pattern_items(node, path))
            elif t == "assignment_pattern":
                left = node.child_by_field_name("left")
                if left is not None:
                    right = node.child_by_field_name("right")
                    self.parent.add(node, right)
                    todo.append((left, path, right))
            elif t == "rest_pattern":
                todo.extend((c, path, None) for c in node.named_children if c.type != "comment")
        out.sort(key=lambda item: item[1].start_byte)
        return out

    def object_pattern_items(self, node: Node, path: str) -> list[tuple[Node, str, Node | None]]:
        items: list[tuple[Node, str, Node | None]] = []
        for c in node.named_children:
            t = c.type
            if t == "shorthand_property_identifier_pattern":
                items.append((c, path, None))
            elif t == "pair_pattern":
                key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
                if key is not None and value is not None:
                    items.append((value, path + self.key_path(key), None))
            elif t == "object_assignment_pattern":
                left = c.child_by_field_name("left")
                if left is not None:
                    right = c.child_by_field_name("right")
                    self.parent.add(c, right)
                    items.append((left, path, right))
            elif t == "rest_pattern":
                items.append((c, path, None))
        return items

    def array_pattern_items(self, node: Node, path: str) -> list[tuple[Node, str, Node | None]]:
        items: list[tuple[Node, str, Node | None]] = []
        index = 0
        for c in node.children:
            if c.type == ",":
                index += 1
            elif c.type == "rest_pattern":
                items.append((c, f"{path}.slice({index})", None))
            elif c.is_named and c.type != "comment":
                items.append((c, f"{path}[{index}]", None))
        return items

    def key_path(self, key: Node) -> str:
        if key.type == "property_identifier":
            return "." + self.text(key)
        if key.type == "computed_property_name":
            return self.text(key)
        return f"[{self.text(key)}]"

    def pattern_keys(self, pat: Node) -> tuple[list[str], int]:
        """Top-level keys of an object pattern, element count of an array pattern."""
        if pat.type == "rest_pattern":
            inner = _expr_children(pat)
            pat = inner[0] if inner else pat
        if pat.type == "array_pattern":
            return [], sum(1 for c in pat.named_children if c.type != "comment")
        keys: list[str] = []
        if pat.type == "object_pattern":
            for c in pat.named_children:
                if c.type == "object_assignment_pattern":
                    c = c.child_by_field_name("left") or c
                if c.type == "shorthand_property_identifier_pattern":
                    keys.append(self.text(c))
                elif c.type == "pair_pattern":
                    key = c.child_by_field_name("key")
                    if key is not None and key.type == "property_identifier":
                        keys.append(self.text(key))
        return keys, 0

    # ---------------------------------------------------------------- variables
    def _declaration(self, node: Node, ctx: _Ctx) -> None:
        scope = ctx.fscope if node.type == "variable_declaration" else ctx.scope
        for c in node.named_children:  # in order: the first declaration of a name is its site
            if c.type == "variable_declarator":
                self.declarator(c, scope, ctx)

    def declarator(self, node: Node, scope: Scope, ctx: _Ctx) -> None:
        name_node = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        ann = self.annotation(node.child_by_field_name("type"))
        self.push(value, ctx, node)
        if name_node is None:
            return
        if name_node.type == "identifier":
            name = self.text(name_node)
            existing = scope.bindings.get(name)
            if existing is not None and existing.site is not None:  # `var x` declared again
                if value is not None:
                    existing.site.later.append(value)
                return
            site = self.add_site("var", name, ctx.qual, name_node, ctx, annotation=ann)
            site.definition = value
            self.bind(scope, name, site)
            return
        site = self.add_site("var", _collapse(self.text(name_node)), ctx.qual, name_node, ctx, annotation=ann)
        site.definition = value
        site.pattern = name_node
        init = self.source.expr_text(value) if value is not None else ""
        simple = value is not None and value.type in (
            "identifier",
            "member_expression",
            "call_expression",
            "this",
        )
        base = init if simple or not init else f"({init})"
        self.bind_pattern(name_node, scope, ctx, lambda path: (clip(base + path), "unpack"))

    def bind_pattern(self, pat: Node, scope: Scope, ctx: _Ctx, derive: _Derive) -> None:
        """Non-annotatable var sites for the names bound by a destructuring pattern."""
        for name, node, path, default in self.pattern_names(pat):
            self.push_default(default, ctx)
            existing = scope.bindings.get(name)
            if existing is not None and existing.site is not None:
                continue
            site = self.add_site("var", name, ctx.qual, node, ctx, annotatable=False)
            site.derived = derive(path)
            site.default = default
            self.bind(scope, name, site)

    def _for_in(self, node: Node, ctx: _Ctx) -> None:
        kind = node.child_by_field_name("kind")
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        body = node.child_by_field_name("body")
        self.push(right, ctx, node)
        if kind is None or left is None:
            self.push(left, ctx, node)
            self.push(body, ctx, node)
            return
        scope = ctx.fscope if kind.type == "var" else self.new_scope(ctx.scope)
        inner = ctx if kind.type == "var" else _replace_scope(ctx, scope)
        op = node.child_by_field_name("operator")
        category = "keys" if op is not None and op.type == "in" else "iteration"
        iterable = self.source.expr_text(right)
        if left.type == "identifier":
            name = self.text(left)
            if name not in scope.bindings or scope.bindings[name].site is None:
                site = self.add_site("var", name, ctx.qual, left, ctx, annotatable=False)
                site.derived = (iterable, category)
                self.bind(scope, name, site)
        else:
            self.bind_pattern(left, scope, inner, lambda path: (iterable, category))
        self.push(body, inner, node)

    def _field(self, node: Node, ctx: _Ctx) -> None:
        value = node.child_by_field_name("value")
        name_node = node.child_by_field_name("name")
        ann = self.annotation(node.child_by_field_name("type"))
        cls = ctx.cls
        for c in node.named_children:
            if c.type == "decorator":
                self.push(c, ctx, node)
        value_ctx = _Ctx(
            ctx.scope, ctx.fscope, ctx.qual, ctx.fn, None, ctx.this_cls, ctx.container, ctx.type_params
        )
        self.push(value, value_ctx, node)
        if name_node is None or cls is None or _has_token(node, "declare") or _has_token(node, "abstract"):
            return
        site = self.add_site("var", self.text(name_node), ctx.qual, name_node, ctx, annotation=ann)
        site.definition = value
        site.member_refs = cls.this_refs.setdefault(site.name, [])
        site.peers, site.peer_limit = cls.fields, MAX_CLASS_NEIGHBOURS
        cls.fields.append(site)

    def _catch(self, node: Node, ctx: _Ctx) -> None:
        scope = self.new_scope(ctx.scope)
        param = node.child_by_field_name("parameter")
        self.annotation(node.child_by_field_name("type"))
        if param is not None:
            if param.type == "identifier":
                self.bind(scope, self.text(param))
            else:
                for name, _node, _path, default in self.pattern_names(param):
                    self.bind(scope, name)
                    self.push_default(default, ctx)
        self.push(node.child_by_field_name("body"), _replace_scope(ctx, scope), node)

    def _block_scope(self, node: Node, ctx: _Ctx) -> None:
        self.push_children(node, _replace_scope(ctx, self.new_scope(ctx.scope)))

    # ---------------------------------------------------------------- classes, namespaces
    def _class(self, node: Node, ctx: _Ctx) -> None:
        name_node = node.child_by_field_name("name")
        name = self.text(name_node) if name_node is not None else "<anonymous>"
        if name_node is not None and node.type != "class":
            self.bind(ctx.scope, name)
        self.declare_type(node)
        cls = _Class(node)
        inner = _Ctx(
            ctx.scope, ctx.fscope, _join(ctx.qual, name), None, cls, cls, node, self.type_params(node, ctx)
        )
        body = node.child_by_field_name("body")
        if body is not None:
            self.push_children(body, inner)
        for c in reversed(node.named_children):
            if c.type in ("class_heritage", "decorator"):
                self.push(c, ctx, node)

    def _namespace(self, node: Node, ctx: _Ctx) -> None:
        name_node = node.child_by_field_name("name")
        qual = ctx.qual
        if name_node is not None:
            qual = _join(qual, self.text(name_node).strip("'\""))
            if name_node.type == "identifier":
                self.bind(ctx.scope, self.text(name_node))
        body = node.child_by_field_name("body")
        if body is not None:
            scope = self.new_scope(ctx.scope)
            self.push_children(
                body, _Ctx(scope, scope, qual, None, None, None, ctx.container, ctx.type_params)
            )

    def _enum(self, node: Node, ctx: _Ctx) -> None:
        name = node.child_by_field_name("name")
        if name is not None:
            self.bind(ctx.scope, self.text(name))
        self.declare_type(node)
        body = node.child_by_field_name("body")
        for member in body.named_children if body is not None else ():
            if member.type == "enum_assignment":
                self.push(member.child_by_field_name("value"), ctx, member)

    def _type_declaration(self, node: Node, ctx: _Ctx) -> None:
        self.declare_type(node)

    def _signature(self, node: Node, ctx: _Ctx) -> None:
        """Overloads, abstract methods, index signatures and `declare` blocks: no sites, but
        their annotations are hidden too; declared classes/enums still name types."""
        todo = [node]
        while todo:
            n = todo.pop()
            t = n.type
            if t in ANNOTATION_TYPES:
                self.annotation(n)
            elif t in DECLARATION_KINDS:
                self.declare_type(n)
                if t not in ("interface_declaration", "type_alias_declaration"):
                    todo.extend(n.named_children)
            elif t not in TYPE_BODY_TYPES and t not in OPAQUE_TYPES:
                todo.extend(n.named_children)

    # ---------------------------------------------------------------- imports
    def _import(self, node: Node, ctx: _Ctx) -> None:
        src = node.child_by_field_name("source")
        clause = next(
            (c for c in node.named_children if c.type in ("import_clause", "import_require_clause")), None
        )
        if clause is None:
            return
        if src is None:
            src = clause.child_by_field_name("source")
        module = self.text(src).strip("'\"`") if src is not None else None
        names: list[Node] = []
        for c in clause.named_children:
            if c.type == "identifier":
                names.append(c)
            elif c.type == "namespace_import":
                names.extend(x for x in c.named_children if x.type == "identifier")
            elif c.type == "named_imports":
                for spec in c.named_children:
                    if spec.type == "import_specifier":
                        b = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
                        if b is not None:
                            names.append(b)
        for n in names:
            name = self.text(n)
            self.bind(ctx.scope, name)
            self.type_names.append(ScopeName(name, "import", module))

    # ---------------------------------------------------------------- expressions
    def _return(self, node: Node, ctx: _Ctx) -> None:
        values = _expr_children(node)
        if ctx.fn is not None:
            ctx.fn.returns.append((node.start_byte, values[0] if values else None))
        self.push_children(node, ctx)

    def _yield(self, node: Node, ctx: _Ctx) -> None:
        values = _expr_children(node)
        if ctx.fn is not None:
            ctx.fn.yields.append((node.start_byte, values[0] if values else None))
        self.push_children(node, ctx)

    def _member(self, node: Node, ctx: _Ctx) -> None:
        obj = node.child_by_field_name("object")
        if obj is not None and obj.type == "this":
            cls = ctx.this_cls
            prop = node.child_by_field_name("property")
            if cls is not None and prop is not None:
                cls.this_refs.setdefault(self.text(prop), []).append(node)
            return
        self.push(obj, ctx, node)

    def _cast(self, node: Node, ctx: _Ctx) -> None:
        children = _expr_children(node)
        if children:
            self.push(children[0], ctx, node)


def _replace_scope(ctx: _Ctx, scope: Scope) -> _Ctx:
    return _Ctx(scope, ctx.fscope, ctx.qual, ctx.fn, ctx.cls, ctx.this_cls, ctx.container, ctx.type_params)


def _is_parameter_property(p: Node) -> bool:
    return any(
        c.type in ("accessibility_modifier", "override_modifier") or (not c.is_named and c.type == "readonly")
        for c in p.children
    )


# --------------------------------------------------------------------------- evidence

MAX_CLASS_NEIGHBOURS = 16
SIGNATURE_LIMIT = 400
CONDITION_PARENTS = frozenset({"if_statement", "while_statement", "do_statement", "for_statement"})


def _unwrap(node: Node) -> Node:
    """The expression inside parentheses, `!`, `as` and `satisfies` wrappers."""
    while node.type in TRANSPARENT_TYPES:
        inner = _expr_children(node)
        if not inner:
            break
        node = inner[-1] if node.type == "type_assertion" else inner[0]
    return node


def _climb(node: Node, parent_of: Parents) -> tuple[Node, Node | None]:
    """(outermost wrapper of `node`, its parent) going up through transparent wrappers."""
    parent = parent_of(node)
    while parent is not None and parent.type in TRANSPARENT_TYPES:
        node, parent = parent, parent_of(parent)
    return node, parent


def _start(node: Node) -> int:
    return node.start_byte


def _first_leaf(node: Node) -> Node:
    while node.child_count:
        node = node.children[0]
    return node


def _operator(node: Node, default: str) -> str:
    op = node.child_by_field_name("operator")
    return op.type if op is not None else default


class _EvidenceBuilder:
    """Pass 2: resolve references and turn every `Site` into a `Slice`."""

    def __init__(self, source: Source, walker: _Walker, path: str, language: str) -> None:
        self.source = source
        self.walker = walker
        self.path = path
        self.language = language
        self.text = walker.text
        self.parent = walker.parent
        seen: set[tuple[str, str]] = set()
        self.file_scope: list[ScopeName] = []
        for sn in [ScopeName(n, "builtin") for n in TS_SCOPE_BUILTINS] + walker.type_names:
            if (sn.name, sn.kind) not in seen:
                seen.add((sn.name, sn.kind))
                self.file_scope.append(sn)
        self.member_decorators: dict[int, dict[int, list[str]]] = {}  # class body -> member -> decorators
        self.uses: dict[str, Callable[[EvidenceBuilder, Node, Node], None]] = {
            "member_expression": self.use_member,
            "subscript_expression": self.use_subscript,
            "call_expression": self.use_call,
            "new_expression": self.use_call,
            "arguments": self.use_argument,
            "spread_element": self.use_spread,
            "jsx_expression": self.use_jsx,
            "binary_expression": self.use_binary,
            "unary_expression": self.use_unary,
            "update_expression": self.use_update,
            "augmented_assignment_expression": self.use_augmented,
            "assignment_expression": self.use_assignment,
            "variable_declarator": self.use_declarator,
            "await_expression": self.use_await,
            "return_statement": self.use_return,
            "arrow_function": self.use_return,
            "for_in_statement": self.use_for,
            "yield_expression": self.use_yield,
            "ternary_expression": self.use_ternary,
            "template_substitution": self.use_template,
            "array": self.use_element,
            "pair": self.use_pair,
            "object": self.use_shorthand,
            "throw_statement": self.use_throw,
            **{t: self.use_condition for t in CONDITION_PARENTS},
        }

    def build(self) -> list[Slice]:
        self.resolve()
        return assemble(self.walker.sites, self, self.source, self.path, self.language, self.file_scope)

    def resolve(self) -> None:
        """Attach every reference to the binding it resolves to (innermost scope first)."""
        resolve(self.walker.scopes, self.text, self.walker.tracked)

    # ---------------------------------------------------------------- the assembler's questions
    def references(self, site: Site) -> list[Node]:
        """Uses of the site's name: resolved identifiers and, for members, `this.name`."""
        refs: list[Node] = []
        if site.binding is not None:
            refs += site.binding.refs
        if site.member_refs is not None:
            refs += site.member_refs
        refs.sort(key=_start)  # the walk is not in source order everywhere
        return refs

    def result_uses(self, site: Site) -> list[Node]:
        """The calls of a return site's function (`f()`, `this.m()`, `const f = () => ..`)."""
        fn = site.fn
        if fn is None:
            return []
        refs: list[Node] = []
        if fn.binding is not None:
            refs += fn.binding.refs
        holder = self.walker.var_sites.get(site.start)  # `const f = () => ...`, `f = () => ...`
        if holder is not None:
            refs += self.references(holder)
        if fn.member_refs is not None:
            refs += fn.member_refs.get(site.name, ())
        calls = []
        for ref in sorted(refs, key=_start):
            up, parent = _climb(ref, self.parent)
            if parent is not None and parent.type == "call_expression":
                if parent.child_by_field_name("function") == up:
                    calls.append(parent)
        return calls

    def body_completes(self, fn: Function) -> bool:
        body = fn.node.child_by_field_name("body")
        return body is not None and body.type == "statement_block" and _completes(body)

    def own_evidence(self, eb: EvidenceBuilder, site: Site) -> None:
        """The keys of a destructuring pattern are attributes read; its elements, subscripts."""
        if site.pattern is None:
            return
        keys, elements = self.walker.pattern_keys(site.pattern)
        for k in keys:
            eb.attr_read(k)
        if elements:
            eb.subscript("number")

    def category(self, node: Node) -> str:
        node = _unwrap(node)
        t = node.type
        if t == "unary_expression":
            arg = node.child_by_field_name("argument")
            if arg is not None and arg.type == "number" and _operator(node, "") in ("-", "+"):
                return "literal"
            return "other"
        return CATEGORIES.get(t, "other")

    def expr(self, node: Node) -> Expr:
        return Expr(self.source.expr_text(node), self.category(node))

    def signature(self, fn: Function) -> str:
        return clip(self.source.strip_annotations(fn.node.start_byte, fn.signature_end), SIGNATURE_LIMIT)

    def decorators(self, fn: Function) -> list[str]:
        return self.method_decorators(fn)

    def method_decorators(self, fn: Function) -> list[str]:
        if fn.node.type != "method_definition":
            return []
        body = self.parent(fn.node)
        if body is None:
            return []
        decorators = self.member_decorators.get(body.id)
        if decorators is None:  # once per class body (prev_named_sibling costs O(depth))
            decorators = self.member_decorators[body.id] = {}
            run: list[str] = []  # the decorators (and comments) just before a member
            for c in body.named_children:
                if c.type == "decorator":
                    run.append(self.source.expr_text(c, SHORT_TEXT).lstrip("@"))
                elif c.type != "comment":
                    if c.type == "method_definition":
                        decorators[c.id] = run
                    run = []
        return list(decorators.get(fn.node.id, ()))

    # ---------------------------------------------------------------- uses
    def use(self, eb: EvidenceBuilder, node: Node) -> None:
        """Record what one use of the value (identifier, `this.x`, call result) tells."""
        node, parent = _climb(node, self.parent)
        if parent is not None:
            handler = self.uses.get(parent.type)
            if handler is not None:
                handler(eb, node, parent)

    def operand(self, node: Node | None) -> str:
        """Kind of an operand: a literal kind, `name:x`, `call:f`, `attr:a.b`, `new:C`, node type."""
        if node is None:
            return ""
        node = _unwrap(node)
        t = node.type
        kind = LITERAL_KINDS.get(t)
        if kind is not None:
            return kind
        if t == "identifier":
            return "name:" + self.text(node)
        if t == "member_expression":
            return "attr:" + self.source.expr_text(node, SHORT_TEXT)
        if t == "call_expression":
            return "call:" + self.source.expr_text(node.child_by_field_name("function"), SHORT_TEXT)
        if t == "new_expression":
            return "new:" + self.source.expr_text(node.child_by_field_name("constructor"), SHORT_TEXT)
        if t == "unary_expression" and self.category(node) == "literal":
            return "number"
        return t

    def callee(self, call: Node) -> str:
        if call.type == "new_expression":
            return "new " + self.source.expr_text(call.child_by_field_name("constructor"), SHORT_TEXT)
        return self.source.expr_text(call.child_by_field_name("function"), SHORT_TEXT)

    def use_member(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        prop = parent.child_by_field_name("property")
        if prop is None or parent.start_byte != node.start_byte:  # not the object
            return
        name = self.text(prop)
        if parent.child_by_field_name("optional_chain") is not None:
            eb.operator(vocab.OPTIONAL, "", "unary")
        up, grand = _climb(parent, self.parent)
        if (
            grand is not None
            and grand.type == "call_expression"
            and grand.child_by_field_name("function") == up
        ):
            eb.call_on(name, self.nargs(grand))
        elif (
            grand is not None
            and grand.type in ("assignment_expression", "augmented_assignment_expression")
            and grand.child_by_field_name("left") == up
        ):
            eb.attr_written(name)
        else:
            eb.attr_read(name)

    def nargs(self, call: Node) -> int:
        args = call.child_by_field_name("arguments")
        if args is None:
            return 0
        if args.type != "arguments":  # tagged template
            return 1
        return len(_expr_children(args))

    def use_subscript(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        obj = parent.child_by_field_name("object")
        if obj == node:
            eb.subscript(self.operand(parent.child_by_field_name("index")))
        else:
            eb.operator(vocab.INDEX, self.operand(obj), "right")

    def use_call(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        field_name = "function" if parent.type == "call_expression" else "constructor"
        if parent.child_by_field_name(field_name) == node:
            eb.called()

    def use_argument(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        call = self.parent(parent)
        if call is not None:
            index = next((i for i, a in enumerate(_expr_children(parent)) if a == node), None)
            eb.passed_to(self.callee(call), arg=index)

    def use_spread(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        holder = self.parent(parent)
        if holder is None:
            return
        if holder.type == "arguments":
            call = self.parent(holder)
            if call is not None:
                eb.passed_to(self.callee(call), keyword="*")
            eb.iterated()
        elif holder.type == "array":
            eb.iterated()
        elif holder.type == "object":
            eb.operator(vocab.SPREAD, "object", "unary")
        elif holder.type == "jsx_expression" and (element := self.parent(holder)) is not None:
            tag = element.child_by_field_name("name")
            eb.passed_to(f"<{self.text(tag)}>" if tag is not None else "<>", keyword="**")

    def use_jsx(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        holder = self.parent(parent)
        if holder is None:
            return
        if holder.type == "jsx_attribute":
            element, keyword = self.parent(holder), self.text(holder.named_children[0])
        elif holder.type == "jsx_element":
            element, keyword = holder.child_by_field_name("open_tag"), "children"
        else:
            return
        tag = element.child_by_field_name("name") if element is not None else None
        eb.passed_to(f"<{self.text(tag)}>" if tag is not None else "<>", keyword=keyword)

    def use_binary(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        op = _operator(parent, "?")
        left, right = parent.child_by_field_name("left"), parent.child_by_field_name("right")
        is_left = left == node
        if op == "instanceof" and is_left:
            eb.type_check("instanceof " + self.source.expr_text(right, SHORT_TEXT))
            return
        eb.operator(op, self.operand(right if is_left else left), "left" if is_left else "right")

    def use_unary(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        op = _operator(parent, "?")
        if op == "typeof":
            checked = self.typeof_check(parent)
            if checked is not None:
                eb.type_check("typeof " + checked)
                return
        eb.operator(op, "", "unary")

    def typeof_check(self, unary: Node) -> str | None:
        """`typeof x === "string"` -> "string"."""
        up, grand = _climb(unary, self.parent)
        if grand is None or grand.type != "binary_expression" or _operator(grand, "") not in EQUALITY_OPS:
            return None
        left, right = grand.child_by_field_name("left"), grand.child_by_field_name("right")
        other = right if left == up else left
        if other is None or other.type != "string":
            return None
        return self.text(other)[1:-1]

    def use_update(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        eb.operator(_operator(parent, "++"), "", "unary")

    def use_augmented(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        op = _operator(parent, "?=")
        left, right = parent.child_by_field_name("left"), parent.child_by_field_name("right")
        if left == node:
            eb.operator(op, self.operand(right), "left")
        else:
            eb.operator(op, self.operand(left), "right")

    def use_assignment(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        left, right = parent.child_by_field_name("left"), parent.child_by_field_name("right")
        if left == node:
            if right is not None:
                eb.assignment(self.expr(right))
        elif left is not None:
            eb.operator(vocab.ASSIGN, self.operand(left), "right")

    def use_declarator(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        name = parent.child_by_field_name("name")
        if name is not None and parent.child_by_field_name("value") == node:
            eb.operator(vocab.ASSIGN, self.operand(name), "right")

    def use_await(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        eb.awaited()

    def use_return(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        if parent.type == "return_statement" or parent.child_by_field_name("body") == node:
            eb.returned()

    def use_for(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        if parent.child_by_field_name("right") == node:
            if _operator(parent, "") == "of":
                eb.iterated()
            else:
                eb.operator(vocab.FOR_IN, "", "unary")

    def use_yield(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        if _has_token(parent, "*"):
            eb.iterated()
        else:
            eb.operator(vocab.YIELD, "", "unary")

    def use_condition(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        if parent.child_by_field_name("condition") == node:
            eb.operator(vocab.TRUTHY, "", "unary")

    def use_ternary(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        if parent.child_by_field_name("condition") == node:
            eb.operator(vocab.TRUTHY, "", "unary")
            return
        consequence = parent.child_by_field_name("consequence")
        other = parent.child_by_field_name("alternative") if consequence == node else consequence
        eb.operator(vocab.IF_ELSE, self.operand(other), "left")

    def use_template(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        eb.operator(vocab.FORMAT, "string", "unary")

    def use_element(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        eb.operator(vocab.ELEMENT, "array", "unary")

    def use_pair(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        if parent.child_by_field_name("value") == node:
            eb.operator(vocab.DICT_VALUE, "object", "unary")

    def use_shorthand(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        if node.type == "shorthand_property_identifier":
            eb.operator(vocab.DICT_VALUE, "object", "unary")

    def use_throw(self, eb: EvidenceBuilder, node: Node, parent: Node) -> None:
        eb.operator(vocab.RAISE, "", "unary")


def _completes(node: Node, depth: int = 0) -> bool:
    """Whether running a statement (or block) can reach its end, so a function body can end
    without a `return` (an implicit `undefined`).  Where unsure it says yes."""
    t = node.type
    if t in ("return_statement", "throw_statement"):
        return False
    if depth > 100:
        return True
    if t == "statement_block":
        return all(_completes(c, depth + 1) for c in node.named_children if c.type != "comment")
    if t == "if_statement":
        cons = node.child_by_field_name("consequence")
        alt = node.child_by_field_name("alternative")
        if alt is None:
            return True
        alt_stmt = next((c for c in alt.named_children if c.type != "comment"), None)
        return any(b is None or _completes(b, depth + 1) for b in (cons, alt_stmt))
    if t == "while_statement":
        cond = node.child_by_field_name("condition")
        forever = cond is not None and cond.text is not None and cond.text.strip(b"() \t\n") == b"true"
        return not forever or has_break(node.child_by_field_name("body"), _OWN_BREAKS)
    if t == "try_statement":
        fin = node.child_by_field_name("finalizer")
        fin_body = fin.child_by_field_name("body") if fin is not None else None
        if fin_body is not None and not _completes(fin_body, depth + 1):
            return False
        body = node.child_by_field_name("body")
        handler = node.child_by_field_name("handler")
        handler_body = handler.child_by_field_name("body") if handler is not None else None
        return (body is None or _completes(body, depth + 1)) or (
            handler_body is not None and _completes(handler_body, depth + 1)
        )
    return True


_OWN_BREAKS = frozenset(
    {"while_statement", "for_statement", "for_in_statement", "do_statement", "switch_statement", *FUNC_TYPES}
)
