"""What `typeinf annotate` does with each annotated file (`WriteBack`), and what it tells the user
and the shell about the run (`Report`), as black's WriteBack and Report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..exit_codes import EXIT_CHANGES, EXIT_FAILED, EXIT_OK
from ..files import Skipped
from .edits import Edit


class WriteBack(Enum):
    YES = "in place"  # write the files (a file read from stdin: the annotated file on stdout)
    DIFF = "diff"  # print a unified diff, write nothing
    CHECK = "check"  # write nothing, list the files that would change (exit 1 if any)
    STUBS = "stubs"  # write .pyi / .d.ts stubs with the annotations, leave the sources alone

    @classmethod
    def from_flags(cls, *, check: bool, diff: bool, stubs: bool) -> WriteBack:
        return cls.CHECK if check else cls.DIFF if diff else cls.STUBS if stubs else cls.YES

    @property
    def writes_nothing(self) -> bool:
        return self in (WriteBack.CHECK, WriteBack.DIFF)


Warn = Callable[[str], None]


@dataclass
class Report:
    """Counts, the JSON entries of what was (or would be) inserted, the files not processed, and
    the exit code."""

    write_back: WriteBack
    verify: bool = False
    failures: list[Skipped] = field(default_factory=list)  # files not processed (exit 123)
    changed_files: int = 0
    added: Counter[str] = field(default_factory=Counter)  # edits written, by kind
    entries: list[dict[str, Any]] = field(default_factory=list)  # the prediction of each edit written
    runtime_skipped: int = 0
    unimportable: int = 0
    rejected: int = 0  # by the type checker (--verify)
    unexplained: int = 0  # new type checker errors no annotation could be blamed for
    stubbed: int = 0
    aborted: int | None = None  # the exit code of a run stopped before its summary

    def done(self, applied: list[Edit]) -> None:
        """One file changed (or that would change) with these edits."""
        self.changed_files += 1
        for edit in applied:
            self.added[edit.kind] += 1
            assert edit.prediction is not None  # every planned edit carries its prediction
            self.entries.append(edit.prediction.to_dict())

    def failed(self, path: Path, reason: str) -> None:
        self.failures.append(Skipped(path, reason, True))

    def abort(self, code: int) -> Report:
        self.aborted = code
        return self

    @property
    def return_code(self) -> int:
        if self.aborted is not None:
            return self.aborted
        if self.failures:
            return EXIT_FAILED
        return EXIT_CHANGES if self.write_back is WriteBack.CHECK and self.changed_files else EXIT_OK

    def summary(self, thresholds: str) -> str:
        verb = (
            "would be annotated"
            if self.write_back.writes_nothing
            else "stubbed"
            if self.write_back is WriteBack.STUBS
            else "annotated"
        )
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.added.items())) or "nothing"
        return (
            f"{self.changed_files} file(s) {verb}: {kinds} (threshold {thresholds}); "
            f"{self.runtime_skipped} skipped as read at run time, {self.unimportable} needing an unknown import, "
            + (
                f"{self.rejected} rejected by the type checker ({self.unexplained} new error(s) not attributed), "
                if self.verify
                else ""
            )
            + (f"{self.stubbed} stub file(s) written, " if self.write_back is WriteBack.STUBS else "")
            + f"{len(self.failures)} file(s) not processed"
        )
