"""Label categories: builtin, third-party or user-defined, and whether a type is in scope.

    builtin       only builtin, `typing` and standard-library names (TypeScript: the language's
                  primitives and the global lib types: Promise, Map, HTMLElement, ...)
    third-party   some name imported from another package (and none user-defined)
    user-defined  some name defined in the package itself (a class, alias, interface or enum of
                  the file, or imported from a relative module or the package's own modules)

`generic` (parametrised) is reported across the three.  Shared by the corpus statistics and
the evaluation, so both count the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from .lang import PY_BUILTIN_NAMES, lang_family
from .slices.data import ScopeName
from .types import is_generic, names_in


def _module_category(module: str | None, own: Iterable[str], language: str) -> str:
    if module is None:
        return "user-defined"
    if module.startswith("."):
        return "user-defined"
    if language == "python":
        root = module.split(".")[0]
        if root in own:
            return "user-defined"
        if root in sys.stdlib_module_names or root in ("typing_extensions", "__future__"):
            return "builtin"
        return "third-party"
    m = module.strip("'\"")
    if m.startswith((".", "/", "~", "@/", "src/")):
        return "user-defined"
    pkg = "/".join(m.split("/")[:2]) if m.startswith("@") else m.split("/")[0]
    if pkg in own or m.startswith("node:"):
        return "user-defined" if pkg in own else "builtin"
    return "third-party"


def name_category(name: str, language: str, scope: dict[str, ScopeName], own: Iterable[str]) -> str:
    """The category of one type name as seen from a site with the given scope."""
    root = name.split(".")[0]
    entry = scope.get(name) or scope.get(root)
    if entry is not None:
        if entry.kind == "builtin":
            return "builtin"
        if entry.kind == "import":
            return _module_category(entry.module, own, language)
        return "user-defined"
    if language == "python":
        return "builtin" if name in PY_BUILTIN_NAMES or root in sys.stdlib_module_names else "user-defined"
    return "builtin"  # not imported or declared: a global from the lib or ambient declarations


def label_category(
    label: str, language: str, scope: Iterable[ScopeName], own: Iterable[str] = ()
) -> tuple[str, bool, bool]:
    """(category, generic, visible): the label's category, whether it is parametrised, and
    whether every name it is built from is visible in the site's scope (or builtin)."""
    lang = lang_family(language)
    table = {s.name: s for s in scope}
    own = set(own)
    cats = set()
    visible = True
    for n in names_in(label, lang):
        c = name_category(n, lang, table, own)
        cats.add(c)
        if c != "builtin" and n not in table and n.split(".")[0] not in table:
            visible = False
    cat = "user-defined" if "user-defined" in cats else "third-party" if "third-party" in cats else "builtin"
    return cat, is_generic(label, lang), visible
