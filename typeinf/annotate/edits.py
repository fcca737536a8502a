"""What the annotate engine writes: one edit per site (no libcst here, so importing the
engine's interface stays cheap for the language server until it builds an edit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..inference.predict import Prediction


class NotParsable(ValueError):
    """The annotated text would not parse, compile or import (or could not be edited safely):
    the file is left as it is and reported."""


@dataclass(frozen=True)
class Edit:
    kind: str  # param | return | var
    start: int  # byte offset of the site's name
    type: str
    imports: tuple[tuple[str, str], ...] = ()  # (module, name) needed at run time
    type_only_imports: tuple[tuple[str, str], ...] = ()  # (module, name) for TYPE_CHECKING
    # the prediction the edit writes, carried through the codemods (which respell `type` with
    # dataclasses.replace) to the report; not part of the edit's identity
    prediction: Prediction | None = field(default=None, compare=False, repr=False)
