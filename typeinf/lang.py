"""The definitions every stage shares about the languages: one home for each.

    Language, LANGUAGES             the languages a slice can be in (a type, its values)
    Kind, KINDS                     the kinds of site
    lang_family(language)           "python" or "typescript" (tsx is TypeScript)
    DEFAULT_PYTHON_TARGET           the Python that written annotations must run on when the
                                    project does not say (no [project] requires-python)
    PY_SCOPE_BUILTINS               the builtin names the Python slicer puts in every scope
    TS_SCOPE_BUILTINS               the same for TypeScript
    PY_RUNTIME_BUILTINS             every name of the `builtins` module (bound at run time)
    PY_BUILTIN_NAMES                builtin, typing and standard-library type names (categories)
    PY_NO_IMPORT                    the names a Python annotation may use without an import
    TS_BUILTIN_NAMES                TypeScript's primitives and global lib types
    TYPING_NAMES                    the names `typing` offers (imported from there)
    standard_import(name, fam)      where a name that is not the project's comes from, if anywhere
    ts_async_return(type_text)      `Promise<T>` for the declared return of an async function

No imports from the rest of the package: everything may import this module.
"""

from __future__ import annotations

import builtins
from typing import Literal, get_args

Kind = Literal["param", "return", "var"]
Language = Literal["python", "typescript", "tsx"]
KINDS: tuple[str, ...] = get_args(Kind)
LANGUAGES: tuple[str, ...] = get_args(Language)

# 3.9, not 3.10: an annotation in the new spelling (`X | None`) written into a module that runs
# on 3.9 breaks it at import time, while the old spelling (`Optional[X]`) is only old-fashioned
# on 3.10+.  The project's own requires-python, when it has one, always wins.
DEFAULT_PYTHON_TARGET: tuple[int, int] = (3, 9)


def lang_family(language: str) -> str:
    """The language family: "python", or "typescript" for TypeScript and TSX."""
    return "python" if language == "python" else "typescript"


def ts_async_return(type_text: str) -> str:
    """The declared return type of an async TypeScript function returning `type_text`."""
    return type_text if type_text.startswith("Promise<") else f"Promise<{type_text}>"


# The slicers' scope seeds (part of the model's features: order and content are fixed).
PY_SCOPE_BUILTINS: tuple[str, ...] = (
    "int",
    "float",
    "complex",
    "bool",
    "str",
    "bytes",
    "bytearray",
    "memoryview",
    "list",
    "tuple",
    "dict",
    "set",
    "frozenset",
    "range",
    "slice",
    "type",
    "object",
    "None",
    "BaseException",
    "Exception",
    "ValueError",
    "TypeError",
    "KeyError",
    "RuntimeError",
)

TS_SCOPE_BUILTINS: tuple[str, ...] = (
    "string",
    "number",
    "boolean",
    "bigint",
    "symbol",
    "void",
    "undefined",
    "null",
    "never",
    "unknown",
    "any",
    "object",
    "Array",
    "ReadonlyArray",
    "Promise",
    "Record",
    "Partial",
    "Required",
    "Readonly",
    "Pick",
    "Omit",
    "Map",
    "Set",
    "WeakMap",
    "WeakSet",
    "Date",
    "RegExp",
    "Error",
    "Function",
    "Iterable",
    "Iterator",
    "AsyncIterable",
    "Generator",
    "AsyncGenerator",
    "Uint8Array",
    "ArrayBuffer",
    "ReturnType",
    "Parameters",
    "Awaited",
    "NonNullable",
    "Exclude",
    "Extract",
)

PY_RUNTIME_BUILTINS = frozenset(dir(builtins))

PY_BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("_")) | {
    "None",
    "Any",
    "Self",
    "Never",
    "NoReturn",
    "LiteralString",
    "Literal",
    "Callable",
    "Union",
    "Optional",
    "Generic",
    "Protocol",
    "ClassVar",
    "Final",
    "TypeAlias",
    "TypeGuard",
    "Iterable",
    "Iterator",
    "Sequence",
    "Mapping",
    "MutableMapping",
    "MutableSequence",
    "Generator",
    "AsyncIterator",
    "AsyncIterable",
    "AsyncGenerator",
    "Awaitable",
    "Coroutine",
    "Collection",
    "Container",
    "Hashable",
    "Sized",
    "Reversible",
    "AbstractSet",
    "MutableSet",
    "IO",
    "TextIO",
    "BinaryIO",
    "Pattern",
    "Match",
    "NamedTuple",
    "TypedDict",
    "Counter",
    "OrderedDict",
    "defaultdict",
    "deque",
    "ChainMap",
    "ParamSpec",
    "TypeVar",
    "Concatenate",
    "Unpack",
    "Required",
    "NotRequired",
    "Annotated",
    "ContextManager",
    "AsyncContextManager",
    "SupportsInt",
    "SupportsFloat",
    "SupportsIndex",
    "Buffer",
    "...",
}

TS_BUILTIN_NAMES = frozenset(
    """string number boolean bigint symbol void undefined null never unknown any object this
    true false Array ReadonlyArray Promise PromiseLike Record Partial Required Readonly Pick Omit
    Exclude Extract NonNullable ReturnType Parameters InstanceType ConstructorParameters Awaited
    Map Set WeakMap WeakSet ReadonlyMap ReadonlySet Date RegExp Error TypeError RangeError
    Function Object String Number Boolean Symbol BigInt Iterable Iterator IterableIterator
    AsyncIterable AsyncIterator AsyncIterableIterator Generator AsyncGenerator ArrayLike
    ArrayBuffer SharedArrayBuffer DataView Uint8Array Int8Array Uint16Array Int16Array
    Uint32Array Int32Array Float32Array Float64Array BigInt64Array BigUint64Array
    Uint8ClampedArray JSON Math Intl PropertyKey Lowercase Uppercase Capitalize Uncapitalize
    ThisType TemplateStringsArray Console globalThis""".split()
)

# Python names a written annotation can use without an import: the builtins (the lower-case
# names of PY_BUILTIN_NAMES also hold `defaultdict` and `deque`, which come from collections:
# PY_COLLECTIONS_NAMES)
PY_COLLECTIONS_NAMES = frozenset({"defaultdict", "deque"})
PY_NO_IMPORT = frozenset(
    {
        "int",
        "str",
        "float",
        "bool",
        "bytes",
        "bytearray",
        "complex",
        "list",
        "dict",
        "set",
        "frozenset",
        "tuple",
        "type",
        "object",
        "None",
        "range",
        "slice",
        "memoryview",
        "BaseException",
        "Exception",
        "...",
    }
) | {n for n in PY_BUILTIN_NAMES if n[:1].islower() and n not in PY_COLLECTIONS_NAMES}

# names `typing` offers, imported from there when an annotation uses them (Python)
TYPING_NAMES = frozenset(
    "Any Callable Iterable Iterator Sequence Mapping MutableMapping MutableSequence Generator "
    "AsyncIterator AsyncIterable AsyncGenerator Awaitable Coroutine Collection Container Hashable "
    "Sized Reversible AbstractSet MutableSet IO TextIO BinaryIO Pattern Match NoReturn Never Self "
    "Literal Type ClassVar Final TypeVar Union Optional ContextManager AsyncContextManager "
    "Counter OrderedDict DefaultDict Deque ChainMap SupportsInt SupportsFloat LiteralString".split()
)


def standard_import(name: str, fam: str) -> tuple[str, str] | None:
    """Where an annotation's name comes from when it is the language's own: `("", name)` for one
    that needs no import (a builtin), `(module, name)` for one imported from the standard library
    (`collections`, `typing`), None for a name that is neither."""
    if fam != "python":
        return ("", name) if name in TS_BUILTIN_NAMES else None
    if name in PY_NO_IMPORT:
        return ("", name)
    if name in PY_COLLECTIONS_NAMES:
        return ("collections", name)
    if name in TYPING_NAMES:
        return ("typing", name)
    return None
