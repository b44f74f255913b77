"""Frozen records for the statement model (`guard.sql.parts`, `guard.sql.facts`, `TypeSpec`).

A record is what `@dataclass(frozen=True)` would make of the class: fields from its annotations
(`ClassVar`s excluded, a base class's fields first), built positionally or by keyword with their
defaults, compared and hashed by their compared fields, shown as `Name(key='a', ...)`, and never
assigned to. `fields`, `replace` and `is_record` stand in for dataclasses' own.

Why not dataclasses: every lint process defines about 45 such classes and a corpus lint builds
about 60,000 records. A frozen dataclass compiles six methods per class one by one (~20 ms of
each process's start-up in all) and sets each field through `object.__setattr__` (~0.4 µs per
record); here one `__init__` per class is compiled, it writes the instance dictionary directly,
and the rest are shared methods of `Record`.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import get_annotations
from operator import attrgetter
from typing import Any, ClassVar, TypeVar, dataclass_transform

_MISSING: Any = object()
_R = TypeVar("_R", bound="Record")


class FrozenRecordError(AttributeError):
    """Raised on an assignment to a record's attribute."""


class Field:
    """One field of a record: its name, annotation (as written), default (or default factory),
    and whether it takes part in equality, hashing and the repr."""

    __slots__ = ("compare", "default", "default_factory", "name", "repr", "type")

    def __init__(
        self,
        default: Any = _MISSING,
        default_factory: Callable[[], Any] | Any = _MISSING,
        compare: bool = True,
        repr: bool = True,
    ) -> None:
        self.name = ""
        self.type = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | Any = _MISSING,
    compare: bool = True,
    repr: bool = True,
) -> Any:
    """A field with options, as `dataclasses.field`: `x: list[str] = field(default_factory=list)`."""
    return Field(default, default_factory, compare, repr)


class Record:
    """The base of every record (see the module docstring)."""

    __slots__ = ("__dict__",)
    __record_fields__: ClassVar[tuple[Field, ...]] = ()
    #: The compared fields of a record, as one tuple (set by `record`).
    _key_of: ClassVar[Callable[[Any], tuple[Any, ...]]]

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenRecordError(f"cannot assign to field {name!r} of a {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r} of a {type(self).__name__}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key_of = type(self)._key_of
        return key_of(self) == key_of(other)

    def __hash__(self) -> int:
        return hash(type(self)._key_of(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__ if f.repr)
        return f"{type(self).__qualname__}({shown})"


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: type[_R]) -> type[_R]:
    """Make `cls` (a subclass of `Record`) a record of the fields its annotations declare."""
    own: dict[str, Field] = {}
    for name, annotation in get_annotations(cls).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, _MISSING)
        spec = value if isinstance(value, Field) else Field(default=value)
        spec.name, spec.type = name, str(annotation)
        own[name] = spec
        if spec.default is _MISSING and name in cls.__dict__:
            delattr(cls, name)  # a default_factory field: no class attribute
        elif spec.default is not _MISSING:
            type.__setattr__(cls, name, spec.default)
    inherited = {f.name: f for f in cls.__record_fields__ if f.name not in own}
    specs = (*inherited.values(), *own.values())
    cls.__record_fields__ = specs
    type.__setattr__(cls, "__match_args__", tuple(f.name for f in specs))
    type.__setattr__(cls, "_key_of", staticmethod(_key_of([f.name for f in specs if f.compare])))
    type.__setattr__(cls, "__init__", _init(cls, specs))
    return cls


def _key_of(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the values of `names` of a record, as one tuple (in C: `attrgetter`)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda value: (one(value),)
    return lambda value: ()


def _init(cls: type, specs: tuple[Field, ...]) -> Callable[..., None]:
    """One compiled `__init__` for the record class: parameters in field order, each stored
    straight into the instance dictionary (assignment is refused on records)."""
    scope: dict[str, Any] = {"_MISSING": _MISSING}
    params, body = [], ["    d = self.__dict__"]
    for f in specs:
        if f.default_factory is not _MISSING:
            scope[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    d[{f.name!r}] = _factory_{f.name}() if {f.name} is _MISSING else {f.name}")
            continue
        if f.default is not _MISSING:
            scope[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        else:
            params.append(f.name)
        body.append(f"    d[{f.name!r}] = {f.name}")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body)
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), scope)
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def fields(value: Record | type[Record]) -> tuple[Field, ...]:
    """The fields of a record or record class, in order (as `dataclasses.fields`)."""
    return value.__record_fields__


def is_record(value: object) -> bool:
    """True for a record instance (not a record class)."""
    return isinstance(value, Record)


def replace(value: _R, **changes: Any) -> _R:
    """A copy of the record `value` with `changes` (as `dataclasses.replace`)."""
    for f in value.__record_fields__:
        if f.name not in changes:
            changes[f.name] = value.__dict__[f.name]
    return type(value)(**changes)
