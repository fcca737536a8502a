"""Share of strip-and-restore truth sites that typeinf slices at the same place.

    python benchmarks/protocol_match.py python SRC_DIR [--drop]
    python benchmarks/protocol_match.py typescript SRC_DIR [--drop]

Strips SRC_DIR with the shared protocol (../shared/eval, beside the repository) into a
temporary copy, slices the stripped copy, and reports (a) the share of truth sites with a
slice at the same file, line, column and kind, and (b) the share of truth parameters used in
their function body that carry at least one usage item.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from harness import load

from typeinf.slices import extract_with_diagnostics, language_for_path


def strip(lang: str, src: Path, dst: Path, drop: bool) -> list[dict]:
    harness = load(lang)
    argv = ["strip", str(src), str(dst)] + (["--drop-annotation-imports"] if drop else [])
    if lang != "python":
        argv.append("--skip-tests")
    harness.main(argv)
    return json.loads((dst / ".truth.json").read_text())


def match(lang: str, src: Path, drop: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "stripped"
        truth = strip(lang, src, dst, drop)
        files = sorted({t["file"] for t in truth})
        slices = {}
        datas = {}
        t0 = time.perf_counter()
        n = 0
        for f in files:
            language = language_for_path(f)
            if language is None:
                continue
            data = (dst / f).read_bytes()
            got, _ = extract_with_diagnostics(data, language, f)
            n += len(got)
            for s in got:
                slices[(s.file, s.line, s.column, s.kind)] = s
                datas[s.file] = data
        dt = time.perf_counter() - t0
    found = [t for t in truth if (t["file"], t["line"], t["column"], t["kind"]) in slices]
    params = [slices[(t["file"], t["line"], t["column"], t["kind"])] for t in found if t["kind"] == "param"]
    used = [s for s in params if _used_in_body(s, datas[s.file])]
    with_usage = [s for s in used if s.evidence.usage_count() > 0]
    by_kind = {}
    for k in ("param", "return", "var"):
        tk = [t for t in truth if t["kind"] == k]
        fk = [t for t in found if t["kind"] == k]
        by_kind[k] = {"truth": len(tk), "matched": len(fk), "rate": round(len(fk) / max(1, len(tk)), 4)}
    missing = [t for t in truth if (t["file"], t["line"], t["column"], t["kind"]) not in slices]
    return {
        "truth_sites": len(truth),
        "matched": len(found),
        "match_rate": round(len(found) / max(1, len(truth)), 4),
        "by_kind": by_kind,
        "params_used_in_body": len(used),
        "with_usage_item": len(with_usage),
        "usage_rate": round(len(with_usage) / max(1, len(used)), 4),
        "slices": n,
        "slices_per_s": round(n / dt) if dt else None,
        "missing_examples": missing[:10],
    }


def _used_in_body(s, data: bytes) -> bool:
    """Whether the parameter's name is read in its function's body (an independent
    tree-sitter walk: the smallest function around the parameter, identifiers in its body)."""
    from typeinf.slices.source import parser

    tree = parser(s.language).parse(data)
    node = tree.root_node.descendant_for_byte_range(s.span[0], s.span[1])
    fn_types = {
        "function_definition",
        "function_declaration",
        "function_expression",
        "arrow_function",
        "method_definition",
        "generator_function_declaration",
        "generator_function",
        "function",
    }
    while node is not None and node.type not in fn_types:
        node = node.parent
    body = node.child_by_field_name("body") if node is not None else None
    if body is None:
        return False
    name = s.name.encode()
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type in ("identifier", "shorthand_property_identifier") and n.text == name:
            return True
        stack.extend(n.children)
    return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("src", type=Path, nargs="+")
    ap.add_argument("--drop", action="store_true", help="--drop-annotation-imports")
    args = ap.parse_args()
    for src in args.src:
        res = match(args.lang, src, args.drop)
        print(json.dumps({"project": str(src), **res}, indent=1))


if __name__ == "__main__":
    main()
