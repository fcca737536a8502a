"""Python usage slices from a tree-sitter parse.

One pass over the tree builds lexical scopes (module, class, function, lambda,
comprehension), their bindings, sites and the identifier references in them (the records of
`scopes.py`); a second step resolves every reference to its binding with Python's scoping
rules (class bodies do not enclose their methods; `global`/`nonlocal` redirect bindings), and
the shared assembler (`assemble.py`) turns the sites into slices, asking this module what
differs: how each use is classified by its parent node, categories, signatures, decorators.
As in the TypeScript slicer, the walk dispatches on a node's type (`_PythonSlicer.handlers`)
and the use classifier on the type of the node a value is used in (`_Uses.handlers`).
tree-sitter is used instead of libcst here because it is an order of
magnitude faster and recovers from syntax errors (editor buffers); libcst is kept for
write-back, where a lossless concrete tree matters.

Site conventions follow the shared strip-and-restore protocol: a parameter at its name, a
return at the function's name, a variable at its first binding in its scope (or its first
annotated binding, if it has one), `self.x` at `self` with the name `self.x`.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from ..lang import PY_SCOPE_BUILTINS
from . import vocabulary as vocab
from .assemble import assemble
from .data import ScopeName, Slice, clip
from .evidence import EvidenceBuilder
from .recover import extract_recovering
from .scopes import Binding, Function, Scope, Site, resolve, unlink
from .source import (
    Diagnostic,
    Parents,
    Source,
    has_break,
    parse,
)
from .type_expressions import binds_alias

_BUILTIN_SCOPE = [ScopeName(n, "builtin") for n in PY_SCOPE_BUILTINS]

LITERAL_TYPES = {
    "integer": "int",
    "float": "float",
    "string": "str",
    "concatenated_string": "str",
    "true": "bool",
    "false": "bool",
    "none": "None",
    "ellipsis": "ellipsis",
}
_COLLECTIONS = {
    "list": "list",
    "dictionary": "dict",
    "set": "set",
    "tuple": "tuple",
    "list_comprehension": "list",
    "dictionary_comprehension": "dict",
    "set_comprehension": "set",
    "generator_expression": "generator",
}
_COMPREHENSIONS = {
    "list_comprehension",
    "dictionary_comprehension",
    "set_comprehension",
    "generator_expression",
}
_BINARY = {"binary_operator", "boolean_operator", "comparison_operator", "not_operator", "unary_operator"}
_TARGET_CONTAINERS = {
    "pattern_list",
    "tuple_pattern",
    "list_pattern",
    "tuple",
    "list",
    "parenthesized_expression",
    "list_splat_pattern",
    "list_splat",
}


def category(node: Node | None) -> str:
    """The category of an expression: literal, call, name, attribute, collection, ..."""
    if node is None:
        return "none"
    t = node.type
    if t in LITERAL_TYPES:
        return "literal"
    if t in ("list", "dictionary", "set", "tuple"):
        return "collection"
    if t in _COMPREHENSIONS:
        return "comprehension"
    return {
        "call": "call",
        "identifier": "name",
        "attribute": "attribute",
        "lambda": "lambda",
        "await": "await",
        "subscript": "subscript",
        "conditional_expression": "conditional",
        "parenthesized_expression": "paren",
        "named_expression": "walrus",
    }.get(t, "binary" if t in _BINARY else "other")


def operand_kind(src: Source, node: Node) -> str:
    """A short description of an operand: its literal type, or name/call/attr with text."""
    t = node.type
    while t == "parenthesized_expression" and node.named_child_count == 1:
        node = node.named_children[0]
        t = node.type
    if t in LITERAL_TYPES:
        return LITERAL_TYPES[t]
    if t in _COLLECTIONS:
        return _COLLECTIONS[t]
    if t == "identifier":
        return "name:" + src.text(node)
    if t == "call":
        f = node.child_by_field_name("function")
        return "call:" + (src.clipped(f.start_byte, f.end_byte, 40) if f is not None else "")
    if t == "attribute":
        return "attr:" + src.clipped(node.start_byte, node.end_byte, 40)
    return t


class _PythonSlicer:
    def __init__(self, data: bytes, path: str, keep: bool = True) -> None:
        self.src = Source(data)
        self.path = path
        self.tree = parse(data, "python", keep=keep)
        self.scopes: list[Scope] = []
        self.functions: list[tuple[Function, Scope]] = []  # (function_definition, its scope)
        self.file_scope: list[ScopeName] = list(_BUILTIN_SCOPE)
        self.parent = Parents()  # filled by the walk: climbing never uses Node.parent
        self.uses = _Uses(self.src, self.parent)
        # what a node binds or records, by its type; each returns the scope of its children
        self.handlers: dict[str, Callable[[Node, Scope], Scope]] = {
            "identifier": self._identifier,
            "return_statement": self._return,
            "yield": self._yield,
            "function_definition": self._function,
            "class_definition": self._class,
            "lambda": self._lambda,
            **{t: self._comprehension for t in _COMPREHENSIONS},
            "assignment": self._assignment,
            "for_statement": self._for,
            "for_in_clause": self._for,
            "as_pattern_target": self._as_target,
            "named_expression": self._walrus,
            "global_statement": self._declare,
            "nonlocal_statement": self._declare,
            "import_statement": self._import,
            "import_from_statement": self._import,
            "type_alias_statement": self._type_alias,
        }

    @property
    def source(self) -> Source:
        return self.src

    @property
    def root(self) -> Node:
        return self.tree.root_node

    # ------------------------------------------------------------------ pass 1: scopes
    def build(self) -> None:
        root = self.tree.root_node
        module = Scope(None, "module")
        self.scopes.append(module)
        stack: list[tuple[Node, Scope]] = [(root, module)]
        links = self.parent.links
        links[root.id] = None
        handlers = self.handlers
        while stack:
            node, scope = stack.pop()
            t = node.type
            if t == "type":  # annotations are labels, never evidence
                continue
            handler = handlers.get(t)  # looks at the parents of `node`, not below
            child_scope = handler(node, scope) if handler is not None else scope
            for c in reversed(node.children):
                links[c.id] = node
                stack.append((c, child_scope))
        self.src.finish()

    def _new_scope(self, kind: str, node: Node, parent: Scope, name: str | None) -> Scope:
        if name is None:
            qual = parent.qualname
        else:
            qual = f"{parent.qualname}.{name}" if parent.qualname else name
        s = Scope(parent, kind, node, qual)
        self.scopes.append(s)
        return s

    # ------------------------------------------------------------------ handlers
    def _identifier(self, node: Node, scope: Scope) -> Scope:
        if _is_reference(node, self.parent):
            scope.refs.append(node)
        return scope

    def _return(self, node: Node, scope: Scope) -> Scope:
        fn = _function_of(scope)  # collected in this pass, not by a walk per function
        if fn is not None:
            fn.returns.append((node.start_byte, node.named_children[0] if node.named_child_count else None))
        return scope

    def _yield(self, node: Node, scope: Scope) -> Scope:
        fn = _function_of(scope)
        if fn is not None:
            fn.yields.append((node.start_byte, node.named_children[-1] if node.named_child_count else None))
        return scope

    def _class(self, node: Node, scope: Scope) -> Scope:
        name = node.child_by_field_name("name")
        if name is not None:
            self._bind(scope, self.src.text(name), "class", name)
        cls = self._new_scope("class", node, scope, self.src.text(name) if name else None)
        cls.members = {}
        if name is not None and scope.kind in ("module", "class"):
            self.file_scope.append(ScopeName(cls.qualname, "class"))
        return cls

    def _lambda(self, node: Node, scope: Scope) -> Scope:
        lam = self._new_scope("lambda", node, scope, None)
        params = node.child_by_field_name("parameters")
        for p in params.named_children if params is not None else ():
            n = _param_name(p)
            if n is not None:
                self._bind(lam, self.src.text(n), "skip", n)
        return lam

    def _comprehension(self, node: Node, scope: Scope) -> Scope:
        return self._new_scope("comprehension", node, scope, None)

    def _for(self, node: Node, scope: Scope) -> Scope:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        for target in _targets(left) if left is not None else ():
            self._bind_target(scope, target, right, "iteration", annotatable=False)
        return scope

    def _as_target(self, node: Node, scope: Scope) -> Scope:
        """`with v as x`: x is bound to v's `__enter__()`."""
        ap = self.parent(node)
        item = self.parent(ap) if ap is not None else None
        if ap is not None and item is not None and item.type == "with_item":
            value = ap.child_by_field_name("value") or ap.named_children[0]
            for target in _targets(node):
                self._bind_target(scope, target, value, "with", annotatable=False)
        return scope

    def _walrus(self, node: Node, scope: Scope) -> Scope:
        """`(x := v)` binds x outside the comprehensions it is in."""
        name = node.child_by_field_name("name")
        target_scope = scope
        while target_scope.kind == "comprehension" and target_scope.parent is not None:
            target_scope = target_scope.parent
        if name is not None:
            self._bind_target(target_scope, name, node.child_by_field_name("value"), None, annotatable=False)
        return scope

    def _declare(self, node: Node, scope: Scope) -> Scope:
        declared = scope.globals if node.type == "global_statement" else scope.nonlocals
        for c in node.named_children:
            if c.type == "identifier":
                declared.add(self.src.text(c))
        return scope

    def _type_alias(self, node: Node, scope: Scope) -> Scope:
        left = node.child_by_field_name("left")
        if left is not None and scope.kind == "module":
            self.file_scope.append(ScopeName(self.src.text(left), "alias"))
        return scope

    def _function(self, node: Node, scope: Scope) -> Scope:
        name = node.child_by_field_name("name")
        fname = self.src.text(name) if name is not None else "<anonymous>"
        if name is not None:
            self._bind(scope, fname, "def", name)
        rt = node.child_by_field_name("return_type")
        if rt is not None:
            arrow = _before(node, rt)
            self.src.add_annotation(arrow.start_byte if arrow is not None else rt.start_byte, rt.end_byte)
        fn = self._new_scope("function", node, scope, fname)
        body = node.child_by_field_name("body")
        fn.function = Function(node, body.start_byte if body is not None else node.end_byte, _is_async(node))
        self.functions.append((fn.function, fn))
        params = node.child_by_field_name("parameters")
        if params is not None:
            is_method = scope.kind == "class" and not _has_decorator(
                self.src, node, "staticmethod", self.parent
            )
            self._params(params, fn, fname, is_method)
        return fn

    def _params(self, params: Node, fn: Scope, fname: str, is_method: bool) -> None:
        """Bind a function's parameters in its scope: sites, but a method's receiver (`self`)."""
        assert fn.function is not None and fn.node is not None
        first = True
        for p in params.named_children:
            n = _param_name(p)
            if n is None:
                continue
            pname = self.src.text(n)
            ann = p.child_by_field_name("type")
            if ann is None and p.type == "typed_parameter":
                ann = next((c for c in p.named_children if c.type == "type"), None)
            if ann is not None:
                colon = _before(p, ann)
                self.src.add_annotation(
                    colon.start_byte if colon is not None else ann.start_byte, ann.end_byte
                )
            if first and is_method and p.type in ("identifier", "typed_parameter"):
                first = False
                if not _has_decorator(self.src, fn.node, "classmethod", self.parent) and fname != "__new__":
                    fn.receiver = pname
                self._bind(fn, pname, "skip", n)
                continue
            first = False
            site = self._bind(fn, pname, "param", n).site
            if site is not None:
                site.annotation, site.default, site.fn = ann, p.child_by_field_name("value"), fn.function

    def _bind(self, scope: Scope, name: str, kind: str, node: Node) -> Binding:
        scope = _declaring_scope(scope, name)
        b = scope.bindings.get(name)
        if b is None:
            b = Binding(name, kind, node)
            scope.bindings[name] = b
            if kind in ("param", "var"):
                b.site = Site(kind, name, "", node, binding=b, scope=scope)
        elif kind in ("def", "class", "import") and b.kind == "var":
            b.kind = kind  # a name that is also a function/class/module is not a var site
        return b

    def _assignment(self, node: Node, scope: Scope) -> Scope:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        ann = node.child_by_field_name("type")
        while right is not None and right.type == "assignment":  # a = b = value
            right = right.child_by_field_name("right")
        if left is None:
            return scope
        if ann is not None:
            colon = _before(node, ann)
            self.src.add_annotation(colon.start_byte if colon is not None else ann.start_byte, ann.end_byte)
        if scope.kind == "module" and left.type == "identifier" and self._module_type_name(left, right, ann):
            self._bind(scope, self.src.text(left), "skip", left)  # a type, not a variable
            return scope
        targets = _targets(left)
        single = len(targets) == 1 and targets[0] is left
        cat = None if single else "unpack"
        for target in targets:
            self._bind_target(
                scope, target, right, cat, annotatable=single, annotation=ann if single else None
            )
        return scope

    def _module_type_name(self, left: Node, right: Node | None, ann: Node | None) -> bool:
        """`T = TypeVar("T")`, `X = NewType(...)`: names of types (True), not variables.
        `X: TypeAlias = ...` and `X = Union[...]` (a type expression: `binds_alias`) are aliases
        too, but keep their sites (annotated, or a variable the `type-alias` rule predicts)."""
        name = self.src.text(left)
        if binds_alias(right, ann):
            self.file_scope.append(ScopeName(name, "alias"))
        elif right is not None and right.type == "call":
            callee = self.src.text(right.child_by_field_name("function")).rsplit(".", 1)[-1]
            if callee in ("TypeVar", "ParamSpec", "TypeVarTuple"):
                self.file_scope.append(ScopeName(name, "type_param"))
                return True
            if callee in ("NewType", "NamedTuple", "TypedDict"):
                self.file_scope.append(ScopeName(name, "alias"))
                return True
        return False

    def _bind_target(
        self,
        scope: Scope,
        target: Node,
        value: Node | None,
        cat: str | None,
        *,
        annotatable: bool,
        annotation: Node | None = None,
    ) -> None:
        """Bind a name, or a `self.x` attribute, to `value` (`cat`: its category, if not its own)."""
        if target.type == "identifier":
            self._bind_name(scope, target, value, cat, annotatable, annotation)
        elif target.type == "attribute":
            self._bind_member(scope, target, value, cat, annotatable, annotation)

    def _bind_name(
        self,
        scope: Scope,
        target: Node,
        value: Node | None,
        cat: str | None,
        annotatable: bool,
        annotation: Node | None,
    ) -> None:
        name = self.src.text(target)
        if scope.kind in ("lambda", "comprehension"):
            self._bind(scope, name, "skip", target)
            return
        # `global x` / `nonlocal x`: an annotation of x in this scope is a SyntaxError
        declared_elsewhere = name in scope.globals or name in scope.nonlocals
        b = self._bind(scope, name, "var", target)
        site = b.site
        if site is None:  # a def, class, import or lambda parameter
            return
        if b.node is target:  # the first binding: the site
            site.annotation, site.annotatable = annotation, annotatable and not declared_elsewhere
            site.definition, site.category = value, cat
        elif b.kind != "var":  # a parameter (or a def, class, import) assigned again
            if value is not None:
                site.later.append(value)
        elif (
            annotatable
            and annotation is None
            and not declared_elsewhere
            and not site.annotatable
            and site.annotation is None
        ):
            # the site moves to the first binding that can carry the annotation (in its own scope)
            if site.definition is not None:
                site.later.append(site.definition)
            b.node = site.node = target
            site.scope, site.annotatable = scope, True
            site.definition, site.category = value, cat
        else:
            _rebind(b, site, target, site.scope, value, cat, annotation, annotatable)

    def _bind_member(
        self,
        scope: Scope,
        target: Node,
        value: Node | None,
        cat: str | None,
        annotatable: bool,
        annotation: Node | None,
    ) -> None:
        """`self.x = value` in a method: a site of the class, named `self.x`."""
        obj = target.child_by_field_name("object")
        attr = target.child_by_field_name("attribute")
        cls = _enclosing_class(scope)
        if (
            obj is None
            or attr is None
            or cls is None
            or cls.members is None
            or obj.type != "identifier"
            or self.src.text(obj) != scope.receiver
        ):
            return
        name = f"{scope.receiver}.{self.src.text(attr)}"
        found = cls.members.get(name)
        if found is None:
            b = cls.members[name] = Binding(name, "var", target)
            b.site = Site("var", name, "", target, annotatable, annotation, binding=b, scope=scope)
            b.site.definition, b.site.category = value, cat
        elif found.site is not None:
            _rebind(found, found.site, target, scope, value, cat, annotation, annotatable)

    def _import(self, node: Node, scope: Scope) -> Scope:
        top = scope.kind == "module"
        module = None
        if node.type == "import_from_statement":
            mod = node.child_by_field_name("module_name")
            module = self.src.text(mod)
        for c in node.children_by_field_name("name"):
            if c.type == "aliased_import":
                orig = c.child_by_field_name("name")
                alias = c.child_by_field_name("alias")
                bound = self.src.text(alias)
                full = self.src.text(orig)
            else:
                full = self.src.text(c)
                bound = full if module is not None else full.split(".")[0]
            self._bind(scope, bound, "import", c)
            if top:
                if module is None:
                    self.file_scope.append(ScopeName(bound, "import", full))
                else:
                    self.file_scope.append(ScopeName(bound, "import", module))
        return scope

    # ------------------------------------------------------------------ pass 2: resolve
    def resolve(self) -> None:
        resolve(self.scopes, self.src.text)
        # self.x references: attribute nodes on the method's first parameter
        for _fnode, fscope in self.functions:
            cls = _enclosing_class(fscope)
            if cls is None or cls.members is None or fscope.receiver is None:
                continue
            sb = fscope.bindings.get(fscope.receiver)
            if sb is None:
                continue
            for ref in sb.refs:
                parent = self.parent(ref)
                if parent is None or parent.type != "attribute":
                    continue
                attr = parent.child_by_field_name("attribute")
                ib = cls.members.get(f"{fscope.receiver}.{self.src.text(attr)}")
                if ib is not None and ib.node is not parent:
                    ib.refs.append(parent)

    # ------------------------------------------------------------------ sites
    def slices(self) -> list[Slice]:
        return assemble(self.sites(), self, self.src, self.path, "python", self.file_scope)

    def release(self) -> None:
        """Once its slices are made: its records freed without the garbage collector (`unlink`)."""
        unlink(self.scopes, [site for fn, _ in self.functions for site in fn.sites])
        self.functions.clear()
        self.handlers.clear()
        self.uses.handlers.clear()

    def sites(self) -> list[Site]:
        """The sites of the file, each with its function, window bounds and peers."""
        by_node = {fn.node.id: fn for fn, _ in self.functions}
        returns = [self._return_site(fn, fscope) for fn, fscope in self.functions]
        out: list[Site] = []
        for scope in self.scopes:
            for b in scope.bindings.values():
                if b.site is None:
                    continue
                if b.kind == "param":
                    out.append(self._param_site(b.site))
                elif b.kind == "var" and _is_var_site(scope, b.name):
                    out.append(self._var_site(b.site, by_node))
            for b in (scope.members or {}).values():
                if b.site is not None:
                    out.append(self._var_site(b.site, by_node))
        return out + returns

    def _return_site(self, fn: Function, fscope: Scope) -> Site:
        fnode = fn.node
        name = fnode.child_by_field_name("name")
        site = Site("return", self.src.text(name), fscope.qualname, name if name is not None else fnode)
        site.annotation = fnode.child_by_field_name("return_type")
        site.fn, site.container, site.scope, site.is_async = fn, fnode, fscope, fn.is_async
        params = [b.site for b in fscope.bindings.values() if b.kind == "param" and b.site is not None]
        fn.sites = [*params, site]
        site.peers = fn.sites
        return site

    def _param_site(self, site: Site) -> Site:
        assert site.fn is not None and site.scope is not None
        site.qualname, site.annotatable = site.scope.qualname, True
        site.container, site.is_async, site.peers = site.fn.node, site.fn.is_async, site.fn.sites
        return site

    def _var_site(self, site: Site, by_node: dict[int, Function]) -> Site:
        scope = site.scope
        assert scope is not None
        site.qualname = scope.qualname
        fnode = self._enclosing_function(site.node)
        site.fn = by_node[fnode.id] if fnode is not None else None
        site.container = fnode if fnode is not None or scope.kind != "class" else scope.node
        if scope.kind == "class":
            site.peers = [b.site for b in scope.bindings.values() if b.kind == "var" and b.site is not None]
            site.peer_limit = 16
        elif scope.kind == "function" and scope.function is not None:
            site.peers = scope.function.sites
        return site

    def _enclosing_function(self, node: Node) -> Node | None:
        p = self.parent(node)
        while p is not None:
            if p.type == "function_definition":
                return p
            p = self.parent(p)
        return None

    # ------------------------------------------------------------------ the assembler's questions
    def use(self, eb: EvidenceBuilder, node: Node) -> None:
        self.uses.use(eb, node)

    def category(self, node: Node) -> str:
        return category(node)

    def signature(self, fn: Function) -> str:
        text = self.src.strip_annotations(fn.node.start_byte, fn.signature_end)
        return clip(text.rstrip().rstrip(":"), 400)

    def decorators(self, fn: Function) -> list[str]:
        return _decorators(self.src, fn.node, self.parent)

    def body_completes(self, fn: Function) -> bool:
        body = fn.node.child_by_field_name("body")
        return body is not None and _completes(body)

    def references(self, site: Site) -> list[Node]:
        return site.binding.refs if site.binding is not None else []

    def result_uses(self, site: Site) -> list[Node]:
        """How callers use a function's result: f(...).m(), len(f(...)), x = f(...)."""
        fscope = site.scope
        fb = fscope.parent.bindings.get(site.name) if fscope is not None and fscope.parent else None
        calls = []
        for ref in fb.refs if fb is not None else ():
            call = self.parent(ref)
            if call is not None and call.type == "call" and call.child_by_field_name("function") == ref:
                calls.append(call)
        return calls

    def own_evidence(self, eb: EvidenceBuilder, site: Site) -> None:
        pass


def _is_var_site(scope: Scope, name: str) -> bool:
    if scope.kind in ("lambda", "comprehension"):
        return False
    return not (name.startswith("__") and name.endswith("__"))


# ---------------------------------------------------------------------- helpers
def _enclosing_class(scope: Scope) -> Scope | None:
    """The class whose method `scope` is, if it is one."""
    if scope.kind == "function" and scope.parent is not None and scope.parent.kind == "class":
        return scope.parent
    return None


def _function_of(scope: Scope) -> Function | None:
    """The function a `return` or `yield` in `scope` belongs to (comprehensions are skipped)."""
    fs: Scope | None = scope
    while fs is not None and fs.kind == "comprehension":
        fs = fs.parent
    return fs.function if fs is not None else None


def _declaring_scope(scope: Scope, name: str) -> Scope:
    """The scope a name bound in `scope` belongs to: the module for `global`, the nearest enclosing
    function binding it for `nonlocal` (class scopes are skipped, as Python does)."""
    if name in scope.globals:
        while scope.parent is not None and scope.kind != "module":
            scope = scope.parent
        return scope
    if name in scope.nonlocals:
        outer = scope.parent
        first: Scope | None = None
        while outer is not None and outer.kind != "module":
            if outer.kind == "function":
                first = first or outer
                if name in outer.bindings:
                    return _declaring_scope(outer, name)
            outer = outer.parent
        if first is not None:
            return _declaring_scope(first, name)
    return scope


def _rebind(
    b: Binding,
    site: Site,
    target: Node,
    scope: Scope | None,
    value: Node | None,
    cat: str | None,
    annotation: Node | None,
    annotatable: bool,
) -> None:
    """A later binding of a site's name: the first *annotated* binding is where the site is
    (that is where the declaration is); other values become later assignments."""
    if annotation is not None and site.annotation is None:
        if site.definition is not None:
            site.later.append(site.definition)
        b.node = site.node = target
        site.scope, site.annotation, site.annotatable = scope, annotation, annotatable
        site.definition, site.category = value, cat
    elif value is not None:
        site.later.append(value)


_NO_COMPLETION = frozenset({"return_statement", "raise_statement"})


def _completes(node: Node, depth: int = 0) -> bool:
    """Whether running a statement (or block) can reach its end, so a function body can end
    without a `return`.  Where unsure (deep nesting, `match`, calls that never return) it says yes."""
    t = node.type
    if t in _NO_COMPLETION:
        return False
    if depth > 100:
        return True
    if t == "block":
        return all(_completes(c, depth + 1) for c in node.named_children if c.type != "comment")
    if t == "if_statement":
        branches = [node.child_by_field_name("consequence")]
        has_else = False
        for alt in node.children_by_field_name("alternative"):
            branches.append(alt.child_by_field_name("consequence") or alt.child_by_field_name("body"))
            has_else = has_else or alt.type == "else_clause"
        return not has_else or any(b is None or _completes(b, depth + 1) for b in branches)
    if t == "while_statement":
        cond = node.child_by_field_name("condition")
        forever = cond is not None and cond.type in ("true", "integer") and cond.text not in (b"0",)
        return not forever or has_break(node.child_by_field_name("body"), _OWN_BREAKS)
    if t == "try_statement":
        parts = {c.type: c for c in node.named_children}
        fin = parts.get("finally_clause")
        if fin is not None and not _completes_clause(fin, depth):
            return False
        body = node.child_by_field_name("body")
        else_clause = parts.get("else_clause")
        main = body is None or _completes(body, depth + 1)
        if else_clause is not None and main:
            main = _completes_clause(else_clause, depth)
        handlers = [c for c in node.named_children if c.type in ("except_clause", "except_group_clause")]
        return main or any(_completes_clause(h, depth) for h in handlers)
    if t in ("with_statement", "decorated_definition"):
        body = node.child_by_field_name("body")
        return body is None or t == "decorated_definition" or _completes(body, depth + 1)
    return True


def _completes_clause(clause: Node, depth: int) -> bool:
    block = next((c for c in clause.named_children if c.type == "block"), None)
    return block is None or _completes(block, depth + 1)


_OWN_BREAKS = frozenset(
    {"while_statement", "for_statement", "function_definition", "class_definition", "lambda"}
)


# the field of a parent that holds a reference (its other children are names of something else)
_REFERENCE_FIELD = {
    "attribute": "object",
    "keyword_argument": "value",
    "default_parameter": "value",
    "typed_default_parameter": "value",
}
_NOT_REFERENCE_PARENTS = frozenset(
    {
        "function_definition",
        "class_definition",
        "parameters",
        "lambda_parameters",
        "typed_parameter",
        "dotted_name",
        "aliased_import",
        "import_prefix",
        "global_statement",
        "nonlocal_statement",
        "import_from_statement",
        "import_statement",
        "type",
    }
)


def _is_reference(node: Node, parent: Parents) -> bool:
    """Whether an identifier reads (or rebinds) a variable, as opposed to naming something else."""
    p = parent(node)
    if p is None:
        return False
    pt = p.type
    holder = _REFERENCE_FIELD.get(pt)
    if holder is not None:
        return p.child_by_field_name(holder) == node
    if pt in ("list_splat_pattern", "dictionary_splat_pattern"):  # `*args` is no reference, `[*xs] = ...` is
        gp = parent(p)
        return gp is not None and gp.type not in ("parameters", "lambda_parameters", "typed_parameter")
    return pt not in _NOT_REFERENCE_PARENTS


def _param_name(p: Node) -> Node | None:
    t = p.type
    if t == "identifier":
        return p
    if t in ("default_parameter", "typed_default_parameter"):
        return p.child_by_field_name("name")
    if t == "typed_parameter":
        inner = p.named_children[0] if p.named_child_count else None
        if inner is None:
            return None
        return _param_name(inner)
    if t in ("list_splat_pattern", "dictionary_splat_pattern"):
        inner = p.named_children[0] if p.named_child_count else None
        return inner if inner is not None and inner.type == "identifier" else None
    return None


def _targets(node: Node) -> list[Node]:
    """Names (identifiers and attributes) bound by an assignment/for/with target, in order
    (an explicit stack: `((((x)))) = 1` may nest deeper than Python's recursion limit)."""
    out: list[Node] = []
    todo = [node]
    while todo:
        n = todo.pop()
        t = n.type
        if t in ("identifier", "attribute"):
            out.append(n)
        elif t == "as_pattern_target" or t in _TARGET_CONTAINERS:
            todo.extend(reversed(n.named_children))
    return out


def _before(parent: Node, child: Node) -> Node | None:
    """The child of `parent` just before `child` (tokens included): `Node.prev_sibling`
    costs O(depth), this O(siblings)."""
    prev = None
    for c in parent.children:
        if c.id == child.id:
            return prev
        prev = c
    return None


def _decorators(src: Source, fnode: Node, parent: Parents) -> list[str]:
    p = parent(fnode)
    if p is None or p.type != "decorated_definition":
        return []
    return [clip(src.text(d).lstrip("@"), 80) for d in p.named_children if d.type == "decorator"]


def _has_decorator(src: Source, fnode: Node, name: str, parent: Parents) -> bool:
    p = parent(fnode)
    if p is None or p.type != "decorated_definition":
        return False
    for d in p.named_children:
        if d.type == "decorator" and src.text(d).strip("@ \t") == name:
            return True
    return False


def _is_async(fnode: Node) -> bool:
    return fnode.child_count > 0 and fnode.children[0].type == "async"


def _unwrap_up(node: Node, parent: Parents) -> tuple[Node, Node | None]:
    """Climb out of parentheses: the node whose parent says how the value is used, and that parent."""
    p = parent(node)
    while p is not None and p.type == "parenthesized_expression":
        node, p = p, parent(p)
    return node, p


class _Uses:
    """What one use of a value (an identifier, `self.x`, or a call's result) tells, by the type of
    the node it is used in (its parent, outside parentheses): one handler per type."""

    def __init__(self, src: Source, parent: Parents) -> None:
        self.src = src
        self.parent = parent
        self.handlers: dict[str, Callable[[EvidenceBuilder, Node, Node], None]] = {
            "attribute": self.attribute,
            "argument_list": self.argument,
            "keyword_argument": self.keyword_argument,
            "list_splat": self.splat,
            "dictionary_splat": self.splat,
            "binary_operator": self.binary,
            "augmented_assignment": self.binary,
            "comparison_operator": self.comparison,
            "not_operator": self.unary,
            "unary_operator": self.unary,
            "boolean_operator": self.boolean,
            "subscript": self.subscript,
            "for_statement": self.iteration,
            "for_in_clause": self.iteration,
            "call": self.call,
            "await": self.awaited,
            "return_statement": self.returned,
            "as_pattern": self.with_item,
            "yield": self.yielded,
            "interpolation": self.formatted,
            "format_expression": self.formatted,
            "assignment": self.assigned,
            **{
                t: self.condition
                for t in ("if_statement", "while_statement", "elif_clause", "assert_statement")
            },
            "conditional_expression": self.conditional,
            **{t: self.element for t in ("list", "tuple", "set", "expression_list")},
            "pair": self.pair,
            "slice": self.slice_bound,
            "raise_statement": self.raised,
        }

    def use(self, eb: EvidenceBuilder, ref: Node) -> None:
        node, p = _unwrap_up(ref, self.parent)
        if p is not None:
            handler = self.handlers.get(p.type)
            if handler is not None:
                handler(eb, node, p)

    def text(self, node: Node | None) -> str:
        return self.src.text(node)

    def callee(self, arglist: Node) -> str:
        """The text of the callee of an argument list (`class` for a class's bases)."""
        call = self.parent(arglist)
        if call is None:
            return ""
        if call.type == "call":
            return self.text(call.child_by_field_name("function"))
        return "class" if call.type == "class_definition" else call.type

    def attribute(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        if p.child_by_field_name("object") != node:
            return
        attr = self.text(p.child_by_field_name("attribute"))
        gp = _unwrap_up(p, self.parent)[1]
        if gp is not None and gp.type == "call" and gp.child_by_field_name("function") == p:
            args = gp.child_by_field_name("arguments")
            eb.call_on(attr, args.named_child_count if args is not None else 0)
        elif (
            gp is not None
            and gp.type in ("assignment", "augmented_assignment")
            and gp.child_by_field_name("left") == p
        ):
            eb.attr_written(attr)
        else:
            eb.attr_read(attr)

    def argument(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        callee = self.callee(p)
        idx = 0
        for c in p.named_children:
            if c == node:
                break
            if c.type not in ("keyword_argument", "comment"):
                idx += 1
        eb.passed_to(callee, arg=idx)
        if callee in ("isinstance", "issubclass") and idx == 0 and p.named_child_count > 1:
            eb.type_check(self.text(p.named_children[1]))

    def keyword_argument(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        arglist = self.parent(p)
        if arglist is not None and arglist.type == "argument_list":
            eb.passed_to(self.callee(arglist), keyword=self.text(p.child_by_field_name("name")))

    def splat(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        arglist = self.parent(p)
        if arglist is not None and arglist.type == "argument_list":
            eb.passed_to(self.callee(arglist), keyword="*" if p.type == "list_splat" else "**")
        if p.type == "list_splat":
            eb.iterated()

    def binary(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        """`x + 1`, `x += 1`, `n * x`."""
        op = self.text(p.child_by_field_name("operator"))
        left = p.child_by_field_name("left")
        right = p.child_by_field_name("right")
        if left == node and right is not None:
            eb.operator(op, operand_kind(self.src, right), "left")
        elif left is not None:
            eb.operator(op, operand_kind(self.src, left), "right")

    def comparison(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        kids = p.children
        i = next((k for k, c in enumerate(kids) if c == node), None)
        if i is None:
            return

        # operators are unnamed children between operands; `is not` / `not in` span two tokens
        def op_between(a: int, b: int) -> str:
            return " ".join(self.text(c) for c in kids[a + 1 : b] if not c.is_named)

        nxt = next((k for k in range(i + 1, len(kids)) if kids[k].is_named), None)
        prv = next((k for k in range(i - 1, -1, -1) if kids[k].is_named), None)
        if nxt is not None:
            eb.operator(op_between(i, nxt), operand_kind(self.src, kids[nxt]), "left")
        if prv is not None:
            eb.operator(op_between(prv, i), operand_kind(self.src, kids[prv]), "right")

    def unary(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        op = "not" if p.type == "not_operator" else self.text(p.child_by_field_name("operator"))
        eb.operator(op, "", "unary")

    def boolean(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        eb.operator(self.text(p.child_by_field_name("operator")), "", "left")

    def subscript(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        value = p.child_by_field_name("value")
        if value == node:
            index = p.child_by_field_name("subscript")
            eb.subscript(operand_kind(self.src, index) if index is not None else "")
        elif value is not None:
            eb.operator(vocab.INDEX, operand_kind(self.src, value), "right")

    def iteration(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        if p.child_by_field_name("right") == node:
            eb.iterated()

    def call(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        if p.child_by_field_name("function") == node:
            eb.called()

    def awaited(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        eb.awaited()

    def returned(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        eb.returned()

    def with_item(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        item = self.parent(p)
        if item is not None and item.type == "with_item":
            eb.call_on("__enter__", 0)

    def yielded(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        eb.operator(vocab.YIELD, "", "unary")

    def formatted(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        eb.operator(vocab.FORMAT, "str", "unary")

    def assigned(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        left = p.child_by_field_name("left")
        if p.child_by_field_name("right") == node and left is not None:
            eb.operator(vocab.ASSIGN, operand_kind(self.src, left), "right")

    def condition(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        eb.operator(vocab.TRUTHY, "", "unary")

    def conditional(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        kids = p.named_children
        if len(kids) == 3 and kids[1] == node:
            eb.operator(vocab.TRUTHY, "", "unary")
        else:
            other = kids[2] if kids and kids[0] == node and len(kids) == 3 else kids[0]
            eb.operator(vocab.IF_ELSE, operand_kind(self.src, other), "left")

    def element(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        eb.operator(vocab.ELEMENT, _COLLECTIONS.get(p.type, "tuple"), "unary")

    def pair(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        key = p.child_by_field_name("key") == node
        eb.operator(vocab.DICT_KEY if key else vocab.DICT_VALUE, "dict", "unary")

    def slice_bound(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        eb.operator(vocab.SLICE_BOUND, "int", "unary")

    def raised(self, eb: EvidenceBuilder, node: Node, p: Node) -> None:
        eb.operator(vocab.RAISE, "", "unary")


def extract_python(data: bytes, path: str) -> tuple[list[Slice], list[Diagnostic]]:
    """Slices and syntax diagnostics for one Python source (UTF-8 bytes), broken blocks
    recovered (`recover.py`)."""
    return extract_recovering(data, "python", lambda buf: analyse_python(buf, path))


def analyse_python(data: bytes, path: str, keep: bool = True) -> _PythonSlicer:
    """One buffer walked and its references resolved (`keep`: its tree kept among the shared
    parses); `sites()` and `assemble` make its slices."""
    s = _PythonSlicer(data, path, keep)
    s.build()
    s.resolve()
    return s
