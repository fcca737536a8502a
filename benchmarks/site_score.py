"""What a write-back tool wrote, scored with each write matched to the one site it was written at.

    python benchmarks/site_score.py python|typescript STRIPPED ANNOTATED [--list]

The shared protocol's `written_score.py` matches a write to the truth by (file, kind, qualified
name, name) and counts a truth site as written when any write has its key.  Sites that share a
key are common in real code: a property's getter and setter, `@overload` signatures and their
implementation, conditional definitions.  One write there is counted once per site of the key,
right at most once: on held-out beautifulsoup4 (classic), 78 of the 95 wrong parameter writes the
protocol counts are such echoes of writes on implementations of overloaded methods, and on
blacksheep a property setter's `-> None` is counted as a wrong return of its getter.

Here each write is placed where it was written: its line in the annotated file is mapped to the
stripped file's line through the difference of the two texts (a tool adds imports and changes
lines it annotates; `difflib`), and it is matched to the truth site of its key on that line
(the nearest column) that no other write took; a write on another line is at a site the truth
does not hold (an unannotated callback inside a function whose other callback was annotated).
A write at a site the stripped copy still annotates (the half-typed setting keeps half of them)
is not a write.  written / exact / precision / restored as the protocol has them, by kind;
`--list` prints the wrong writes.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from harness import load

Key = tuple[str, str, str, str]


def _key(s: dict) -> Key:
    return (s["file"], s["kind"], s["qualname"], s["name"])


def _stripped_sites(lang: str, src: Path) -> list[dict]:
    """The annotations in `src` as the protocol reads them (its strip, into a scratch folder)."""
    h = load(lang)
    with tempfile.TemporaryDirectory() as tmp:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return h.cmd_strip(src, Path(tmp) / "w")


def line_map(old: list[str], new: list[str]) -> list[int]:
    """For each line of `new` (1-based, index 0 unused), the line of `old` it is: lines equal or
    changed in place map one to one; a line `new` adds maps to the next line of `old`."""
    out = [0] * (len(new) + 1)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        n = min(i2 - i1, j2 - j1) if tag == "replace" else (j2 - j1 if tag == "equal" else 0)
        for k in range(j1, j2):  # added lines (and the surplus of a larger replacement) come first
            out[k + 1] = i1 + 1
        for k in range(n):
            out[j2 - n + k + 1] = i2 - n + k + 1
    return out


def matched(
    truth: list[dict], written: list[dict], kept: list[dict], lines: dict[str, list[int]]
) -> dict[int, dict]:
    """truth index -> the write placed at that site.  `kept`: the stripped copy's own annotations;
    `lines`: per file, the line map from the annotated text to the stripped one."""
    by_key: dict[Key, list[int]] = defaultdict(list)
    for i, t in enumerate(truth):
        by_key[_key(t)].append(i)
    annotated = {(*_key(k), k["line"]) for k in kept}
    pairs = []
    for j, w in enumerate(written):
        cands = by_key.get(_key(w))
        if not cands:
            continue
        m = lines.get(w["file"])
        line = m[w["line"]] if m is not None and w["line"] < len(m) else w["line"]
        if (*_key(w), line) in annotated:
            continue  # an annotation the stripped copy kept
        for i in cands:  # the site on its line (a write elsewhere is at a site the truth lacks)
            t = truth[i]
            if t["line"] == line:
                pairs.append((abs(t["column"] - w["column"]), i, j))
    out: dict[int, dict] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if i not in out and j not in used:
            out[i] = written[j]
            used.add(j)
    return out


def score(lang: str, stripped: Path, annotated: Path, wrong: list | None = None) -> dict:
    """written / exact / precision / restored by kind, each write counted at the site it was made."""
    h = load(lang)
    truth = json.loads((stripped / ".truth.json").read_text())
    written = _stripped_sites(lang, annotated)
    kept = _stripped_sites(lang, stripped)
    lines: dict[str, list[int]] = {}
    for f in {w["file"] for w in written}:
        old, new = stripped / f, annotated / f
        if old.is_file() and new.is_file():
            a = old.read_text(encoding="utf-8", errors="replace").splitlines()
            b = new.read_text(encoding="utf-8", errors="replace").splitlines()
            lines[f] = line_map(a, b) if a != b else list(range(len(b) + 1))
    got = matched(truth, written, kept, lines)
    res = {}
    for kind in ("all", "param", "return", "var"):
        idx = [i for i, t in enumerate(truth) if kind == "all" or t["kind"] == kind]
        n_w = n_ex = 0
        for i in idx:
            w = got.get(i)
            if w is None:
                continue
            n_w += 1
            ok = h.normalise(w["annotation"]) == h.normalise(truth[i]["annotation"])
            n_ex += ok
            if not ok and kind == "all" and wrong is not None:
                wrong.append((truth[i], w["annotation"]))
        res[kind] = {
            "sites": len(idx),
            "written": n_w,
            "exact": n_ex,
            "precision": round(n_ex / n_w, 3) if n_w else None,
            "restored": round(n_ex / len(idx), 3) if idx else None,
        }
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("stripped", type=Path)
    ap.add_argument("annotated", type=Path)
    ap.add_argument("--list", action="store_true", help="print the wrong writes")
    args = ap.parse_args()
    wrong: list = []
    print(json.dumps(score(args.lang, args.stripped, args.annotated, wrong)))
    if args.list:
        for t, w in sorted(wrong, key=lambda x: (x[0]["file"], x[0]["line"])):
            print(f"{t['file']}:{t['line']}:{t['column']} {t['kind']} {t['qualname']} {t['name']}: "
                  f"wrote {w}, truth {t['annotation']}")  # fmt: skip


if __name__ == "__main__":
    main()
