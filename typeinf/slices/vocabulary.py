"""The evidence vocabulary: the names of the uses a slicer records as `Operation`s beside the
language's own operators (`+`, `==`, `in` ...), one home for both slicers.  The model reads these
strings (typeinf.inference.features renders a slice's operations as text), so each value is part of the
model's input: changing one is a model change, not a refactoring.

    TRUTHY       the value is tested for truth (`if x:`, `x && y`, `not x`)
    IF_ELSE      the value is a branch of a conditional expression; `other` is the other branch
    FORMAT       the value is interpolated in an f-string / template literal
    ELEMENT      the value is an element of a collection literal; `other` is the collection
    DICT_KEY     the value is a key of a dict literal (Python)
    DICT_VALUE   the value is a value of a dict / object literal
    INDEX        the value indexes something; `other` is what is indexed
    SLICE_BOUND  the value is a slice bound (`a[x:]`, Python)
    RAISE        the value is raised / thrown
    YIELD        the value is yielded
    ASSIGN       the value is assigned to something else (`y = x`); `other` is the target
    SPREAD       the value is spread into an object literal (TypeScript)
    FOR_IN       the value is iterated with `for ... in` (its keys, TypeScript)
    OPTIONAL     a member is read through `?.` (TypeScript)
"""

from __future__ import annotations

TRUTHY = "truthy"
IF_ELSE = "if-else"
FORMAT = "format"
ELEMENT = "element"
DICT_KEY = "dict-key"
DICT_VALUE = "dict-value"
INDEX = "index"
SLICE_BOUND = "slice-bound"
RAISE = "raise"
YIELD = "yield"
ASSIGN = "="
SPREAD = "spread"
FOR_IN = "for-in"
OPTIONAL = "?."
