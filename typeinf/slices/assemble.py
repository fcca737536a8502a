"""The slice assembler, for both languages: resolved sites in, `Slice`s out.

    assemble(sites, frontend, source, path, language, file_scope) -> list[Slice]   (by position)

A walker (`python.py`, `typescript.py`) finds the sites, binds names and resolves references
(`scopes.py`); this module turns each `Site` into a `Slice` the same way for every language: the
definition, default and later assignments, the uses of the name, the signature and decorators of
its function, its returns and yields and the uses of its function's results (for a return), the
window, the neighbours (the annotations of its peers) and the names in scope.  What differs
between the languages comes from the `Frontend`: how a use is classified, an expression's
category, the signature's text, the decorators, whether a body can end without a `return`, the
references of a site and the calls whose results are a return's uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .data import Evidence, Expr, Neighbour, ScopeName, Slice
from .evidence import EvidenceBuilder
from .source import WINDOW_LINES, Source

if TYPE_CHECKING:
    from tree_sitter import Node

    from .scopes import Function, Site

KIND_ORDER = {"param": 0, "return": 1, "var": 2}
MAX_RETURNS = 12


class Frontend(Protocol):
    """What one language tells the assembler."""

    def use(self, eb: EvidenceBuilder, node: Node) -> None:
        """Record what one use of a value (a reference, `this.x`, a call's result) tells."""

    def category(self, node: Node) -> str:
        """An expression's category: literal, call, name, attribute, collection, ..."""

    def signature(self, fn: Function) -> str:
        """The function's signature text, annotations removed."""

    def decorators(self, fn: Function) -> list[str]:
        """The function's decorators."""

    def body_completes(self, fn: Function) -> bool:
        """Whether the function's body can reach its end (an implicit `None` / `undefined`)."""

    def references(self, site: Site) -> list[Node]:
        """The uses of the site's name, in the order they are to be recorded."""

    def result_uses(self, site: Site) -> list[Node]:
        """For a return site: the calls of its function whose results are used."""

    def own_evidence(self, eb: EvidenceBuilder, site: Site) -> None:
        """Evidence only this language has (TypeScript: the keys of a destructuring pattern)."""


def assemble(
    sites: list[Site],
    frontend: Frontend,
    source: Source,
    path: str,
    language: str,
    file_scope: list[ScopeName],
) -> list[Slice]:
    """The slices of `sites`, ordered by position (a param before the return at the same name)."""
    assembler = Assembler(frontend, source, path, language, file_scope)
    return [assembler.slice(s) for s in sorted(sites, key=site_order)]


def site_order(site: Site) -> tuple[int, int]:
    """The order of the slices: by position, a param before the return at the same name."""
    return site.start, KIND_ORDER[site.kind]


def _first(item: tuple[int, Node | None]) -> int:
    return item[0]


class Assembler:
    """One file's assembly: the front end and the caches its sites share (signatures, windows)."""

    def __init__(
        self, frontend: Frontend, source: Source, path: str, language: str, file_scope: list[ScopeName]
    ) -> None:
        self.front = frontend
        self.source = source
        self.path = path
        self.language = language
        self.file_scope = file_scope
        self.signatures: dict[int, str] = {}  # by id of the Function
        self.windows: dict[tuple[int, int, int], str] = {}
        self.scopes: dict[tuple[str, ...], list[ScopeName]] = {}

    def slice(self, site: Site) -> Slice:
        line, column = self.source.position(site.start)
        scope = self.file_scope
        if site.type_params:  # one list per set of type parameters (shared, as the file's is)
            shared = self.scopes.get(site.type_params)
            if shared is None:
                shared = self.scopes[site.type_params] = self.file_scope + [
                    ScopeName(n, "type_param") for n in site.type_params
                ]
            scope = shared
        return Slice(
            file=self.path,
            language=self.language,
            kind=site.kind,
            name=site.name,
            qualname=site.qualname,
            line=line,
            column=column,
            span=(site.start, site.end),
            annotatable=site.annotatable,
            annotation=self.annotation_text(site),
            evidence=self.evidence(site),
            scope=scope,
            neighbours=self.neighbours(site),
            is_async=site.is_async,
        )

    def annotation_text(self, site: Site) -> str | None:
        if site.annotation is None:
            return None
        text = self.source.text(site.annotation)
        return text[1:].strip() if text.startswith(":") else text.strip()

    def neighbours(self, site: Site) -> list[Neighbour]:
        if site.peers is None:
            return []
        out: list[Neighbour] = []
        for o in site.peers:
            if o is not site and o.annotation is not None and len(out) < site.peer_limit:
                out.append(Neighbour(o.kind, o.name, self.annotation_text(o) or ""))
        return out

    def evidence(self, site: Site) -> Evidence:
        eb = EvidenceBuilder()
        ev = eb.ev
        if site.definition is not None:
            category = site.category or self.front.category(site.definition)
            ev.definition = Expr(self.source.expr_text(site.definition), category)
        elif site.derived is not None:
            ev.definition = Expr(*site.derived)
        if site.default is not None:
            ev.default = self.expr(site.default)
        for value in site.later:
            eb.assignment(self.expr(value))
        for ref in self.front.references(site):
            self.front.use(eb, ref)
        self.front.own_evidence(eb, site)
        fn = site.fn
        if fn is not None:
            ev.signature = self.signature(fn)
            if site.kind != "var":
                ev.decorators = self.front.decorators(fn)
            if site.kind == "return":
                self.return_evidence(eb, site, fn)
        ev.window = self.window(site)
        return ev

    def return_evidence(self, eb: EvidenceBuilder, site: Site, fn: Function) -> None:
        """Returned and yielded expressions, and how callers use the result (`f().m()`)."""
        eb.ev.returns = [self.expr_or_bare(n) for _, n in sorted(fn.returns, key=_first)[:MAX_RETURNS]]
        eb.ev.yields = [self.expr_or_bare(n) for _, n in sorted(fn.yields, key=_first)[:MAX_RETURNS]]
        eb.ev.ends_without_value = any(n is None for _, n in fn.returns) or self.front.body_completes(fn)
        for call in self.front.result_uses(site):
            self.front.use(eb, call)

    def expr(self, node: Node) -> Expr:
        return Expr(self.source.expr_text(node), self.front.category(node))

    def expr_or_bare(self, node: Node | None) -> Expr:
        return Expr("", "bare") if node is None else self.expr(node)

    def signature(self, fn: Function) -> str:
        key = id(fn)
        sig = self.signatures.get(key)
        if sig is None:
            sig = self.signatures[key] = self.front.signature(fn)
        return sig

    def window(self, site: Site) -> str:
        """`Source.window`, shared by the sites whose windows are the same lines."""
        src = self.source
        node = site.container
        line = src.line_of(site.start)
        if node is None:
            key = (-1, -1, line)
        else:
            first, last = src.line_of(node.start_byte), src.line_of(max(node.start_byte, node.end_byte - 1))
            key = (node.start_byte, node.end_byte, line if last - first >= WINDOW_LINES else -1)
        text = self.windows.get(key)
        if text is None:
            text = self.windows[key] = src.window(site.start, node)
        return text
