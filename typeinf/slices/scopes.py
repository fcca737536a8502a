"""What a slicer's walk builds, for both languages: scopes, the names bound in them, the sites.

    Scope      a lexical scope: its parent, the names bound in it, the references read in it
    Binding    one name bound in one scope, the references resolved to it, its site (if any)
    Site       one typeable position (a parameter, a return, a variable), what `assemble`
               turns into a `Slice`
    Function   a function that has sites: its signature span, returns, yields, its sites
    lookup(scope, name)          the binding a name read in `scope` refers to
    resolve(scopes, text, ...)   attach every reference to the binding it resolves to
    unlink(scopes, sites)        break the records' reference cycles once their slices are made

A walker (`python.py`, `typescript.py`) creates these records; `resolve` links references to
bindings; the assembler (`assemble.py`) reads them.  Nothing here looks at syntax.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node


@dataclass(slots=True, eq=False)
class Scope:
    """A lexical scope.  `kind` is Python's (module, class, function, lambda, comprehension; a
    class scope does not enclose the scopes nested in it) or `block` (TypeScript)."""

    parent: Scope | None
    kind: str = "block"
    node: Node | None = None
    qualname: str = ""
    bindings: dict[str, Binding] = field(default_factory=dict)
    refs: list[Node] = field(default_factory=list)  # identifiers read (or rebound) here, in walk order
    # Python: names a `global` / `nonlocal` statement here binds in another scope
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    function: Function | None = None  # a function's own scope (Python): the function
    receiver: str | None = None  # Python methods: the first parameter (`self`)
    members: dict[str, Binding] | None = None  # Python classes: `self.x` attributes by `self.x`


@dataclass(slots=True, eq=False)
class Binding:
    """One name bound in one scope.

    kind (Python): param | var | def | import | class | skip (a name that is no site);
    TypeScript bindings keep the default.  `site` is set when the name is typed at a site,
    `fn` when it names a function declaration (calls of it tell about its return)."""

    name: str
    kind: str = "name"
    node: Node | None = None  # the node that binds the name, if recorded
    site: Site | None = None
    fn: Function | None = None
    refs: list[Node] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Function:
    """A function with sites."""

    node: Node
    signature_end: int  # the signature is the text from the function's start to here
    is_async: bool
    # (offset, expression or None for a bare `return`), in walk order
    returns: list[tuple[int, Node | None]] = field(default_factory=list)
    yields: list[tuple[int, Node | None]] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)  # params and the return: each other's neighbours
    binding: Binding | None = None  # the name a function declaration binds
    member_refs: dict[str, list[Node]] | None = None  # a method's class: `this.m` uses by name


@dataclass(slots=True, eq=False)
class Site:
    """One typeable position.  The span is that of `node` (the name, `self.x`, or a pattern)."""

    kind: str  # param | return | var
    name: str
    qualname: str
    node: Node
    annotatable: bool = True
    annotation: Node | None = None
    fn: Function | None = None  # a param's / return's function; a variable's enclosing function
    container: Node | None = None  # the node that bounds the window
    type_params: tuple[str, ...] = ()  # type parameters in scope (scope names of the slice)
    is_async: bool = False
    binding: Binding | None = None
    scope: Scope | None = None  # Python: the scope the site is declared in
    definition: Node | None = None
    category: str | None = None  # the definition's category, when not the node's own (`unpack`)
    derived: tuple[str, str] | None = None  # a definition with no node of its own: (text, category)
    default: Node | None = None
    later: list[Node] = field(default_factory=list)  # values of later assignments / declarations
    pattern: Node | None = None  # a destructuring pattern site: its keys are evidence
    member_refs: list[Node] | None = None  # a class member's uses through the receiver (`this.x`)
    peers: list[Site] | None = None  # the sites whose annotations are its neighbours
    peer_limit: int = 1 << 30

    @property
    def start(self) -> int:
        return self.node.start_byte

    @property
    def end(self) -> int:
        return self.node.end_byte


def lookup(scope: Scope, name: str) -> Binding | None:
    """The binding `name` read in `scope` refers to: the innermost scope that binds it, where
    the class scopes around `scope` do not count (Python; TypeScript has no class scopes)."""
    s: Scope | None = scope
    first = True
    while s is not None:
        if (first or s.kind != "class") and name in s.bindings:
            return s.bindings[name]
        first = False
        s = s.parent
    return None


def resolve(scopes: Iterable[Scope], text: Callable[[Node], str], wanted: set[str] | None = None) -> None:
    """Append every reference of every scope to the refs of the binding it resolves to, scope by
    scope (in the order given) and in walk order within a scope.  A binding's own node is not a
    reference; names outside `wanted` (when given) are not looked up."""
    for scope in scopes:
        for ref in scope.refs:
            name = text(ref)
            if wanted is not None and name not in wanted:
                continue
            b = lookup(scope, name)
            if b is not None and b.node is not ref:
                b.refs.append(ref)


def unlink(scopes: Iterable[Scope], sites: Iterable[Site]) -> None:
    """Break the reference cycles among a walk's records (a site, its binding, its scope, its
    function and its peers point at each other), once the slices are assembled, so that they are
    freed as soon as the walk is dropped.  Left to the garbage collector, an 8,000-line file's
    walk is ~10,000 objects in cycles per edit, and the language server's collection of a few
    edits' walks cost 150-220 ms (zod's `v3/types.ts`).  `sites`: those no binding holds (returns)."""
    for scope in scopes:
        for bindings in (scope.bindings, scope.members or {}):
            for b in bindings.values():
                if b.fn is not None:
                    _cut_function(b.fn)
                if b.site is not None:
                    _cut(b.site)
                b.site = b.fn = None
            bindings.clear()
        scope.function = None
    for site in sites:
        _cut(site)


def _cut(site: Site) -> None:
    if site.fn is not None:
        _cut_function(site.fn)
    site.binding = site.scope = site.fn = None
    site.peers = None


def _cut_function(fn: Function) -> None:
    fn.sites.clear()
    fn.binding = None
