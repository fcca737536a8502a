"""Write-back rules tested through the codemods directly, with fixed edits (no model, no CLI):
`before -> after` tables, as autotyping and LibCST test their codemods.  An edit names its site by
a needle whose first byte is where the slicer puts the site (a parameter's or a function's name,
a variable's target)."""

from __future__ import annotations

import pytest

from typeinf.annotate.edits import Edit
from typeinf.annotate.python import annotate_python
from typeinf.annotate.typescript import annotate_typescript

Imports = tuple[tuple[str, str], ...]
TYPING: dict[str, Imports] = {n: (("typing", n),) for n in ("Optional", "Sequence", "Dict")}


def edit(
    src: str, kind: str, needle: str, type_: str, imports: Imports = (), type_only: Imports = ()
) -> Edit:
    assert src.count(needle) == 1, f"ambiguous needle {needle!r}"
    return Edit(kind, src.encode("utf-8").index(needle.encode("utf-8")), type_, imports, type_only)


WIDGET = (("pkg.widgets", "Widget"),)

# (before, [(kind, needle, type, run-time imports, type-checking imports)], target, after)
PYTHON = [
    pytest.param(
        "def f(x, y=1):\n    return x\n",
        [("param", "x,", "int"), ("param", "y=", "int"), ("return", "f(", "int")],
        (3, 10),
        "def f(x: int, y: int = 1) -> int:\n    return x\n",
        id="params-default-spaced-and-return",
    ),
    pytest.param(
        "def f(self, *args, **kw):\n    pass\n",
        [("param", "args", "str"), ("param", "kw", "int")],
        (3, 10),
        "def f(self, *args: str, **kw: int):\n    pass\n",
        id="star-params",
    ),
    pytest.param(
        "async def g():\n    return 1\n",
        [("return", "g(", "int")],
        (3, 10),
        "async def g() -> int:\n    return 1\n",
        id="async-return-unwrapped",
    ),
    pytest.param(
        "class A:\n    def __init__(self):\n        self.x = []\n",
        [("var", "self.x", "list[int]")],
        (3, 10),
        "class A:\n    def __init__(self):\n        self.x: list[int] = []\n",
        id="self-attribute",
    ),
    pytest.param(
        "class A:\n    def __init__(self):\n        self.x = []\n",
        [("var", "self.x", "list[int]")],
        (3, 8),
        "from typing import List\n\n\nclass A:\n    def __init__(self):\n        self.x: List[int] = []\n",
        id="builtin-generic-respelled-for-3.8",
    ),
    pytest.param(
        "def f(x):\n    return x\n",
        [("param", "x)", "int | None")],
        (3, 8),
        "from typing import Optional\n\n\ndef f(x: Optional[int]):\n    return x\n",
        id="union-none-respelled-for-3.8",
    ),
    pytest.param(
        "import os\n\nN = 3\n\nclass C:\n    k = None\n",
        [("var", "N =", "int"), ("var", "k =", "Optional[str]", TYPING["Optional"])],
        (3, 10),
        "import os\nfrom typing import Optional\n\nN: int = 3\n\nclass C:\n    k: Optional[str] = None\n",
        id="module-and-class-vars-typing-import-after-imports",
    ),
    pytest.param(
        "def f(x):\n    return x\n",
        [("param", "x)", "Sequence[int]", TYPING["Sequence"])],
        (3, 10),
        "from typing import Sequence\n\n\ndef f(x: Sequence[int]):\n    return x\n",
        id="typing-import-added",
    ),
    pytest.param(
        "def f(x):\n    return x\n",
        [("param", "x)", "Sequence[int]")],
        (3, 10),
        'def f(x: "Sequence[int]"):\n    return x\n',
        id="unimported-name-quoted",
    ),
    pytest.param(
        "def f(x):\n    return x\n",
        [("param", "x)", "Widget", (), WIDGET)],
        (3, 10),
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg.widgets import Widget\n\n\n"
        'def f(x: "Widget"):\n    return x\n',
        id="project-type-under-TYPE_CHECKING-quoted",
    ),
    pytest.param(
        "from __future__ import annotations\n\ndef f(x):\n    return x\n",
        [("param", "x)", "Optional[Widget]", TYPING["Optional"], WIDGET)],
        (3, 10),
        "from __future__ import annotations\nfrom typing import Optional, TYPE_CHECKING\n\n"
        "if TYPE_CHECKING:\n    from pkg.widgets import Widget\n\n\ndef f(x: Optional[Widget]):\n    return x\n",
        id="future-annotations-not-quoted",
    ),
    pytest.param(
        "import dataclasses\n@dataclasses.dataclass\nclass D:\n    a = 1\n",
        [("var", "a =", "int")],
        (3, 10),
        "import dataclasses\n@dataclasses.dataclass\nclass D:\n    a = 1\n",
        id="dataclass-field-read-at-run-time",
    ),
    pytest.param(
        "def f(x: int):\n    return x\n",
        [("param", "x:", "str")],
        (3, 10),
        "def f(x: int):\n    return x\n",
        id="annotated-param-kept",
    ),
]


@pytest.mark.parametrize(("before", "edits", "target", "after"), PYTHON)
def test_python_codemod(before: str, edits: list[tuple], target: tuple[int, int], after: str) -> None:
    out, applied, runtime = annotate_python(before, [edit(before, *e) for e in edits], target)
    assert out == after
    assert len(applied) + len(runtime) <= len(edits)
    if out == before:
        assert not applied


def test_python_runtime_read_sites_written_when_aggressive() -> None:
    before = "import dataclasses\n@dataclasses.dataclass\nclass D:\n    a = 1\n"
    out, applied, runtime = annotate_python(
        before, [edit(before, "var", "a =", "int")], (3, 10), aggressive=True
    )
    assert out == "import dataclasses\n@dataclasses.dataclass\nclass D:\n    a: int = 1\n"
    assert len(applied) == 1 and not runtime
    out, applied, runtime = annotate_python(before, [edit(before, "var", "a =", "int")], (3, 10))
    assert out == before and not applied and len(runtime) == 1


TS_WIDGET = (("src/widgets", "Widget"),)

# (before, [(kind, needle, type, run-time imports, type-only imports)], after); the file is src/a.ts
TYPESCRIPT = [
    pytest.param(
        "function f(x, y = 1) {\n  return x;\n}\n",
        [("param", "x,", "number"), ("param", "y =", "number"), ("return", "f(", "number")],
        "function f(x: number, y: number = 1): number {\n  return x;\n}\n",
        id="params-default-return",
    ),
    pytest.param(
        "async function g() {\n  return 1;\n}\n",
        [("return", "g(", "Promise<number>")],
        "async function g(): Promise<number> {\n  return 1;\n}\n",
        id="async-Promise",
    ),
    pytest.param(
        "function h(a?) {}\n", [("param", "a?", "string")], "function h(a?: string) {}\n", id="optional-param"
    ),
    pytest.param(
        "const k = x => x;\n",
        [("param", "x =>", "number")],
        "const k = (x: number) => x;\n",
        id="lone-arrow-param-parenthesized",
    ),
    pytest.param(
        "const k = (a, b) => a;\n",
        [("param", "a,", "number"), ("param", "b)", "string")],
        "const k = (a: number, b: string) => a;\n",
        id="arrow-params",
    ),
    pytest.param("let v = [];\n", [("var", "v =", "string[]")], "let v: string[] = [];\n", id="variable"),
    pytest.param(
        "class A {\n  m(p) { return p; }\n}\n",
        [("param", "p)", "Widget", (), TS_WIDGET)],
        "import type { Widget } from './widgets';\nclass A {\n  m(p: Widget) { return p; }\n}\n",
        id="project-type-import-type-relative",
    ),
    pytest.param(
        "function f(x: number) {}\n",
        [("param", "x:", "string")],
        "function f(x: number) {}\n",
        id="annotated-param-kept",
    ),
]


@pytest.mark.parametrize(("before", "edits", "after"), TYPESCRIPT)
def test_typescript_codemod(before: str, edits: list[tuple], after: str) -> None:
    out, applied = annotate_typescript(
        before.encode(), "typescript", [edit(before, *e) for e in edits], "src/a.ts"
    )
    assert out.decode() == after
    assert (out == before.encode()) == (not applied)
