"""typeinf.text: line tables, positions and the top-level splitter."""

from typeinf.text import line_of, line_starts, offset_at, position, split_top


def test_line_starts_newlines_only_or_universal():
    data = b"a\r\nb\rc\nd"
    assert line_starts(data) == [0, 3, 7]
    assert line_starts(data, universal=True) == [0, 3, 5, 7]
    assert line_starts(b"") == [0]
    assert line_starts(b"x\n") == [0, 2]


def test_positions_are_code_points_and_round_trip():
    data = "é = 1\nx = 'ü'\n".encode()
    starts = line_starts(data)
    at = data.index(b"'")
    assert line_of(starts, at) == 1
    assert position(data, starts, at) == (1, 4)
    assert offset_at(data, starts, 1, 4) == at
    assert offset_at(data, starts, 0, 1) == 2  # after the two bytes of é
    assert offset_at(data, starts, 99, 0) == len(data)  # line clamped
    assert offset_at(data, starts, 0, 99) == data.index(b"\n")  # column clamped to the line


def test_split_top_code():
    assert split_top("a; f(b; c); {d;}\ne", ";\n") == ["a", "f(b; c)", "{d;}", "e"]
    assert split_top(") a; b", ";") == [") a", "b"]  # a stray closer: depth stays at 0
    assert split_top("x<y; z", ";") == ["x<y", "z"]  # `<` is a comparison in code


def test_split_top_types():
    assert split_top("Map<K | V, W> | 'a|b' | (x: A) => B | C", "|", type_syntax=True) == [
        "Map<K | V, W>",
        "'a|b'",
        "(x: A) => B",
        "C",
    ]
    assert split_top("A) | B", "|", type_syntax=True) == ["A) | B"]  # unbalanced: left whole
    assert split_top("", "|", type_syntax=True) == []
