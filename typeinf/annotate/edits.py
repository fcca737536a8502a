"""What the annotate engine writes: one edit per site (no libcst here, so importing the
engine's interface stays cheap for the language server until it builds an edit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..inference.predict import Prediction

TYPING_NAMES = frozenset(
    "Any Callable Iterable Iterator Sequence Mapping MutableMapping MutableSequence Generator "
    "AsyncIterator AsyncIterable AsyncGenerator Awaitable Coroutine Collection Container Hashable "
    "Sized Reversible AbstractSet MutableSet IO TextIO BinaryIO Pattern Match NoReturn Never Self "
    "Literal Type ClassVar Final TypeVar Union Optional ContextManager AsyncContextManager "
    "Counter OrderedDict DefaultDict Deque ChainMap SupportsInt SupportsFloat LiteralString".split()
)


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
