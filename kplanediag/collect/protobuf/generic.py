"""Any kind's protobuf message into its Struct, planned from the two declarations alone: the Struct's
fields (JSON names, types, defaults) and its k8s.proto message. Kinds without a convert.py function use it."""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from google.protobuf.message import Message

from kplanediag.collect.protobuf import k8s_pb2 as pb
from kplanediag.collect.protobuf.memo import text

Read = Callable[[Any], Any]  # a field's value on the message -> the Struct's value
Step = tuple[str, tuple[str, ...], str, Read, bool]  # field, inline parents, attribute, read, by presence
Descriptor = Any  # google.protobuf's Descriptor (its upb twin is typed apart)
FieldDescriptor = Any
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO_SECONDS = -62135596800  # Go's zero time.Time, which JSON writes as null


class Mismatch(TypeError):
    """A Struct field its k8s.proto message cannot fill: the message lacks it, or declares another type."""


def _time(t: Any) -> datetime | None:
    """Time (whole seconds) and MicroTime (nanos cut to microseconds, as JSON has them); zero is None."""
    if not t.HasField("seconds") or (t.seconds == _ZERO_SECONDS and not t.nanos):
        return None
    return _EPOCH + timedelta(seconds=t.seconds, microseconds=t.nanos // 1000)


def _int_or_string(m: Any) -> int | str:
    return text(m.strVal) if m.type == 1 else int(m.intVal)


_VALUES: Mapping[str, Read] = {  # k8s.proto messages that JSON writes as one value, not an object
    "Time": _time,
    "MicroTime": _time,
    "IntOrString": _int_or_string,
    "Quantity": lambda q: text(q.string),
}
_PLANS: dict[tuple[type[Any], str], Callable[[Message], Any]] = {}


def converter(cls: type[Any], message: Descriptor) -> Callable[[Message], Any]:
    """From a parsed ``message`` to the ``cls`` Struct the JSON decoder builds from the same object:
    JSON's omitted zero values are the Struct's defaults, Go's pointers (None allowed) go by presence.
    Mismatch names the first field that cannot be filled."""
    key = (cls, message.full_name)
    if key not in _PLANS:
        _PLANS[key] = _plan(cls, message)
    return _PLANS[key]


def _plan(cls: type[Any], message: Descriptor) -> Callable[[Message], Any]:
    fields = _fields(message)
    steps: list[Step] = []
    for f in msgspec.structs.fields(cls):
        where = f"{cls.__name__}.{f.name} ({message.name}.{f.encode_name} in k8s.proto)"
        if f.encode_name not in fields:
            raise Mismatch(f"{where}: no such field")
        path, fd = fields[f.encode_name]
        optional, base = _optional(f.type)
        read = _repeated(base, fd, where) if fd.is_repeated else _reader(base, fd, where)
        by_presence = not fd.is_repeated and (optional or fd.type in (fd.TYPE_MESSAGE, fd.TYPE_BYTES))
        steps.append((f.name, path, fd.name, read, by_presence))

    def convert(m: Message) -> Any:
        values = {}
        for name, path, attr, read, by_presence in steps:
            owner: Any = m
            for parent in path:
                owner = getattr(owner, parent)
            if by_presence:
                if owner.HasField(attr):
                    values[name] = read(getattr(owner, attr))
            elif raw := getattr(owner, attr):  # JSON omits zero values and empty lists: the default
                values[name] = read(raw)
        return cls(**values)

    return convert


def _fields(message: Descriptor) -> dict[str, tuple[tuple[str, ...], FieldDescriptor]]:
    """JSON name -> (inline parents, field) of ``message``, the fields of ``(inline)`` sub-messages lifted."""
    found: dict[str, tuple[tuple[str, ...], FieldDescriptor]] = {}
    for fd in message.fields:
        if fd.GetOptions().Extensions[pb.inline]:
            found |= {name: ((fd.name, *path), f) for name, (path, f) in _fields(fd.message_type).items()}
        else:
            found[fd.name] = ((), fd)
    return found


def _optional(hint: Any) -> tuple[bool, Any]:
    """(whether None is allowed, the type without None and without Annotated)."""
    if typing.get_origin(hint) is typing.Annotated:
        return _optional(typing.get_args(hint)[0])
    args = typing.get_args(hint)
    if type(None) not in args:
        return False, hint
    rest = tuple(a for a in args if a is not type(None))
    return True, _optional(rest[0])[1] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007


def _is_struct(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, msgspec.Struct)


def _holds(fd: FieldDescriptor) -> Any:
    """The k8s_pb2 message class a bytes field declares it holds (``[(holds) = "..."]``), else None."""
    name = fd.GetOptions().Extensions[pb.holds] if fd.type == fd.TYPE_BYTES else ""
    return getattr(pb, name) if name else None


def _reader(base: Any, fd: FieldDescriptor, where: str) -> Read:
    """How one value of ``fd`` (one element, if repeated) becomes a ``base``."""
    held = _holds(fd)
    if held is not None:
        inner, parse = _message(base, held.DESCRIPTOR, where), held.FromString
        return lambda raw: inner(parse(raw))
    if fd.type == fd.TYPE_BYTES and _is_struct(base) and not msgspec.structs.fields(base):
        return lambda _raw: base()  # only whether it is there is read (a volume's emptyDir)
    if fd.type == fd.TYPE_MESSAGE:
        return _message(base, fd.message_type, where)
    if base is str and fd.type == fd.TYPE_STRING:
        return text
    if base is bool and fd.type == fd.TYPE_BOOL:
        return bool
    if base is int and fd.cpp_type in (fd.CPPTYPE_INT32, fd.CPPTYPE_INT64, fd.CPPTYPE_UINT32, fd.CPPTYPE_UINT64):
        return int
    raise Mismatch(f"{where}: a {getattr(base, '__name__', base)} cannot be read from a {_type_name(fd)}")


def _message(base: Any, message: Descriptor, where: str) -> Read:
    if message.name in _VALUES:
        return _VALUES[message.name]
    if _is_struct(base):
        return converter(base, message)
    raise Mismatch(f"{where}: a {getattr(base, '__name__', base)} cannot be read from message {message.name}")


def _repeated(base: Any, fd: FieldDescriptor, where: str) -> Read:
    origin, args = typing.get_origin(base), typing.get_args(base)
    if origin is tuple and args[1:] == (Ellipsis,):
        element = _reader(args[0], fd, where)
        return lambda items: tuple(map(element, items))
    entry = _holds(fd)
    entry_desc = entry.DESCRIPTOR if entry is not None else fd.message_type
    if origin in (Mapping, dict) and entry_desc is not None and {"key", "value"} <= set(entry_desc.fields_by_name):
        value = _reader(args[1], entry_desc.fields_by_name["value"], where)
        if entry is None:  # a map<K, V> field: a mapping already
            return lambda entries: {text(k): value(v) for k, v in entries.items()}
        return lambda raws: {text(e.key): value(e.value) for e in map(entry.FromString, raws)}
    raise Mismatch(f"{where}: a {base} cannot be read from a repeated {_type_name(fd)}")


def _type_name(fd: FieldDescriptor) -> str:
    return fd.message_type.name if fd.message_type is not None else f"scalar of type {fd.type}"
