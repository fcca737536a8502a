"""Accumulating evidence for one site, with the caps that keep slices small.

Language-specific slicers classify each use of a name and call the `add_*` methods here;
this module owns de-duplication and the list caps, so both languages behave the same.
"""

from __future__ import annotations

from .data import MAX_ITEMS, CallOn, Evidence, Expr, Operation, PassedTo, clip


class EvidenceBuilder:
    """Collects usage items into an `Evidence`, dropping duplicates and capping lists."""

    __slots__ = ("ev", "_seen")

    def __init__(self, ev: Evidence | None = None) -> None:
        self.ev = ev if ev is not None else Evidence()
        self._seen: set[tuple[object, ...]] = set()

    def _once(self, key: tuple[object, ...], items: list[object]) -> bool:
        if key in self._seen or len(items) >= MAX_ITEMS:
            return False
        self._seen.add(key)
        return True

    def call_on(self, method: str, args: int) -> None:
        if self._once(("c", method, args), self.ev.calls_on):  # type: ignore[arg-type]
            self.ev.calls_on.append(CallOn(method, args))

    def passed_to(self, callee: str, arg: int | None = None, keyword: str | None = None) -> None:
        callee = clip(callee, 80)
        if self._once(("p", callee, arg, keyword), self.ev.passed_to):  # type: ignore[arg-type]
            self.ev.passed_to.append(PassedTo(callee, arg, keyword))

    def attr_read(self, attr: str) -> None:
        if self._once(("r", attr), self.ev.attrs_read):  # type: ignore[arg-type]
            self.ev.attrs_read.append(attr)

    def attr_written(self, attr: str) -> None:
        if self._once(("w", attr), self.ev.attrs_written):  # type: ignore[arg-type]
            self.ev.attrs_written.append(attr)

    def operator(self, op: str, other: str, side: str = "left") -> None:
        other = clip(other, 60)
        if self._once(("o", op, other, side), self.ev.operators):  # type: ignore[arg-type]
            self.ev.operators.append(Operation(op, other, side))  # type: ignore[arg-type]

    def subscript(self, index_kind: str) -> None:
        if self._once(("s", index_kind), self.ev.subscripts):  # type: ignore[arg-type]
            self.ev.subscripts.append(clip(index_kind, 60))

    def type_check(self, text: str) -> None:
        text = clip(text, 80)
        if self._once(("t", text), self.ev.type_checks):  # type: ignore[arg-type]
            self.ev.type_checks.append(text)

    def assignment(self, expr: Expr) -> None:
        if len(self.ev.assignments) < 8:
            self.ev.assignments.append(expr)

    def iterated(self) -> None:
        self.ev.iterated += 1

    def called(self) -> None:
        self.ev.called += 1

    def awaited(self) -> None:
        self.ev.awaited += 1

    def returned(self) -> None:
        self.ev.returned += 1
