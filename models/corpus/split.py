"""Deterministic train/valid/test split of corpus packages.

The split of a package depends only on its (normalised) name, so adding or
removing other packages never moves a package from one split to another, and a
package never leaks between splits across versions.

    sha256(normalised name) -> first 8 bytes, big-endian -> mod 100
    < 80 -> "train", < 90 -> "valid", else "test"
"""

from __future__ import annotations

import hashlib
import re

SPLITS = ("train", "valid", "test")
ECOSYSTEMS = ("python", "npm")

_PEP503 = re.compile(r"[-_.]+")


def normalize_name(name: str, ecosystem: str = "python") -> str:
    """Canonical form of a package name.

    Python: PEP 503 (lower case, runs of ``-_.`` collapsed to ``-``).
    npm: names are already canonical apart from case (lower-cased, stripped).
    """
    name = name.strip()
    if ecosystem == "python":
        return _PEP503.sub("-", name).lower()
    if ecosystem == "npm":
        return name.lower()
    raise ValueError(f"unknown ecosystem {ecosystem!r}")


def split_bucket(name: str, ecosystem: str = "python") -> int:
    """The 0..99 bucket of ``name``."""
    digest = hashlib.sha256(normalize_name(name, ecosystem).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100


def split_of(name: str, ecosystem: str = "python") -> str:
    """``"train"`` (80 %), ``"valid"`` (10 %) or ``"test"`` (10 %) for ``name``."""
    bucket = split_bucket(name, ecosystem)
    if bucket < 80:
        return "train"
    if bucket < 90:
        return "valid"
    return "test"
