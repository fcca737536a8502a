"""The engine: predictions for a project's files with all the evidence there is (issue #20).

    with Engine(predictor, index, checkers=make_checkers(root)) as engine:
        preds = engine.predict_files([FileSites(path, language, slices, text)], top_k=5)

One engine serves `predict`, `annotate` (each of its rounds) and the language server.  For each file:

1. the model's predictions, after the static facts and the member check (typeinf.inference.predict);
2. the project's evidence for each site (typeinf.inference.rerank.Evidence): how the project
   annotates the same (kind, name) elsewhere (the index's name table, typeinf.inference.names), and
   the type checker's inferred type at the site (typeinf.checker: pyrefly for Python, the
   TypeScript compiler), asked for all the file's sites in one batch;
3. the model's top 5 re-ranked with that evidence and re-calibrated (typeinf.inference.rerank),
   when the model bundle has a fitted re-ranker (`rerank.json`);
4. a type the checker rejected at a site when annotate tried it (typeinf.annotate.judge, `reject`)
   gives way to the site's next candidate.

The checker is fed the caller's text when it is newer than the disk (`FileSites.text`): in
annotate's later rounds that is what the earlier rounds wrote, so the returns and variables that
depend on an accepted annotation are inferred again with it (propagation, bounded by the rounds).
A checker that is not installed, crashes or times out leaves model-and-project results with one
warning (typeinf.checker.checker_or_none); `checkers=None` runs without one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..checker.base import Checker, Query, checker_or_none
from ..lang import lang_family
from ..slices.data import Slice
from ..types import names_in, union_members
from .finalize import Prediction
from .predict import Predictor
from .project import ProjectIndex
from .rerank import Evidence, key

_PRIVATE_MODULE = re.compile(r"(?<![\w.])_[A-Za-z]\w*\.(?=[A-Za-z_])")
_UNKNOWN = frozenset({"Unknown", "unknown"})
_ANY = frozenset({"Any", "any"})


def concrete(t: str | None, language: str) -> str | None:
    """The checker's type as evidence: None when a part of it is unknown or it is `Any` (or a union
    with `Any`: `Any | None`); private implementation modules dropped (`_asyncio.Future` is `Future`)."""
    fam = lang_family(language)
    if not t or not _UNKNOWN.isdisjoint(names_in(t, fam)):
        return None
    if not _ANY.isdisjoint(m.strip() for m in union_members(t, fam)):
        return None
    return _PRIVATE_MODULE.sub("", t)


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
    _open: dict[str, Checker] = field(default_factory=dict, repr=False)
    # (path, kind, qualname, name) -> types the checker rejected there (typeinf.annotate.judge)
    _rejected: dict[tuple[Path, str, str, str], set[str]] = field(default_factory=dict, repr=False)

    def reject(self, path: Path, preds: Sequence[Prediction]) -> None:
        """The checker judged these predictions wrong: their sites get their next candidates."""
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
        """The checker's concrete type at each site of the file (None: no checker, no type)."""
        ck = self.checker(f.language)
        if ck is None or not ck.available or not f.slices:
            return [None] * len(f.slices)
        if f.text is not None:
            ck.set_text(f.path, f.text)
        got = ck.types_at(f.path, [Query(s.line, s.column, s.kind) for s in f.slices])
        return [concrete(t, f.language) for t in got]

    def evidence(self, f: FileSites) -> list[Evidence]:
        names = self.index.names_for(f.language)
        types = self.checker_types(f)
        return [Evidence(names.votes(s.kind, s.name), t) for s, t in zip(f.slices, types, strict=True)]

    def predict_files(self, files: Sequence[FileSites], top_k: int = 5) -> list[list[Prediction]]:
        """Every file's predictions in one batched model pass, each re-ranked with its evidence."""
        groups = [(f.slices, self.index.types_for(f.path, f.language)) for f in files]
        if self.predictor.reranker is None:  # nothing would read the evidence: not gathered
            out = self.predictor.predict_groups(groups, top_k=top_k)
        else:
            evidence = [self.evidence(f) for f in files]
            out = self.predictor.predict_groups(groups, top_k=top_k, evidence=evidence)
        if not self._rejected:
            return out
        return [[self._demoted(f.path, p) for p in preds] for f, preds in zip(files, out, strict=True)]

    def _demoted(self, path: Path, p: Prediction) -> Prediction:
        """The prediction without the types the checker rejected at its site: the next candidate,
        with its own probability (None left: no type)."""
        s = p.slice
        rejected = self._rejected.get((path, s.kind, s.qualname, s.name))
        if not rejected or key(p.type) not in rejected:
            return p
        rest = [(t, c) for t, c in p.alternatives if key(t) not in rejected]
        t, c = rest[0] if rest else ("", 0.0)
        return replace(p, type=t, confidence=c, source="model", alternatives=rest, module=None, rule=None)

    def release(self, path: Path, language: str) -> None:
        """The editor closed the file: its text on disk counts again (a checker not started stays so)."""
        ck = self._open.get(lang_family(language))
        if ck is not None:
            ck.release(path)

    def close(self) -> None:
        for ck in self._open.values():
            ck.close()
        self._open.clear()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
