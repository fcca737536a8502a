"""The engine: predictions for a project's files with all the evidence there is (issue #20).

    with Engine(predictor, index, checkers=make_checkers(root)) as engine:
        preds = engine.predict_files([FileSites(path, language, slices, text)], top_k=5)

One engine serves `predict`, `annotate` (each of its rounds) and the language server.  For each file:

1. the model's predictions, after the static facts and the member check (typeinf.inference.predict);
2. the project's evidence for each site (typeinf.inference.rerank.Evidence): how the project
   annotates the same (kind, name) elsewhere (the index's name table, typeinf.inference.names),
   the type checker's inferred type at the site (typeinf.checker: pyrefly for Python, the
   TypeScript compiler), asked for all the file's sites in one batch, its holes filled in a second
   batch (`filled`: for a Python variable that starts empty, `None` or `[]`, the type of what the
   code writes into it, typeinf.inference.writes; for a function that returns only calls, what
   they give, typeinf.inference.returned), for a parameter the
   types of the arguments the project's calls pass for it, and for a value passed to a project
   function the annotation of the parameter it is passed to (typeinf.inference.calls);
3. the model's top 5 re-ranked with that evidence and re-calibrated (typeinf.inference.rerank),
   when the model bundle has a fitted re-ranker (`rerank.json`);
4. a type the checker rejected at a site when annotate tried it (typeinf.annotate.judge, `reject`)
   is marked `rejected`: shown, never written.

The checker is fed the caller's text when it is newer than the disk (`FileSites.text`): in
annotate's later rounds that is what the earlier rounds wrote, so the returns and variables that
depend on an accepted annotation are inferred again with it (propagation, bounded by the rounds).
A checker that is not installed, crashes or times out leaves model-and-project results with one
warning (typeinf.checker.checker_or_none); `checkers=None` runs without one.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import NamedTuple

from ..checker.base import Checker, Diagnostic, Query, checker_or_none
from ..checker.kept import KeptAnswers
from ..lang import lang_family, standard_import
from ..memo import by_identity
from ..slices.data import ScopeName, Slice
from ..slices.source import parse
from ..types import names_in, union_members
from .calls import AcrossMemo, across
from .consistent import respelled
from .features import ProjectType
from .finalize import Prediction
from .names import Votes, label, ranked
from .predict import Predictor
from .project import ProjectIndex, module_name
from .rerank import Evidence, key, unqualified
from .returned import Returned, returned_calls
from .spelling import module_bindings, self_as_class, through_modules, through_project, without_redundant_none
from .static import is_stub
from .writes import Writes, compose, starts_empty, written

_PRIVATE_MODULE = re.compile(r"(?<![\w.])_[A-Za-z]\w*\.(?=[A-Za-z_])")
_UNKNOWN = frozenset({"Unknown", "unknown"})
_ANY = frozenset({"Any", "any"})
ACROSS_KEPT = 20_000  # evidence objects remembered by `Engine.across` (an editor's files' sites)
NAMED_KEPT = 50_000  # filtered votes remembered by `Engine.evidence`
Place = tuple[Path, Query]  # a question for the checker: a file and a position in it


class _Callee(NamedTuple):
    """The questions about a call whose result a function returns (`Engine._callees`)."""

    at: Place  # what the call gives, where it is
    definitions: tuple[Place, ...]  # what each project function of its name returns
    coroutines: tuple[Place, ...]  # whether awaiting it gives a type (a call not awaited)

    def answer(self, answers: Mapping[Place, str | None]) -> str | None:
        """What the call gives: the checker's answer at the call, else the one type every
        function it may call returns, unless one of them (called, not awaited) gives a coroutine."""
        got = answers.get(self.at)
        if got is not None or not self.definitions:
            return got
        if any(answers.get(g) is not None for g in self.coroutines):
            return None
        types = {answers.get(d) for d in self.definitions}
        return types.pop() if len(types) == 1 else None


def concrete(t: str | None, language: str) -> str | None:
    """The checker's type as evidence: None when a part of it is unknown or it is `Any` (or a union
    with `Any`: `Any | None`); private implementation modules dropped (`_asyncio.Future` is `Future`)."""
    fam = lang_family(language)
    if not t or not _UNKNOWN.isdisjoint(names_in(t, fam)):
        return None
    if not _ANY.isdisjoint(m.strip() for m in union_members(t, fam)):
        return None
    return _PRIVATE_MODULE.sub("", t)


def nameable(
    t: str, site: Slice, project: set[str] | frozenset[str], scope: set[str] | frozenset[str] | None = None
) -> bool:
    """Whether every name of the type exists at the site: in its scope (or the root of a qualified
    name is), a builtin or `typing` name, or a type of the project (importable).  `scope`: the
    names of the site's scope, when the caller has them."""
    fam = lang_family(site.language)
    if scope is None:
        scope = {n.name for n in site.scope}
    for name in names_in(t, fam):  # remembered (typeinf.types)
        root = name.split(".")[0]
        if name in scope or root in scope or name in project or standard_import(name, fam) is not None:
            continue
        return False
    return True


def _only(
    votes: Votes | None, ok: Callable[[str], bool], respell: Callable[[str], str | None] | None = None
) -> Votes | None:
    """The votes for nameable types (the total still counts every vote); `respell`: a type that is
    not nameable as written, in a form that is (None: none), votes for the same type merged."""
    if votes is None:
        return None
    if respell is None:
        kept = tuple((t, n) for t, n in votes.counts if ok(t))
        return Votes(kept, votes.total) if kept else None
    merged: dict[str, int] = {}
    for t, n in votes.counts:
        u = t if ok(t) else respell(t)
        if u is not None:
            merged[u] = merged.get(u, 0) + n
    if not merged:
        return None
    return Votes(tuple(sorted(merged.items(), key=lambda c: (-c[1], c[0]))), votes.total)


@by_identity(maxsize=256)  # a file's slices share their scope list
def _scope_names(scope: Sequence[ScopeName]) -> frozenset[str]:
    return frozenset(n.name for n in scope)


@by_identity(maxsize=8)  # the project index hands out one list per language while its types stay
def _names_of(types: Sequence[ProjectType]) -> frozenset[str]:
    return frozenset(p.name for p in types)


def _spelled(p: Prediction, modules: Mapping[str, str], bindings: Mapping[str, str]) -> Prediction:
    """The prediction and its alternatives with the project types spelled through the modules the
    file imports by name (typeinf.inference.spelling); the same object when nothing changes."""
    if not bindings or '"' in p.type or "'" in p.type:
        return p
    scope = _scope_names(p.slice.scope)
    t, module = through_modules(p.type, p.module, modules, bindings, scope)
    if t == p.type:
        return p
    alts = [(through_modules(a, p.module, modules, bindings, scope)[0], c) for a, c in p.alternatives]
    return replace(p, type=t, module=module, alternatives=alts)


def _project_names(t: str, language: str, modules: Mapping[str, str]) -> list[str]:
    """The names of project types a type names, in order, but the language's own (the checker's
    `IO` is typing's, not a project alias of that name)."""
    fam = lang_family(language)
    return [n for n in names_in(t, fam) if n in modules and standard_import(n, fam) is None]


@dataclass(frozen=True)
class FileSites:
    path: Path
    language: str
    slices: Sequence[Slice]  # the sites to predict
    text: str | None = None  # the text the slices were read from, when it is not the disk's


CheckerFactory = Callable[[], Checker]


def default_checkers(root: Path, typescript: Path | None = None) -> dict[str, CheckerFactory]:
    """The measured default checker of each language family for the project at `root`, each
    started on first need; one that cannot start is a NoChecker with one warning."""
    from ..annotate.dts import NoCompiler, find_typescript
    from ..checker.base import CheckerUnavailable
    from ..checker.python import python_checker
    from ..checker.typescript import typescript_checker

    def ts() -> Checker:
        try:
            compiler = find_typescript(root, typescript)
        except NoCompiler:
            raise CheckerUnavailable(
                "the TypeScript compiler was not found (npm install typescript in the project, or "
                "TYPEINF_TYPESCRIPT=path/to/node_modules/typescript)"
            ) from None
        return typescript_checker(root, typescript=compiler)

    return {
        "python": lambda: checker_or_none(lambda: python_checker(root)),
        "typescript": lambda: checker_or_none(ts),
    }


@dataclass
class Engine:
    predictor: Predictor
    index: ProjectIndex
    # a factory per language family ("python", "typescript"), called once, on first need
    checkers: Mapping[str, CheckerFactory] | None = None
    # the checkers' answers kept across runs, by each file's import closure (whole-project runs)
    kept: KeptAnswers | None = None
    _open: dict[str, Checker] = field(default_factory=dict, repr=False)
    # (path, kind, qualname, name) -> types the checker rejected there (typeinf.annotate.judge)
    _rejected: dict[tuple[Path, str, str, str], set[str]] = field(default_factory=dict, repr=False)
    _diagnosed: dict[Path, dict[bytes, list[Diagnostic]]] = field(default_factory=dict, repr=False)
    # what the project's calls added to each evidence object (calls.across): the same evidence
    # object again where nothing changed
    _across: AcrossMemo = field(default_factory=dict, repr=False)
    # per language family: the index's shared list of project types, with its names and each
    # name's module, kept while the index serves the same list (an edit inside a function)
    _derived: dict[str, tuple[list[ProjectType], frozenset[str], dict[str, str]]] = field(
        default_factory=dict, repr=False
    )
    # (kind, name, id of the scope list) -> (the scope list, the project's type names, the votes
    # of the same and of the other kinds, those votes' nameable part): `evidence`'s filtering, kept
    # while its inputs are the same objects
    _named: dict[
        tuple[str, str, int],
        tuple[object, frozenset[str], Votes | None, Votes | None, tuple[Votes | None, Votes | None]],
    ] = field(default_factory=dict, repr=False)

    def _project_types(self, path: Path, language: str) -> tuple[frozenset[str], dict[str, str]]:
        """The names of the project's types for a file, and the module of each."""
        types = self.index.types_for(path, language)
        fam = lang_family(language)
        got = self._derived.get(fam)
        if got is None or got[0] is not types:
            got = self._derived[fam] = (
                types,
                _names_of(types),
                {t.name: t.module for t in types if t.module},
            )
        return got[1], got[2]

    def reject(self, path: Path, preds: Sequence[Prediction]) -> None:
        """The checker judged these predictions wrong: from now on they are marked `rejected`
        (shown, never written; `_demoted`)."""
        for p in preds:
            s = p.slice
            self._rejected.setdefault((path, s.kind, s.qualname, s.name), set()).add(key(p.type))

    def checker(self, language: str) -> Checker | None:
        """The family's checker, started on first need; None without one."""
        fam = lang_family(language)
        if self.checkers is None or fam not in self.checkers:
            return None
        if fam not in self._open:
            self._open[fam] = self.checkers[fam]()
        return self._open[fam]

    def checker_types(self, f: FileSites) -> list[str | None]:
        """The checker's concrete type at each site of the file (None: no checker, no type).  A
        Python parameter without a default is not asked about: pyrefly infers a parameter's type
        only from its default (measured on certbot: 0 of 304 such parameters had a type)."""
        return self.checker_types_many([f])[0]

    def checker_types_many(self, files: Sequence[FileSites]) -> list[list[str | None]]:
        """`checker_types` of several files, every text given first and each checker asked about
        all its files at once (the server answers one file while the last one's replies are read).
        A file whose answers are kept across runs (`kept`, by its import closure) is not asked."""
        out: list[list[str | None]] = [[None] * len(f.slices) for f in files]
        # per checker: (file, the sites asked, their queries, the key its answers are kept by)
        asks: dict[int, tuple[Checker, list[tuple[int, list[int], list[Query], str | None]]]] = {}
        used: list[str] = []
        for n, f in enumerate(files):
            ck = self.checker(f.language)
            if ck is None or not ck.available or not f.slices:
                continue
            if f.text is not None:
                ck.set_text(f.path, f.text)
            python = f.language == "python"
            asked = [
                i
                for i, s in enumerate(f.slices)
                if not (python and s.kind == "param" and s.evidence.default is None)
            ]
            queries = [Query(f.slices[i].line, f.slices[i].column, f.slices[i].kind) for i in asked]
            key = self._kept_key(ck, f, queries)
            got = self.kept.get(key) if self.kept is not None and key is not None else None
            if key is not None and got is not None and len(got) == len(asked):
                used.append(key)
                for i, t in zip(asked, got, strict=True):
                    out[n][i] = concrete(t, f.language)
                continue
            asks.setdefault(id(ck), (ck, []))[1].append((n, asked, queries, key))
        new: list[tuple[str, list[str | None]]] = []
        for ck, items in asks.values():
            answers = ck.types_at_many([(files[n].path, queries) for n, _, queries, _ in items])
            for (n, asked, _, key), types in zip(items, answers, strict=True):
                for i, t in zip(asked, types, strict=True):
                    out[n][i] = concrete(t, files[n].language)
                if key is not None and ck.available:  # (a checker that failed answered nothing)
                    new.append((key, types))
        if self.kept is not None and (new or used):
            self.kept.put_many(new, used)
        return out

    def _kept_key(self, ck: Checker, f: FileSites, queries: Sequence[Query]) -> str | None:
        """The key the file's answers are kept across runs by, where they can be: a Python file of
        the index, whose text is the index's, with its import closure known."""
        if self.kept is None:
            return None
        closure = self.index.closure_digest(f.path)
        if closure is None or (f.text is not None and not self.index.has_text(f.path, f.text)):
            return None
        root, p = self.index.root, f.path.resolve()
        file = str(p.relative_to(root)) if p.is_relative_to(root) else str(p)
        return self.kept.key(f"{ck.name}:{file}", closure, queries)

    def argument_types(self, f: FileSites, checker: bool = True) -> list[list[str]]:
        """For each parameter site of the file, the types of the arguments its function's call sites
        in the project pass for it (typeinf.inference.calls): a literal's or a constructor's type
        as written, else the checker's concrete type of the name or attribute passed, asked in one
        batch per calling file (`checker=False`: the written ones only).  Other sites: []."""
        table = self.index.calls_for(f.language)
        here = f.path.resolve()
        out: list[list[str]] = [[] for _ in f.slices]
        asks: dict[Path, list[tuple[int, Query]]] = {}
        for i, s in enumerate(f.slices):
            if s.kind != "param":
                continue
            for where, a in table.arguments(here, s.line, s.column):
                if a.static is not None:
                    out[i].append(a.static)
                elif a.ask is not None and checker:
                    asks.setdefault(where, []).append((i, Query(a.ask[0], a.ask[1], "var")))
        ck = self.checker(f.language) if asks else None
        if ck is None or not ck.available:
            return out
        for where, items in sorted(asks.items()):
            got = ck.types_at(where, [q for _, q in items])
            for (i, _), t in zip(items, got, strict=True):
                c = concrete(t, f.language)
                if c is not None:  # `model.Page` where the caller is: `Page` where the parameter is
                    out[i].append(unqualified(c))
        return out

    def filled(
        self, files: Sequence[FileSites], types: Sequence[Sequence[str | None]], checker: bool = True
    ) -> list[list[str | None]]:
        """`types` (the checker's own at each site of each file) with the holes filled from what the
        code says elsewhere, asked of the checker in one batch (`checker=False`: nothing asked, only
        the values whose text says their type):
        - a Python variable that starts empty (`None`, `[]`, `{}`) where the checker says `None` or
          nothing: the type of the values the code writes into it (typeinf.inference.writes);
        - a Python function the checker infers nothing for, that returns only the results of calls:
          what each call gives, asked at the call, else what the project's functions of its name
          return where they agree, asked at their names (typeinf.inference.returned: the
          `visit_import` methods `visitor.visit_import(node)` may call).
        These answers depend on other functions' code, not only on the file's import closure, so
        they are not kept across runs."""
        out = [list(t) for t in types]
        # per file: its index, the variables' sites and writes, the returns' sites and calls
        plans: list[tuple[int, list[int], list[Writes | None], list[int], list[list[_Callee] | None]]] = []
        questions: dict[Place, None] = {}  # (in order, each once)
        for n, f in enumerate(files):
            if lang_family(f.language) != "python":
                continue
            ts = out[n]
            w_todo = [i for i, s in enumerate(f.slices) if ts[i] in (None, "None") and starts_empty(s)]
            r_todo = [i for i, s in enumerate(f.slices) if ts[i] is None and checker and s.kind == "return"]
            if not w_todo and not r_todo:
                continue
            try:
                data = f.text.encode("utf-8") if f.text is not None else f.path.read_bytes()
            except OSError:
                continue
            root = parse(data, "python").root_node  # (one tree for both)
            found = written(data, [f.slices[i] for i in w_todo], root) if w_todo else []
            for w in found:
                for v in w.values if w is not None and checker else ():
                    if v.ask:
                        questions[(f.path, Query(*v.ask, v.kind))] = None
            calls = returned_calls(data, [f.slices[i] for i in r_todo], root) if r_todo else []
            places = [self._callees(f, r_todo[j], c) if c else None for j, c in enumerate(calls)]
            for ps in places:
                for c in ps or ():
                    for place in (c.at, *c.definitions, *c.coroutines):
                        questions[place] = None
            plans.append((n, w_todo, found, r_todo, places))
        answers = self._ask(list(questions)) if questions and checker else {}
        for n, w_todo, found, r_todo, places in plans:
            f = files[n]
            for i, w in zip(w_todo, found, strict=True):
                if w is not None:
                    vt = [
                        v.static or (answers.get((f.path, Query(*v.ask, v.kind))) if v.ask else None)
                        for v in w.values
                    ]
                    t = compose(w, vt)
                    out[n][i] = t if t is not None else out[n][i]
            for i, ps in zip(r_todo, places, strict=True):
                got = {c.answer(answers) for c in ps or ()}
                if len(got) == 1 and None not in got:
                    out[n][i] = got.pop()
        return out

    def _callees(self, f: FileSites, i: int, calls: Sequence[Returned]) -> list[_Callee]:
        """What to ask of each call a return site's function returns the result of: what the call
        gives, at the call; and what the project functions of its name return, at their names,
        when none is the site's own (for a call not awaited, beside each whether awaiting it gives
        a type: then it returns a coroutine, which the return type does not say)."""
        table = self.index.calls_for(f.language)
        here = f.path.resolve()
        s = f.slices[i]
        out: list[_Callee] = []
        for c in calls:
            kind = "awaited" if c.awaited else "return"
            at: Place = (f.path, Query(*c.at, kind))
            found = table.definitions(c.callee, c.member)
            if any(d[0] == here and d[1:] == (s.line, s.column) for d in found):
                found = []
            defs = tuple((d[0], Query(d[1], d[2], kind)) for d in found)
            guards = () if c.awaited else tuple((d[0], Query(d[1], d[2], "awaited")) for d in found)
            out.append(_Callee(at, defs, guards))
        return out

    def _ask(self, questions: Sequence[Place]) -> dict[Place, str | None]:
        """The checker's concrete answers to these questions (Python files), all in one batch."""
        ck = self.checker("python")
        if ck is None or not ck.available:
            return {}
        by: dict[Path, list[Query]] = {}
        for where, q in questions:
            by.setdefault(where, []).append(q)
        items = sorted(by.items())
        got = ck.types_at_many(items)
        return {
            (where, q): concrete(t, "python")
            for (where, qs), types in zip(items, got, strict=True)
            for q, t in zip(qs, types, strict=True)
        }

    def declared_types(self, f: FileSites) -> list[list[str]]:
        """For each site, the annotations of the project functions' parameters it is passed to
        (`render(page)` where `render` declares `page: Page`: the callee's signature in partially
        typed code) and, for a parameter a method stores as it is into an attribute its class
        declares, that attribute's annotation (`self.guards = guards` under `guards: Sequence[Guard]
        | None`), and for a method's parameter or return, the annotations of the method of a base
        class of the project it overrides (`handle(self, item)` under `Base.handle(self, item:
        Item) -> bool`) and of the subclasses' methods that override it, normalised as the
        project's annotations are counted (typeinf.inference.calls)."""
        table = self.index.calls_for(f.language)
        fam = lang_family(f.language)
        here = f.path.resolve()
        out: list[list[str]] = []
        for s in f.slices:
            anns = [
                param.annotation for param in map(table.passed, s.evidence.passed_to) if param is not None
            ]
            if s.kind == "param":
                own = table.param(here, s.line, s.column)
                anns.append(own.stored if own is not None else None)
                anns += table.override_params(own) if own is not None else []
            elif s.kind == "return":
                anns += table.override_returns(here, s.line, s.column)
            got = []
            for ann in anns:
                t = label(ann, fam) if ann is not None else ""
                if t:
                    got.append(unqualified(t))
            out.append(got)
        return out

    def evidence(
        self, f: FileSites, checker: bool = True, types: Sequence[str | None] | None = None
    ) -> list[Evidence]:
        """Each site's evidence, only types that can be named at the site (its scope, the
        language's builtins and `typing`, the project's types).  `checker=False`: the project's
        annotations and the written types of call-site arguments only (the language server's first
        hints, before the checker answers).  `types`: the file's `checker_types`, `filled`, when asked.
        The checker's type of a function whose body is a placeholder (`...`, a docstring under
        `@abstractmethod`, only `raise`: typeinf.inference.static.is_stub) is not evidence: it says
        `None` of what the implementations return.  `Self` is the method's class in a Python file
        that does not import it (typeinf.inference.spelling.self_as_class)."""
        names = self.index.names_for(f.language)
        project, modules = self._project_types(f.path, f.language)
        respell = partial(through_project, modules=modules) if lang_family(f.language) == "python" else None
        if types is None:
            own = self.checker_types(f) if checker else [None] * len(f.slices)
            types = self.filled([f], [own], checker)[0]
        arguments = self.argument_types(f, checker)
        declared = self.declared_types(f)
        out = []
        if len(self._named) > NAMED_KEPT:
            self._named.clear()
        for s, t, passed, taken in zip(f.slices, types, arguments, declared, strict=True):
            if t is not None and respell is not None:
                t = self_as_class(t, s.qualname, s.scope)
            same, other = names.votes(s.kind, s.name), names.other_votes(s.kind, s.name)
            if same is None and other is None and t is None and not passed and not taken:
                out.append(Evidence())
                continue
            ok = partial(nameable, site=s, project=project, scope=_scope_names(s.scope))
            # the nameable votes of a (kind, name) in a scope list: a name the project annotates
            # often (`self` in effect: hundreds of types) is filtered once per scope, and again
            # only when its votes, the scope list or the project's types are new objects (an
            # edit of a function leaves the rest of the file's sites as they were)
            at = (s.kind, s.name, id(s.scope))
            memo = self._named.get(at)
            if (
                memo is not None
                and memo[0] is s.scope
                and memo[1] is project
                and memo[2] is same
                and memo[3] is other
            ):
                kept = memo[4]
            else:  # (a file's sites are of one language: the scope's names decide)
                kept = (_only(same, ok, respell), _only(other, ok, respell))
                self._named[at] = (s.scope, project, same, other, kept)
            out.append(
                Evidence(
                    kept[0],
                    t if t is not None and ok(t) and not (s.kind == "return" and is_stub(s)) else None,
                    kept[1],
                    _only(ranked(Counter(passed)), ok) if passed else None,
                    _only(ranked(Counter(taken)), ok) if taken else None,
                )
            )
        return out

    def predict_files(self, files: Sequence[FileSites], top_k: int = 5) -> list[list[Prediction]]:
        """Every file's predictions in one batched model pass, each re-ranked with its evidence.
        A model that reads the evidence of the project's calls gets each file's slices with it
        (typeinf.inference.calls.across)."""
        if self.predictor.reads_calls:
            files = [self.across(f) for f in files]
        groups = [(f.slices, self.index.types_for(f.path, f.language)) for f in files]
        if self.predictor.reranker is None:  # nothing would read the evidence: not gathered
            out = self.predictor.predict_groups(groups, top_k=top_k)
        else:
            # the checker (another process) answers while the model ranks: the two overlap
            with ThreadPoolExecutor(1, thread_name_prefix="typeinf-evidence") as pool:
                gathering = pool.submit(self._evidence_of_all, files)
                ranked = self.predictor.rank_groups(groups)
                evidence = gathering.result()
            out = self.predictor.predict_groups(groups, top_k=top_k, evidence=evidence, ranked=ranked)
        out = [self.with_modules(f, preds) for f, preds in zip(files, out, strict=True)]
        if not self._rejected:
            return out
        return [[self._demoted(f.path, p) for p in preds] for f, preds in zip(files, out, strict=True)]

    def across(self, f: FileSites) -> FileSites:
        """The file with its slices given the evidence of the project's calls."""
        table = self.index.calls_for(f.language)
        if len(self._across) > ACROSS_KEPT:
            self._across.clear()
        return replace(f, slices=across(f.slices, table, f.path.resolve(), self._across))

    def _evidence_of_all(self, files: Sequence[FileSites]) -> list[list[Evidence]]:
        """Every file's evidence, all the new texts given to the checker first (`checker_types_many`):
        one program for the TypeScript compiler, not one per file, and each file's types inferred
        with the others' new text (what annotate's earlier rounds wrote in them)."""
        types = self.filled(files, self.checker_types_many(files))
        return [self.evidence(f, types=t) for f, t in zip(files, types, strict=True)]

    def with_modules(self, f: FileSites, preds: list[Prediction]) -> list[Prediction]:
        """Where each prediction's project types come from: a type that names a project type not in
        the file's scope gets its module, as the model's project candidates carry it (a type the
        evidence chose, or a name of the model's vocabulary that is also the project's); then
        (Python) a project type whose module the file imports by name is spelled through it
        (`configuration.NamespaceConfig`: typeinf.inference.spelling), needing no import, and a
        union of `None` with an alias that holds `None` is the alias alone."""
        python = lang_family(f.language) == "python"
        if not python and all(p.module is not None for p in preds):
            return preds
        modules = self._project_types(f.path, f.language)[1]
        bindings: dict[str, str] | None = None
        nullable = self.index.nullable_aliases(f.path, f.language) if python else frozenset()
        named: dict[str, list[str]] = {}  # a type: the project types it names (types repeat)
        out = []
        for p in preds:
            if nullable:  # (a `None` an alias of the union holds already)
                p = respelled(p, partial(without_redundant_none, nullable=nullable))
            if p.module is None:
                names = named.get(p.type)
                if names is None:
                    names = named[p.type] = _project_names(p.type, f.language, modules)
                if names:
                    scope = _scope_names(p.slice.scope)
                    home = next((modules[n] for n in names if n not in scope), None)
                    if home is not None:
                        p = replace(p, module=home)
            if python and p.module is not None:
                if bindings is None:
                    bindings = self._module_bindings(f.path, p.slice.scope)
                p = _spelled(p, modules, bindings)
            out.append(p)
        return out

    def _module_bindings(self, path: Path, scope: Sequence[ScopeName]) -> dict[str, str]:
        """The modules a Python file imports by name (`from P import m`), relative ones resolved."""
        try:
            own = module_name(path, self.index.root, "python")
        except ValueError:  # a file outside the project: its relative imports are not resolved
            own = ""
        return module_bindings(scope, own, path.stem == "__init__")

    def _demoted(self, path: Path, p: Prediction) -> Prediction:
        """A prediction of a type the checker rejected at its site keeps its type (the judge's
        attribution is often wrong: on half-typed held-out applications most rejected annotations
        were the authors' own) with the source `rejected`, which annotate never writes."""
        s = p.slice
        rejected = self._rejected.get((path, s.kind, s.qualname, s.name))
        if not rejected or key(p.type) not in rejected:
            return p
        return replace(p, source="rejected")

    def diagnostics(self, path: Path, language: str, text: bytes) -> list[Diagnostic]:
        """The checker's diagnostics of the file with this text (in memory), the last few texts of
        each file remembered: annotate's judge asks about a round's text again in the next round."""
        ck = self.checker(language)
        if ck is None or not ck.available:
            return []
        digest = hashlib.sha1(text).digest()
        seen = self._diagnosed.setdefault(path, {})
        if digest not in seen:
            ck.set_text(path, text.decode("utf-8", "replace"))
            seen[digest] = ck.diagnostics(path)
            while len(seen) > 4:
                del seen[next(iter(seen))]
        return seen[digest]

    def diagnostics_many(self, files: Sequence[tuple[Path, str, bytes]]) -> list[list[Diagnostic]]:
        """Several files' diagnostics (`diagnostics`), every text given to the checker before any
        file's diagnostics are asked: the TypeScript compiler builds one program for them all."""
        self.warm(files)
        return [self.diagnostics(path, language, text) for path, language, text in files]

    def publish(self, files: Sequence[tuple[Path, str, bytes]]) -> None:
        """These files' new texts count for the whole project from now on: given to each checker,
        which then makes them reach the files that import them (`Checker.sync`; annotate calls this
        between rounds, so a type one round wrote is inferred in its users by the next)."""
        self.warm(files)
        for ck in self._open.values():
            if ck.available:
                ck.sync()

    def warm(self, files: Sequence[tuple[Path, str, bytes]]) -> None:
        """Give each checker these files' texts now, before any of them is asked about (annotate's
        next round's files: a checker restarted by `publish` then checks them while the round
        slices what the last one changed, not when first asked)."""
        for path, language, text in files:
            ck = self.checker(language)
            if ck is not None and ck.available:
                ck.set_text(path, text.decode("utf-8", "replace"))

    def release(self, path: Path, language: str) -> None:
        """The editor closed the file: its text on disk counts again (a checker not started stays so)."""
        ck = self._open.get(lang_family(language))
        if ck is not None:
            ck.release(path)

    def close(self) -> None:
        for ck in self._open.values():
            ck.close()
        self._open.clear()
        if self.kept is not None:
            self.kept.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
