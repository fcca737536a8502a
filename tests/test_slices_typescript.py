"""Tests of the TypeScript / TSX slicer: sites, positions, qualnames, evidence (agreement with the
shared strip-and-restore harness: benchmarks/protocol_agreement.py)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict

from typeinf.slices.data import CallOn, Expr, Neighbour, Operation, PassedTo, Slice, slice_from_dict
from typeinf.slices.typescript import extract_typescript


def extract(src: str, language: str = "typescript") -> list[Slice]:
    slices, _ = extract_typescript(textwrap.dedent(src).encode(), language, "sample.ts")
    return slices


def one(slices: list[Slice], kind: str, name: str, qualname: str | None = None) -> Slice:
    found = [
        s
        for s in slices
        if s.kind == kind and s.name == name and (qualname is None or s.qualname == qualname)
    ]
    assert len(found) == 1, f"{kind} {name} {qualname}: {[(s.kind, s.name, s.qualname) for s in slices]}"
    return found[0]


def sites(slices: list[Slice]) -> list[tuple[str, str, str, int, int]]:
    return [(s.kind, s.name, s.qualname, s.line, s.column) for s in slices]


# --------------------------------------------------------------------------- params


def test_parameter_forms() -> None:
    slices = extract(
        """\
        function f(this: Window, a: number, b?: string, c = 3, ...rest: number[]) {}
        function g({ x,
                     y }: Point, [p, q]: [number, number]) {}
        """
    )
    assert sites([s for s in slices if s.kind == "param"]) == [
        ("param", "a", "f", 1, 25),
        ("param", "b", "f", 1, 36),
        ("param", "c", "f", 1, 48),
        ("param", "rest", "f", 1, 58),
        ("param", "{ x, y }", "g", 2, 11),
        ("param", "[p, q]", "g", 3, 25),
    ]
    a, b, c, rest = (one(slices, "param", n) for n in ("a", "b", "c", "rest"))
    assert (a.annotation, b.annotation, c.annotation, rest.annotation) == (
        "number",
        "string",
        None,
        "number[]",
    )
    assert all(s.annotatable for s in (a, b, c, rest))
    assert c.evidence.default == Expr("3", "literal")
    assert rest.span == (58, 62)
    assert one(slices, "param", "{ x, y }").evidence.attrs_read == ["x", "y"]
    assert one(slices, "param", "[p, q]").evidence.subscripts == ["number"]
    assert one(slices, "param", "[p, q]").annotation == "[number, number]"


def test_lone_arrow_parameter_and_anonymous_callback_return() -> None:
    slices = extract("items.map(item => item.id).filter(async (id) => id > 0);\n")
    item = one(slices, "param", "item")
    assert (item.qualname, item.line, item.column, item.annotatable) == ("", 1, 10, False)
    assert item.evidence.attrs_read == ["id"]
    returns = [s for s in slices if s.kind == "return"]
    assert [(s.name, s.qualname, s.column, s.is_async) for s in returns] == [
        ("<anonymous>", "", 10, False),
        ("<anonymous>", "", 34, True),
    ]
    assert returns[0].evidence.returns == [Expr("item.id", "attribute")]
    assert returns[0].evidence.signature == "item =>"
    assert one(slices, "param", "id").evidence.operators == [Operation(">", "number", "left")]


def test_constructor_parameter_properties_fields_and_this_usages() -> None:
    slices = extract(
        """\
        class Repo<T> {
          private cache: Map<string, T> = new Map();
          count = 0;
          ready?: boolean;
          #secret = "s";
          declare injected: Service;
          constructor(private readonly db: Database, name: string) {
            this.db.connect(name);
          }
          set limit(v: number) { this.count = v; }
          find(id: string): T | undefined {
            this.count += 1;
            return this.cache.get(id) ?? this.db.load(id);
          }
        }
        """
    )
    assert sites(slices) == [
        ("var", "cache", "Repo", 2, 10),
        ("var", "count", "Repo", 3, 2),
        ("var", "ready", "Repo", 4, 2),
        ("var", "#secret", "Repo", 5, 2),
        ("param", "db", "Repo.constructor", 7, 31),
        ("param", "name", "Repo.constructor", 7, 45),
        ("param", "v", "Repo.limit", 10, 12),
        ("return", "find", "Repo.find", 11, 2),
        ("param", "id", "Repo.find", 11, 7),
    ]
    cache = one(slices, "var", "cache")
    assert cache.annotation == "Map<string, T>"
    assert cache.evidence.definition == Expr("new Map()", "new")
    assert cache.evidence.calls_on == [CallOn("get", 1)]
    count = one(slices, "var", "count")
    assert count.evidence.assignments == [Expr("v", "name")]
    assert count.evidence.operators == [Operation("+=", "number", "left")]
    assert one(slices, "var", "ready").annotation == "boolean"
    db = one(slices, "param", "db")
    assert db.annotation == "Database"
    assert db.evidence.calls_on == [CallOn("connect", 1), CallOn("load", 1)]
    assert one(slices, "param", "name").evidence.passed_to == [PassedTo("this.db.connect", 0)]
    assert one(slices, "return", "find").evidence.returns == [
        Expr("this.cache.get(id) ?? this.db.load(id)", "binary")
    ]
    # fields see the other fields' annotations; methods see their own sites
    assert Neighbour("var", "ready", "boolean") in cache.neighbours
    assert one(slices, "param", "id").neighbours == [Neighbour("return", "find", "T | undefined")]


def test_returns_bound_names_async_generators_and_decorators() -> None:
    slices = extract(
        """\
        export async function load(url) { return await fetch(url); }
        const double = (n) => n * 2;
        const api = { get: function (k) { return k; }, put: (v) => v };
        class C {
          handler = (e) => { return e.target; };
          @memo()
          *gen(n) { yield n; yield* other(); }
          get size() { return 1; }
        }
        """
    )
    load = one(slices, "return", "load")
    assert (load.line, load.column, load.qualname, load.is_async) == (1, 22, "load", True)
    assert load.evidence.returns == [Expr("await fetch(url)", "await")]
    assert load.evidence.signature == "async function load(url)"
    assert one(slices, "param", "url").is_async
    double = one(slices, "return", "double")
    assert (double.line, double.column, double.qualname) == (2, 6, "double")
    assert double.evidence.returns == [Expr("n * 2", "binary")]
    assert one(slices, "return", "get").qualname == "get"
    assert one(slices, "param", "v").qualname == "put"
    assert one(slices, "return", "handler").qualname == "C.handler"
    assert one(slices, "param", "e").evidence.attrs_read == ["target"]
    gen = one(slices, "return", "gen")
    assert gen.evidence.yields == [Expr("n", "name"), Expr("other()", "call")]
    assert gen.evidence.decorators == ["memo()"]
    assert gen.evidence.signature == "*gen(n)"
    assert one(slices, "return", "size").qualname == "C.size"


def test_no_return_site_for_constructors_and_setters() -> None:
    slices = extract("class A { constructor(a) {} set v(x) {} get v() { return 1; } }\n")
    assert [(s.kind, s.name) for s in slices] == [("param", "a"), ("param", "x"), ("return", "v")]


# --------------------------------------------------------------------------- variables


def test_block_scoped_lets_are_separate_sites_with_separate_usages() -> None:
    slices = extract(
        """\
        function f(items) {
          let total = 0;
          for (const item of items) {
            let total = item.price;
            total.toFixed(2);
          }
          var seen = false;
          if (items.length) { var seen = true; }
          for (let i = 0; i < 3; i++) {}
          for (const key in items) {}
          try { total += 1; } catch (err) { err.message; }
          return total;
        }
        """
    )
    outer, inner = [s for s in slices if s.kind == "var" and s.name == "total"]
    assert (outer.line, inner.line) == (2, 4)
    assert outer.evidence.operators == [Operation("+=", "number", "left")]
    assert outer.evidence.returned == 1
    assert inner.evidence.calls_on == [CallOn("toFixed", 1)]
    assert inner.evidence.definition == Expr("item.price", "attribute")
    item = one(slices, "var", "item")
    assert (item.annotatable, item.evidence.definition) == (False, Expr("items", "iteration"))
    assert item.evidence.attrs_read == ["price"]
    assert one(slices, "var", "key").evidence.definition == Expr("items", "keys")
    seen = one(slices, "var", "seen")
    assert seen.evidence.assignments == [Expr("true", "literal")]
    i = one(slices, "var", "i")
    assert i.annotatable and i.evidence.operators == [
        Operation("<", "number", "left"),
        Operation("++", "", "unary"),
    ]
    assert not [s for s in slices if s.name == "err"]
    assert one(slices, "param", "items").evidence.iterated == 1


def test_destructuring_declarations() -> None:
    slices = extract(
        """\
        const { data, meta: { page = 1 }, ...rest }: Response = await client.get(url);
        let [first, , third] = list;
        """
    )
    pattern = one(slices, "var", "{ data, meta: { page = 1 }, ...rest }")
    assert (pattern.line, pattern.column, pattern.annotatable, pattern.annotation) == (1, 6, True, "Response")
    assert pattern.evidence.definition == Expr("await client.get(url)", "await")
    assert pattern.evidence.attrs_read == ["data", "meta"]
    data, page, rest = (one(slices, "var", n) for n in ("data", "page", "rest"))
    assert not (data.annotatable or page.annotatable or rest.annotatable)
    assert (data.column, page.column, rest.column) == (8, 22, 37)
    assert data.annotation is None
    assert data.evidence.definition == Expr("(await client.get(url)).data", "unpack")
    assert page.evidence.definition == Expr("(await client.get(url)).meta.page", "unpack")
    assert page.evidence.default == Expr("1", "literal")
    assert one(slices, "var", "third").evidence.definition == Expr("list[2]", "unpack")
    assert rest.evidence.definition == Expr("(await client.get(url))", "unpack")
    assert one(slices, "var", "[first, , third]").evidence.subscripts == ["number"]


def test_qualnames_of_namespaces_classes_and_nested_functions() -> None:
    slices = extract(
        """\
        namespace App.Core {
          export class Service {
            run() {
              const cb = () => { const inner = 1; };
              setTimeout(function () { const anon = 2; });
            }
          }
        }
        module "ext" { export const v = 1; }
        const K = class { m(a) {} };
        """
    )
    assert one(slices, "return", "run").qualname == "App.Core.Service.run"
    assert one(slices, "var", "cb").qualname == "App.Core.Service.run"
    assert one(slices, "var", "inner").qualname == "App.Core.Service.run.cb"
    assert one(slices, "var", "anon").qualname == "App.Core.Service.run"
    assert one(slices, "var", "v").qualname == "ext"
    assert one(slices, "param", "a").qualname == "<anonymous>.m"


def test_ambient_overloads_and_abstract_signatures_have_no_sites() -> None:
    slices = extract(
        """\
        declare function amb(a: string): void;
        declare namespace NS { const c: number; function g(x: number): void; }
        function over(a: string): string;
        function over(a: number): number;
        function over(a) { return a; }
        abstract class Base { abstract run(x: number): void; }
        interface I { m(a: string): void; p: number; }
        """
    )
    assert sites(slices) == [("return", "over", "over", 5, 9), ("param", "a", "over", 5, 14)]


def test_non_ascii_text_before_the_name_counts_code_points() -> None:
    src = 'const é = "ü€😀"; let naïve = 1;\nfunction ñ(ß: string) {}\n'
    slices, _ = extract_typescript(src.encode(), "typescript", "u.ts")
    naive = one(slices, "var", "naïve")
    assert (naive.line, naive.column) == (1, 21)  # 21 code points, 26 bytes
    start = src.encode().index("naïve".encode())
    assert naive.span == (start, start + len("naïve".encode()))
    assert (one(slices, "param", "ß").line, one(slices, "param", "ß").column) == (2, 11)
    assert one(slices, "return", "ñ").column == 9


# --------------------------------------------------------------------------- evidence


def test_usage_evidence() -> None:
    slices = extract(
        """\
        async function use(x, cb, list, key, obj) {
          x.push(1, 2);
          x.length;
          x.owner = obj;
          log("msg", x);
          new Wrapper(x);
          if (typeof key === "string" && key !== null) { key.trim(); }
          if (obj instanceof Error) { throw obj; }
          list[0];
          list[key];
          for (const v of list) {}
          f(...list);
          cb(x);
          await cb;
          !obj;
          `${key}`;
          return x;
        }
        """
    )
    ev = one(slices, "param", "x").evidence
    assert ev.calls_on == [CallOn("push", 2)]
    assert ev.attrs_read == ["length"]
    assert ev.attrs_written == ["owner"]
    assert ev.passed_to == [PassedTo("log", 1), PassedTo("new Wrapper", 0), PassedTo("cb", 0)]
    assert ev.returned == 1
    key = one(slices, "param", "key").evidence
    assert key.type_checks == ["typeof string"]
    assert key.operators == [
        Operation("!==", "null", "left"),
        Operation("index", "name:list", "right"),
        Operation("format", "string", "unary"),
    ]
    assert key.calls_on == [CallOn("trim", 0)]
    assert key.subscripts == []
    obj = one(slices, "param", "obj").evidence
    assert obj.type_checks == ["instanceof Error"]
    assert obj.operators == [
        Operation("=", "attr:x.owner", "right"),
        Operation("raise", "", "unary"),
        Operation("!", "", "unary"),
    ]
    lst = one(slices, "param", "list").evidence
    assert lst.subscripts == ["number", "name:key"]
    assert lst.iterated == 2
    assert lst.passed_to == [PassedTo("f", None, "*")]
    cb = one(slices, "param", "cb").evidence
    assert (cb.called, cb.awaited) == (1, 1)
    assert ev.usage_count() == 7


def test_operand_kinds_and_sides() -> None:
    slices = extract("function f(n) { return 1 + n + 'a' + g(n) + (n == undefined) + [n] ; }\n")
    ops = one(slices, "param", "n").evidence.operators
    assert ops == [
        Operation("+", "number", "right"),
        Operation("==", "undefined", "left"),
        Operation("element", "array", "unary"),
    ]
    assert one(slices, "param", "n").evidence.passed_to == [PassedTo("g", 0)]


def test_conditions_branches_collections_and_assignments() -> None:
    slices = extract(
        """\
        function f(a, b, c, d) {
          if (a) {}
          while (b) {}
          const v = c ? d : "none";
          const o = { a, key: b };
          let t;
          t = d;
          for (const k in c) {}
        }
        """
    )
    assert one(slices, "param", "a").evidence.operators == [
        Operation("truthy", "", "unary"),
        Operation("dict-value", "object", "unary"),
    ]
    assert one(slices, "param", "b").evidence.operators[0] == Operation("truthy", "", "unary")
    assert one(slices, "param", "c").evidence.operators == [
        Operation("truthy", "", "unary"),
        Operation("for-in", "", "unary"),
    ]
    assert one(slices, "param", "d").evidence.operators == [
        Operation("if-else", "string", "left"),
        Operation("=", "name:t", "right"),
    ]
    assert one(slices, "var", "t").evidence.assignments == [Expr("d", "name")]
    assert one(slices, "var", "o").evidence.definition == Expr("{ a, key: b }", "collection")


def test_return_evidence_includes_how_callers_use_the_result() -> None:
    slices = extract(
        """\
        function load(id) { if (!id) return; return fetchIt(id); }
        const parse = (s) => JSON.parse(s);
        class Api {
          get(k) { return k; }
          run() { return this.get(1).then(done); }
        }
        async function main() {
          const r = await load(1);
          parse("x").items.map(String);
          if (load(2) instanceof Promise) {}
        }
        """
    )
    load = one(slices, "return", "load").evidence
    assert load.returns == [Expr("", "bare"), Expr("fetchIt(id)", "call")]
    assert load.awaited == 1
    assert load.type_checks == ["instanceof Promise"]
    assert one(slices, "return", "parse").evidence.attrs_read == ["items"]
    assert one(slices, "return", "get").evidence.calls_on == [CallOn("then", 1)]
    assert one(slices, "var", "r").evidence.definition == Expr("await load(1)", "await")


def test_tsx_jsx_props_are_passed_to_the_component() -> None:
    slices = extract(
        """\
        export function Card({ title }: Props) {
          const [open, setOpen] = useState<boolean>(false);
          const label = title.toUpperCase();
          return <Button label={label} onClick={() => setOpen(!open)}>{label}</Button>;
        }
        """,
        "tsx",
    )
    label = one(slices, "var", "label")
    assert label.evidence.passed_to == [
        PassedTo("<Button>", None, "label"),
        PassedTo("<Button>", None, "children"),
    ]
    assert one(slices, "var", "setOpen").evidence.called == 1
    assert one(slices, "var", "open").evidence.operators == [Operation("!", "", "unary")]
    pair = one(slices, "var", "[open, setOpen]")
    assert pair.evidence.definition == Expr("useState<boolean>(false)", "call")
    assert one(slices, "return", "Card").evidence.returns[0].category == "other"
    assert one(slices, "return", "<anonymous>").qualname == "Card"


def test_no_annotation_text_leaks_into_evidence() -> None:
    src = """\
        import { Zxq0 } from "./types";
        export class Holder {
          field: Zxq1<string> = make();
          bare!: Zxq2;
          constructor(private dep: Zxq3) {}
          async get(key: Zxq4, ...more: Zxq5[]): Promise<Zxq6> {
            const local: Zxq7 = this.field.get(key);
            const { a }: Zxq8 = local;
            const cb = (v: Zxq9): Zxq10 => v;
            return cb(local);
          }
          check(x: unknown): x is Zxq11 { return true; }
          verify(x: unknown): asserts x is Zxq12 {}
        }
        const fn = function (p: Zxq13): Zxq14 { return p; };
        """
    slices = extract(src)
    annotations = {s.annotation for s in slices if s.annotation}
    assert {f"Zxq{i}" for i in range(2, 15) if i not in (1, 5, 6, 10, 11, 12)} <= annotations
    assert {"Zxq1<string>", "Zxq5[]", "Promise<Zxq6>", "x is Zxq11", "asserts x is Zxq12"} <= annotations
    for s in slices:
        ev = asdict(s.evidence)
        text = json.dumps(ev)
        for i in range(1, 15):
            assert f"Zxq{i}" not in text.replace("Zxq0", ""), (s.kind, s.name, ev)
    assert "Zxq0" in one(slices, "var", "fn").evidence.window  # imports are code


def test_scope_names() -> None:
    slices = extract(
        """\
        import React, { useState as useS, type FC } from "react";
        import * as path from "node:path";
        import type { Opts } from './opts';
        import fs = require("fs");
        interface Shape {}
        type Id = string;
        enum Color { Red }
        class Box<T> { put<U>(item: U) {} }
        """
    )
    item = one(slices, "param", "item")
    scope = {(n.name, n.kind, n.module) for n in item.scope}
    assert {
        ("string", "builtin", None),
        ("Promise", "builtin", None),
        ("React", "import", "react"),
        ("useS", "import", "react"),
        ("FC", "import", "react"),
        ("path", "import", "node:path"),
        ("Opts", "import", "./opts"),
        ("fs", "import", "fs"),
        ("Shape", "interface", None),
        ("Id", "alias", None),
        ("Color", "enum", None),
        ("Box", "class", None),
        ("T", "type_param", None),
        ("U", "type_param", None),
    } <= scope
    assert "useState" not in {n.name for n in item.scope}


def test_signature_and_window_are_annotation_free() -> None:
    slices = extract(
        """\
        export async function fetchUser(id: number, opts: Options = {}): Promise<User> {
          const res: Response = await fetch(`/u/${id}`);
          return res.json();
        }
        """
    )
    res = one(slices, "var", "res")
    assert res.evidence.signature == "async function fetchUser(id, opts = {})"
    assert res.evidence.window == (
        "export async function fetchUser(id, opts = {}) {\n"
        "  const res = await fetch(`/u/${id}`);\n"
        "  return res.json();\n"
        "}"
    )
    assert res.evidence.calls_on == [CallOn("json", 0)]
    assert res.evidence.definition == Expr("await fetch(`/u/${id}`)", "await")
    assert one(slices, "param", "id").evidence.operators == [Operation("format", "string", "unary")]
    assert {n.name for n in res.neighbours} == {"id", "opts", "fetchUser"}


def test_syntax_errors_still_give_the_intact_functions() -> None:
    src = b"function ok(a: number) {\n  return a * 2;\n}\nfunction broken(b: string {\n  const q = b.\n}\n"
    slices, diagnostics = extract_typescript(src, "typescript", "broken.ts")
    assert diagnostics and diagnostics[0].line == 4
    ok = one(slices, "param", "a")
    assert (ok.qualname, ok.annotation, ok.evidence.operators) == (
        "ok",
        "number",
        [Operation("*", "number", "left")],
    )
    assert one(slices, "return", "ok").evidence.returns == [Expr("a * 2", "binary")]


def test_deep_nesting_and_empty_input() -> None:
    deep = (
        b"const a = "
        + b"(" * 5000
        + b"x"
        + b")" * 5000
        + b";\nfunction f(y) { return "
        + b"[" * 3000
        + b"y"
        + b"]" * 3000
        + b"; }\n"
    )
    slices, _ = extract_typescript(deep, "typescript", "deep.ts")
    assert [s.name for s in slices] == ["a", "f", "y"]
    assert extract_typescript(b"", "tsx", "e.tsx") == ([], [])


def test_slices_round_trip_through_dicts() -> None:
    for s in extract("function f(a: number, b = [1]) { const c = a.toFixed(b.length); return c; }\n"):
        d = json.loads(json.dumps(s.to_dict()))
        assert slice_from_dict(d) == s
