"""Slicing time against nesting depth: the slicer must stay linear in the size of the tree.

    python benchmarks/slice_depth.py [--depths 1000,2000,5000,10000] [--forms call,list,...]

Each form nests one construct N times inside a function, so that every level holds a
reference to a parameter (which the slicer classifies by climbing to its parent):

    call    f(f(f(... x ...)))             list    [[[... x ...]]]
    paren   (((... x ...)))                 binop   x + (x + (x + ...))
    chain   x.a.a.a ... .a                  index   x[x[x[... 0 ...]]]
    lambda  lambda: lambda: ... x           (Python only)

for Python and TypeScript.  Prints seconds per (language, form, depth), the ratio to the
smallest depth, and whether a depth came back as a diagnostic (too deep) instead of slices.
Times are CPU seconds of this process (the best of --repeat runs): the machines these run on
are shared, and wall-clock time there measures the neighbours too.
"""

from __future__ import annotations

import argparse
import sys
import time

from typeinf.slices import extract_with_diagnostics


def python_source(form: str, n: int) -> str:
    if form == "call":
        body = "f(" * n + "x" + ")" * n
    elif form == "list":
        body = "[" * n + "x" + "]" * n
    elif form == "paren":
        body = "(" * n + "x" + ")" * n
    elif form == "binop":
        body = "x + (" * n + "x" + ")" * n
    elif form == "chain":
        body = "x" + ".a" * n
    elif form == "index":
        body = "x[" * n + "0" + "]" * n
    elif form == "lambda":
        body = "lambda: " * n + "x"
    else:
        raise ValueError(form)
    return f"def f(x):\n    y = {body}\n    return y\n"


def typescript_source(form: str, n: int) -> str:
    if form == "call":
        body = "f(" * n + "x" + ")" * n
    elif form == "list":
        body = "[" * n + "x" + "]" * n
    elif form == "paren":
        body = "(" * n + "x" + ")" * n
    elif form == "binop":
        body = "x + (" * n + "x" + ")" * n
    elif form == "chain":
        body = "x" + ".a" * n
    elif form == "index":
        body = "x[" * n + "0" + "]" * n
    elif form == "lambda":
        body = "() => " * n + "x"
    else:
        raise ValueError(form)
    return f"function f(x) {{\n  const y = {body};\n  return y;\n}}\n"


def measure(language: str, form: str, n: int, repeat: int) -> tuple[float, int, int]:
    src = (python_source if language == "python" else typescript_source)(form, n).encode()
    best = float("inf")
    slices = diags = 0
    for _ in range(repeat):
        t0 = time.process_time()
        sl, dg = extract_with_diagnostics(src, language, f"deep.{form}")
        best = min(best, time.process_time() - t0)
        slices, diags = len(sl), len(dg)
    return best, slices, diags


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--depths", default="1000,2000,5000,10000")
    ap.add_argument("--forms", default="call,list,paren,binop,chain,index,lambda")
    ap.add_argument("--languages", default="python,typescript")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    depths = [int(d) for d in args.depths.split(",")]
    print(f"{'language':<11}{'form':<8}" + "".join(f"{d:>10}" for d in depths) + "   ratio  notes")
    for language in args.languages.split(","):
        for form in args.forms.split(","):
            times: list[float] = []
            notes: list[str] = []
            for n in depths:
                try:
                    t, slices, diags = measure(language, form, n, args.repeat)
                except RecursionError:
                    times.append(float("nan"))
                    notes.append(f"{n}: RecursionError")
                    continue
                times.append(t)
                if diags:
                    notes.append(f"{n}: {diags} diagnostic(s), {slices} slices")
            ratio = times[-1] / times[0] if times and times[0] > 0 else float("nan")
            print(
                f"{language:<11}{form:<8}"
                + "".join(f"{t:>10.3f}" for t in times)
                + f"{ratio:>8.1f}  "
                + "; ".join(notes)
            )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
