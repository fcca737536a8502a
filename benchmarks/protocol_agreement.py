"""Agreement of the slicer with the shared strip-and-restore protocol (../shared/eval beside
the repository, which only the project's machines and CI have): moved here from the test suite,
which must pass in any clone.

    python benchmarks/protocol_agreement.py

Python: libcst's own annotated sources are stripped with the protocol and sliced; every truth
site must be found at the same place (>= 99%).  TypeScript / TSX: three samples covering the
declaration forms; every truth site is sliced at the same place with the same name and qualname,
and every truth annotation is a slice's label on the original text.  Exit 1 on disagreement.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness import load

from typeinf.slices import extract
from typeinf.slices.typescript import extract_typescript

HARNESS_SAMPLE = """\
import { Thing } from "./thing";
export namespace Outer.Inner {
  export function util(a: number, b?: string, ...rest: Thing[]): Promise<void> | null { return null; }
}
declare function ambient(x: string): void;
function overloaded(a: string): string;
function overloaded(a: any): any { return a; }
export default class Repo<T> extends Base<T> implements IRepo {
  private static instances: Map<string, Repo<any>> = new Map();
  private items: T[] = [];
  count?: number;
  handler = async (e: Event, { x, y }: Point = origin): Promise<boolean> => true;
  constructor(private readonly db: Db, public name: string = "r") { super(); }
  get size(): number { return this.items.length; }
  set size(v: number) {}
  *walk(this: Repo<T>, depth: number): Generator<T> { yield* this.items; }
  check(x: unknown): x is T { return true; }
  async find({ id, ...others }: Query, [first]: string[]): Promise<T | undefined> {
    const { a, b: [c] }: Pair = others;
    let value: T | undefined = undefined;
    for (const item of this.items) { const matched: boolean = item === id; }
    try { value = await this.db.get(id); } catch (err: unknown) { value = undefined; }
    const cb = function (this: void, q: string): string { return q; };
    return value;
  }
}
const api = {
  ping: (n: number): string => `${n}`,
  "quoted": (s: string): string => s,
  method(z: number): number { return z; },
};
[1, 2].map((v: number): number => v * 2);
const ünïcode: string = "é"; const after: number = 1;
function outer(): () => number { function inner(): number { return 1; } return inner; }
const C2 = class { m(p: number): void {} };
"""

HARNESS_TSX_SAMPLE = """\
import React from "react";
export const Card = ({ title, onClick }: CardProps): JSX.Element => {
  const [open, setOpen]: [boolean, (v: boolean) => void] = React.useState<boolean>(false);
  const toggle = (): void => setOpen(!open);
  return <div onClick={(e: React.MouseEvent) => onClick(e)}>{title}</div>;
};
export function List<T,>({ items }: { items: T[] }): JSX.Element { return <ul>{items.map((i: T) => <li>{String(i)}</li>)}</ul>; }
"""

HARNESS_ODD_SAMPLE = """\
export default function (a: number): void {}
export const d = (b: string): number => 1;
class K { "quoted"(q: number): void {} [Symbol.iterator](): Iterator<number> { return null!; } #priv(p: number): void {} static { const s: number = 1; } accessor acc: number = 1; }
const o = { 1: (n: number): void => {}, ['c']: (m: number): void => {} };
abstract class AB { abstract f(x: number): void; protected g(y: number = 1): number { return y; } }
function outer<T>(t: T) { return class Inner { m(u: T): T { return u; } }; }
let u: number, w: string = "s";
for (let i: number = 0; i < 1; i++) {}
label: { const inLabel: boolean = true; }
declare global { interface Window { x: number } }
enum E { A = (() => { const e: number = 1; return e; })() }
"""


def python_agreement() -> list[str]:
    import libcst

    harness = load("python")
    src_root = Path(libcst.__file__).parent
    files = sorted((src_root / "_nodes").glob("*.py")) + sorted((src_root / "metadata").glob("*.py"))
    sites = matched = 0
    for f in files:
        stripped, truth = harness._strip_source(f.read_bytes(), False)
        got = {(s.line, s.column, s.kind): s for s in extract(stripped, "python", f.name)}
        for t in truth:
            if t["kind"] == "param" and t["name"] in ("self", "cls"):
                continue  # annotated self: not a site by design
            sites += 1
            s = got.get((t["line"], t["column"], t["kind"]))
            if s is not None and s.name == t["name"] and s.qualname == t["qualname"]:
                matched += 1
    print(f"python: {matched}/{sites} truth sites sliced at the same place ({matched / max(sites, 1):.2%})")
    problems = []
    if sites <= 1000:
        problems.append(f"python: only {sites} truth sites")
    if matched / max(sites, 1) < 0.99:
        problems.append(f"python: {matched}/{sites} matched, below 99%")
    return problems


def typescript_agreement() -> list[str]:
    harness = load("typescript")
    problems = []
    for label, sample, tsx in (
        ("typescript", HARNESS_SAMPLE, False),
        ("tsx", HARNESS_TSX_SAMPLE, True),
        ("odd forms", HARNESS_ODD_SAMPLE, False),
    ):
        language = "tsx" if tsx else "typescript"
        stripped, truth, errors = harness._strip_source(sample.encode(), tsx)
        slices, diagnostics = extract_typescript(stripped, language, "sample")
        if errors or len(truth) < 8 or diagnostics:
            problems.append(
                f"{label}: {errors} strip errors, {len(truth)} truth sites, {len(diagnostics)} diagnostics"
            )
        by_key = {(s.line, s.column, s.kind): s for s in slices}
        for site in truth:
            s = by_key.get((site["line"], site["column"], site["kind"]))
            if (
                s is None
                or (s.name, s.qualname) != (site["name"], site["qualname"])
                or s.annotation is not None
            ):
                problems.append(f"{label}: truth site not sliced alike: {site}")
        original = extract_typescript(sample.encode(), language, "sample")[0]
        labelled = {(s.line, s.kind, s.qualname, s.name, s.annotation) for s in original if s.annotation}
        expected = {(t["line"], t["kind"], t["qualname"], t["name"], t["annotation"]) for t in truth}
        problems += [
            f"{label}: truth annotation not a slice's label: {e}" for e in sorted(expected - labelled)
        ]
        print(f"{label}: {len(truth)} truth sites")
    return problems


def main() -> int:
    problems = python_agreement() + typescript_agreement()
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
