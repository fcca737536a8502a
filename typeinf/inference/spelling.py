"""How a predicted project type is spelled in its file (Python).

    bindings = module_bindings(scope, file_module, is_package)   # a module's path -> the name bound to it
    t, module = through_modules(t, module, modules, bindings, scope_names)

    t = without_redundant_none(t, nullable)   # `CookiesType | None` -> `CookiesType`
    t = self_as_class(t, qualname, scope)     # `Self` -> `Route` in a file that does not import Self
    through_project(t, modules)               # `configuration.NamespaceConfig` -> `NamespaceConfig`

A type of the project that the file does not import by name, but whose module it imports
(`from certbot import configuration`, `from . import constants`), is written through that module,
as the file's authors write it (`configuration.NamespaceConfig`): it needs no new import, and the
name stays the module's attribute the code already reads.  Without such a module the prediction
keeps its bare name and the module it is imported from (annotate adds the import).

The other way round, the project's annotation `configuration.NamespaceConfig` is, in a file that
does not import `configuration`, the project type `NamespaceConfig` (the engine's name table votes
for it there).

A union of `None` with an alias that holds `None` already (`CookiesType = None | dict[str, str]`,
then `cookies: CookiesType = None`) is written as the alias alone, as its authors write it.

Only `from P import m` binds a module by name here: the slices' scope records `import a.b` and
`from a import b` alike as a name and a module (`datetime` from `datetime` is either `import
datetime` or `from datetime import datetime`), and `P.m` is a module only when the project has it.
Pure: the caller gives the scope, the file's own module name (relative imports are resolved
against it) and the project's types by module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..slices.data import ScopeName
from ..types import union_members


def resolve_relative(module: str, file_module: str, is_package: bool) -> str | None:
    """The absolute name of an import's module (`.`, `..sub`) seen from a file whose module is
    `file_module` (`is_package`: the file is a package's `__init__`); None above the top."""
    level = len(module) - len(module.lstrip("."))
    if level == 0:
        return module
    parts = file_module.split(".") if file_module else []
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    rest = module[level:]
    return ".".join([*base, rest] if rest else base)


def module_bindings(scope: Sequence[ScopeName], file_module: str, is_package: bool) -> dict[str, str]:
    """`P.m` -> `m` for each `from P import m` of the file's scope (P resolved when relative): the
    modules the file may bind by name.  Whether `P.m` is a module is the caller's to know."""
    out: dict[str, str] = {}
    for s in scope:
        if s.kind != "import" or not s.module:
            continue
        base = resolve_relative(s.module, file_module, is_package)
        if base is None:
            continue
        out.setdefault(f"{base}.{s.name}" if base else s.name, s.name)
    return out


def _binding_for(module: str, bindings: Mapping[str, str]) -> str | None:
    """The name the file binds `module` to: the import path equal to it, or a dotted suffix of it
    (a project whose packages are not at its root: `certbot-apache/certbot_apache/obj.py` is the
    index's `certbot-apache.certbot_apache.obj`, imported as `certbot_apache.obj`)."""
    found = bindings.get(module)
    if found is not None:
        return found
    for path, name in bindings.items():
        if module.endswith("." + path):
            return name
    return None


def through_modules(
    t: str,
    module: str | None,
    modules: Mapping[str, str],
    bindings: Mapping[str, str],
    scope: frozenset[str] | set[str],
) -> tuple[str, str | None]:
    """The type with the bare names of project types from `module` (where the prediction's name
    not in scope is imported from; `modules`: a project type's name -> its module) spelled through
    the name the file binds that module to (`bindings`), and the module left to import from (None
    when the file binds it).  Other names are left as they are: a name of the standard library that
    a project module also defines (`IO`) is the prediction's module's only when it says so."""
    if module is None or not bindings:
        return t, module
    via = _binding_for(module, bindings)
    if via is None or via not in scope:
        return t, module

    def spell(m: re.Match[str]) -> str:
        name = m.group(1)
        return f"{via}.{name}" if name not in scope and modules.get(name) == module else name

    new = _BARE.sub(spell, t)
    return (new, None) if new != t else (t, module)


def without_redundant_none(t: str, nullable: frozenset[str] | set[str]) -> str:
    """The (Python) type without its `None` member when another member is an alias in `nullable`
    (one that holds `None` itself); the type as it is otherwise."""
    if not nullable or ("None" not in t and "Optional" not in t):
        return t
    members = [m.strip() for m in union_members(t, "python")]
    if "None" not in members or not any(m in nullable for m in members):
        return t
    return " | ".join(m for m in members if m != "None")


def self_as_class(t: str, qualname: str, scope: Sequence[ScopeName]) -> str:
    """The (Python) type with `Self` spelled as the class whose method the site is in (the
    checker's type of `return self`, of `cls()`), where the file does not import `Self`: most code
    names the class (`-> "Route"`, which annotate quotes inside its own class), and `Self` would
    need an import, from `typing` only on Python 3.11.  Only a method of a class the file defines
    at its top level (`qualname` "Route.with_name"); the type as it is otherwise."""
    if "Self" not in t:
        return t
    owner, _, rest = qualname.partition(".")
    if not rest or "." in rest:
        return t
    if any(n.name == "Self" for n in scope) or not any(n.name == owner and n.kind == "class" for n in scope):
        return t
    return _SELF.sub(owner, t)


def through_project(t: str, modules: Mapping[str, str]) -> str | None:
    """A type whose qualified names are the project's types by their modules' names
    (`configuration.NamespaceConfig`, `obj.VirtualHost`: a file that does not import the module
    names them as the project's types), with those qualifiers dropped; None when a qualified name
    is not such a type (`httpx.Request`, even where the project has a `Request` of its own)."""
    if "." not in t:
        return None

    def bare(m: re.Match[str]) -> str:
        head, _, name = m.group(0).rpartition(".")
        home = modules.get(name)
        if home is None or not (home == head or home.endswith("." + head)):
            raise LookupError(name)
        return name

    try:
        return _QUALIFIED.sub(bare, t)
    except LookupError:
        return None


# a qualified name (`a.b.C`); a name that is neither an attribute (no `.` before it) nor a
# qualifier (no `.` after it), and not a literal's text (a type with quotes is not respelled)
_QUALIFIED = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_SELF = re.compile(r"(?<![\w.\"'])Self(?![\w.])")
_BARE = re.compile(r"(?<![\w.\"'])([A-Za-z_]\w*)(?![\w.])")
