"""The statement model's records behave as frozen dataclasses would (`guard.sql.record`)."""

from __future__ import annotations

import copy
import pickle
from typing import ClassVar

import pytest

from guard.sql.facts import Insert, Name
from guard.sql.record import FrozenRecordError, Record, field, fields, is_record, record, replace


@record
class Point(Record):
    kind: ClassVar[str] = "point"
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)
    note: str = field(default="", compare=False, repr=False)


@record
class Point3(Point):
    z: int = 0


def test_fields_defaults_and_construction() -> None:
    assert [f.name for f in fields(Point)] == ["x", "y", "tags", "note"]
    assert [f.name for f in fields(Point3(1))] == ["x", "y", "tags", "note", "z"]
    p = Point(1, tags=("a",))
    assert (p.x, p.y, p.tags, p.note, p.kind) == (1, 0, ("a",), "", "point")
    assert Point3(1, 2, z=3).z == 3
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


def test_equality_hash_and_repr_use_the_compared_fields() -> None:
    assert Point(1, note="a") == Point(1, note="b")
    assert hash(Point(1, note="a")) == hash(Point(1, note="b"))
    assert Point(1) != Point(2)
    assert Point(1) != Point3(1)  # another class is never equal, as with dataclasses
    assert len({Name("a", "a"), Name("a", "a"), Name("b", "b")}) == 2
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=())"


def test_records_are_frozen() -> None:
    p = Point(1)
    with pytest.raises(FrozenRecordError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenRecordError):
        del p.x  # type: ignore[misc]


def test_replace_copy_and_pickle() -> None:
    p = Point(1, 2, ("t",), "n")
    q = replace(p, y=5)
    assert (q.x, q.y, q.tags, q.note) == (1, 5, ("t",), "n") and p.y == 2
    assert copy.copy(p) == p and copy.deepcopy(p) == p
    assert pickle.loads(pickle.dumps(p)) == p
    assert is_record(p) and not is_record(Point) and not is_record(None)


def test_an_insert_keeps_its_source_text_out_of_equality() -> None:
    assert Insert(Name("t", "t"), source="INSERT INTO t VALUES (1)") == Insert(Name("t", "t"))
    assert "VALUES" not in repr(Insert(Name("t", "t"), source="INSERT INTO t VALUES (1)"))
