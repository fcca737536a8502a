"""Reading and writing the pinned corpus manifests (``python.toml``, ``npm.toml``).

Each manifest is a list of ``[[package]]`` tables with ``name``, ``version``
(an exact pin) and ``split``.  The writer emits TOML by hand (the standard
library only reads TOML) in a stable, sorted layout so diffs stay small.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .split import ECOSYSTEMS, SPLITS, normalize_name, split_of

CORPUS_DIR = Path(__file__).resolve().parent
MANIFEST_FILES = {"python": CORPUS_DIR / "python.toml", "npm": CORPUS_DIR / "npm.toml"}
CANDIDATE_FILES = {
    "python": CORPUS_DIR / "candidates_python.txt",
    "npm": CORPUS_DIR / "candidates_npm.txt",
}


@dataclass(frozen=True)
class Package:
    """One pinned package of the corpus."""

    name: str
    version: str
    split: str
    ecosystem: str = "python"

    @property
    def key(self) -> str:
        return normalize_name(self.name, self.ecosystem)

    @property
    def spec(self) -> str:
        """``name==version`` (Python) or ``name@version`` (npm)."""
        sep = "==" if self.ecosystem == "python" else "@"
        return f"{self.name}{sep}{self.version}" if self.version else self.name


def manifest_path(ecosystem: str) -> Path:
    if ecosystem not in ECOSYSTEMS:
        raise ValueError(f"unknown ecosystem {ecosystem!r}")
    return MANIFEST_FILES[ecosystem]


def read_manifest(ecosystem: str, path: Path | None = None) -> list[Package]:
    """The packages of a manifest, in file order."""
    path = path or manifest_path(ecosystem)
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    out: list[Package] = []
    for entry in data.get("package", []):
        out.append(
            Package(
                name=str(entry["name"]),
                version=str(entry["version"]),
                split=str(entry["split"]),
                ecosystem=ecosystem,
            )
        )
    return out


def _toml_str(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def format_manifest(ecosystem: str, packages: Iterable[Package], header: str = "") -> str:
    """TOML text for ``packages`` (sorted by normalised name)."""
    pkgs = sorted(packages, key=lambda p: p.key)
    lines: list[str] = []
    for line in header.strip().splitlines():
        lines.append(f"# {line}".rstrip())
    counts = {s: sum(1 for p in pkgs if p.split == s) for s in SPLITS}
    lines.append(f"# {len(pkgs)} packages: " + ", ".join(f"{counts[s]} {s}" for s in SPLITS))
    lines.append("")
    for p in pkgs:
        if p.split not in SPLITS:
            raise ValueError(f"{p.name}: bad split {p.split!r}")
        lines.append("[[package]]")
        lines.append(f"name = {_toml_str(p.name)}")
        lines.append(f"version = {_toml_str(p.version)}")
        lines.append(f"split = {_toml_str(p.split)}")
        lines.append("")
    return "\n".join(lines)


def write_manifest(
    ecosystem: str,
    packages: Iterable[Package],
    path: Path | None = None,
    header: str = "",
) -> Path:
    """Write a manifest; the split of every package is recomputed from its name."""
    fixed = [Package(p.name, p.version, split_of(p.name, ecosystem), ecosystem) for p in packages]
    path = path or manifest_path(ecosystem)
    path.write_text(format_manifest(ecosystem, fixed, header), encoding="utf-8")
    return path


def parse_candidate_line(line: str, ecosystem: str) -> tuple[str, str] | None:
    """``(name, version)`` from a candidate line; version ``""`` means "latest"."""
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    if ecosystem == "python":
        name, _, version = line.partition("==")
        return name.strip(), version.strip()
    # npm: the version separator is the last "@" that is not the scope's leading one
    at = line.rfind("@")
    if at > 0:
        return line[:at].strip(), line[at + 1 :].strip()
    return line, ""


def read_candidates(ecosystem: str, path: Path | None = None) -> list[tuple[str, str]]:
    """The candidate ``(name, version)`` pairs, de-duplicated, in file order."""
    path = path or CANDIDATE_FILES[ecosystem]
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        parsed = parse_candidate_line(raw, ecosystem)
        if parsed is None:
            continue
        key = normalize_name(parsed[0], ecosystem)
        if key in seen:
            continue
        seen.add(key)
        out.append(parsed)
    return out
