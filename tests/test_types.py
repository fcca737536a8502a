"""The shared type normaliser."""

from __future__ import annotations

import pytest

from typeinf.types import base_type, is_generic, names_in, normalize


@pytest.mark.parametrize(
    "raw, norm, base",
    [
        ("typing.List[int]", "list[int]", "list"),
        ("List", "list", "list"),
        ("Optional['Foo']", "Foo | None", "Foo | None"),
        ("Union[str, None, int]", "int | str | None", "int | str | None"),
        ("Union[int, Union[str, int]]", "int | str", "int | str"),
        ("Dict[str, Optional[List[Foo]]]", "dict[str, list[Foo] | None]", "dict"),
        ("None | int", "int | None", "int | None"),
        ('"np.ndarray"', "np.ndarray", "np.ndarray"),
        ("Annotated[int, Field(gt=0)]", "int", "int"),
        ("typing.Text", "str", "str"),
        ("Literal['b', 'a']", "Literal['a', 'b']", "Literal"),
        ("tuple[int, ...]", "tuple[int, ...]", "tuple"),
        ("Callable[[int], str]", "Callable[[int], str]", "Callable"),
    ],
)
def test_python(raw, norm, base):
    assert normalize(raw, "python") == norm
    assert base_type(raw, "python") == base


@pytest.mark.parametrize(
    "raw, norm, base",
    [
        ("Array<string>", "string[]", "[]"),
        ("ReadonlyArray<Foo | null>", "(Foo | null)[]", "[]"),
        ("readonly string[]", "string[]", "[]"),
        ("undefined | string | number", "number | string | undefined", "number | string | undefined"),
        ("Promise<Array<User>>", "Promise<User[]>", "Promise"),
        ("'a' | 'b'", '"a" | "b"', "string"),
        ("true | false", "boolean", "boolean"),
        ("(a: number,b: string)=>void", "(a: number, b: string) => void", "=>"),
        ("{a: number; b?: string}", "{ a: number; b?: string }", "{}"),
        ("Map<string,  Set<number>>", "Map<string, Set<number>>", "Map"),
        ("[string, number]", "[string, number]", "[tuple]"),
        # a function type inside a union or intersection keeps its parentheses: without them the
        # union would become the function's return type
        ("((e: Event) => void) | null", "((e: Event) => void) | null", "=> | null"),
        ("undefined | (() => void)", "(() => void) | undefined", "=> | undefined"),
        ("(x: number) => string | null", "(x: number) => string | null", "=>"),
        ("Foo & (() => void)", "(() => void) & Foo", "=>"),
        ("A & (B | C)", "(B | C) & A", "(B | C) & A"),
    ],
)
def test_typescript(raw, norm, base):
    assert normalize(raw, "typescript") == norm
    assert base_type(raw, "typescript") == base


def test_names_and_generics():
    assert names_in("Dict[str, Optional[Foo]]") == ["dict", "str", "Foo", "None"]
    assert names_in("{ a: Foo; b: Bar<Baz> }", "typescript") == ["Foo", "Bar", "Baz"]
    assert is_generic("list[int]") and not is_generic("int") and not is_generic("Literal[1]")
    assert is_generic("User[]", "typescript") and not is_generic("string", "typescript")


def test_unparseable_text_is_kept_with_whitespace_collapsed():
    assert normalize("not  a [ type", "python") == "not a [ type"
    assert normalize("%%  weird", "typescript") == "%% weird"
    assert normalize("", "python") == ""
