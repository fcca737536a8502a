"""The write-back benchmark's per-site matching (benchmarks/site_score.py): a write counts once, at
the site it was written, when several sites share the protocol's key."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from site_score import line_map, matched  # noqa: E402


def _site(line: int, column: int, kind: str, qualname: str, name: str, annotation: str) -> dict:
    return {"file": "m.py", "line": line, "column": column, "kind": kind, "qualname": qualname,
            "name": name, "annotation": annotation}  # fmt: skip


STRIPPED = """\
class Request:
    @property
    def scheme(self):
        return self._scheme

    @scheme.setter
    def scheme(self, value):
        self._scheme = value
""".splitlines()

ANNOTATED = """\
from typing import Any

class Request:
    @property
    def scheme(self):
        return self._scheme

    @scheme.setter
    def scheme(self, value: Any) -> None:
        self._scheme = value
""".splitlines()


def test_lines_map_through_added_imports_and_annotated_lines() -> None:
    m = line_map(STRIPPED, ANNOTATED)
    assert [m[k] for k in (3, 5, 9, 10)] == [1, 3, 7, 8]
    assert m[1] == 1 and m[2] == 1  # the added lines: the next line of the stripped text


def test_a_setter_write_is_not_its_getter_write() -> None:
    truth = [
        _site(3, 8, "return", "Request.scheme", "scheme", "str"),
        _site(7, 8, "return", "Request.scheme", "scheme", "None"),
        _site(7, 22, "param", "Request.scheme", "value", "str"),
    ]
    written = [
        _site(9, 8, "return", "Request.scheme", "scheme", "None"),
        _site(9, 22, "param", "Request.scheme", "value", "Any"),
    ]
    got = matched(truth, written, [], {"m.py": line_map(STRIPPED, ANNOTATED)})
    assert sorted(got) == [1, 2]  # the getter (0) was not written
    assert got[1]["annotation"] == "None" and got[2]["annotation"] == "Any"


def test_an_annotation_the_stripped_copy_kept_is_not_a_write() -> None:
    # an overload kept its annotation (half-typed), the implementation's was stripped and not written
    truth = [_site(9, 10, "param", "find", "name", "str | None")]
    kept = [_site(5, 10, "param", "find", "name", "None")]
    written = [_site(5, 10, "param", "find", "name", "None")]
    assert matched(truth, written, kept, {"m.py": list(range(12))}) == {}


def test_a_write_at_a_site_the_truth_lacks_is_not_counted() -> None:
    # two callbacks in one function share the key (`<anonymous>` returns): the author annotated the
    # second, the tool wrote the first
    truth = [_site(17, 11, "return", "make", "<anonymous>", "string[]")]
    written = [_site(13, 40, "return", "make", "<anonymous>", "void")]
    assert matched(truth, written, [], {"m.py": list(range(20))}) == {}
