"""collect/protobuf/generic.py: the converter planned from a Struct and its k8s.proto message builds
what the JSON decoder builds, on the lab's real lists (tests/unit/data/wire, capture.py) of every kind
and on the edge cases of test_protobuf.py; a field k8s.proto cannot fill is named."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from kplanediag.collect.protobuf import generic
from kplanediag.collect.protobuf import k8s_pb2 as pb
from kplanediag.snapshot import kinds as k
from kplanediag.snapshot.meta import Base, Time
from kplanediag.snapshot.registry import KIND_SPECS
from tests.unit.test_protobuf import CAPTURES, WIRE, captured_items, edge_cases, from_json


def convert(kind: type[k.Resource], message: Message) -> Any:
    return generic.converter(kind, type(message).DESCRIPTOR)(message)


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_lab_capture_converts_as_its_json(name: str) -> None:
    kind = CAPTURES[name]
    expected, _, _ = from_json(kind, (WIRE / f"{name}.json").read_bytes())
    parse = getattr(pb, kind.__name__).FromString
    got = [convert(kind, parse(raw)) for raw in captured_items(name)]
    assert expected
    assert repr(got) == repr(expected)  # equal, and bool vs int and every datetime's tzinfo too


@pytest.mark.parametrize(("kind", "message", "as_json"), edge_cases())
def test_edge_case_converts_as_its_json(kind: type[k.Resource], message: Message, as_json: dict[str, Any]) -> None:
    assert repr(convert(kind, message)) == repr(msgspec.json.decode(json.dumps(as_json), type=kind))


@pytest.mark.parametrize("spec", [s for s in KIND_SPECS if s.wire == "protobuf"], ids=lambda s: s.name)
def test_every_protobuf_kind_can_be_planned(spec: Any) -> None:
    assert callable(generic.converter(spec.kind, getattr(pb, spec.name).DESCRIPTOR))


class Undeclared(Base, frozen=True):
    key: str = ""
    priority_class_name: str = ""


class Retyped(Base, frozen=True):
    seconds: str = ""  # an int64 in k8s.proto


def test_a_field_k8s_proto_lacks_is_named() -> None:
    with pytest.raises(generic.Mismatch, match=r"Undeclared\.priority_class_name \(Taint\.priorityClassName"):
        generic.converter(Undeclared, pb.Taint.DESCRIPTOR)


def test_a_field_of_another_type_is_named() -> None:
    with pytest.raises(generic.Mismatch, match=r"Retyped\.seconds .*cannot be read"):
        generic.converter(Retyped, pb.Time.DESCRIPTOR)


class Claim(Base, frozen=True):
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    capacity: dict[str, str] = msgspec.field(default_factory=dict)
    bound_at: Time | None = None
    ready: bool | None = None


def _claim_message() -> Any:
    """A message declared with plain ``map<>`` fields, as a new kind's may be (k8s.proto uses bytes)."""
    file = descriptor_pb2.FileDescriptorProto(name="claim.proto", package="t", dependency=["k8s.proto"])
    claim = file.message_type.add(name="Claim")
    types = descriptor_pb2.FieldDescriptorProto
    for number, (name, value) in enumerate((("labels", types.TYPE_STRING), ("capacity", types.TYPE_MESSAGE)), 1):
        entry = claim.nested_type.add(name=f"{name.title()}Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=types.TYPE_STRING, label=types.LABEL_OPTIONAL)
        value_type = ".kplanediag.k8s.Quantity" if value == types.TYPE_MESSAGE else None
        entry.field.add(name="value", number=2, type=value, type_name=value_type, label=types.LABEL_OPTIONAL)
        claim.field.add(name=name, number=number, type=types.TYPE_MESSAGE, type_name=f".t.Claim.{entry.name}", label=3)
    claim.field.add(name="boundAt", number=3, type=types.TYPE_MESSAGE, type_name=".kplanediag.k8s.Time", label=1)
    claim.field.add(name="ready", number=4, type=types.TYPE_BOOL, label=types.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(descriptor_pb2.DESCRIPTOR.serialized_pb))
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(pb.DESCRIPTOR.serialized_pb))
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("t.Claim"))


def test_map_fields_and_presence() -> None:
    message = _claim_message()
    full = message(labels={"app": "db"}, ready=False)
    full.capacity["storage"].string = "1Gi"
    full.boundAt.seconds = 1700000000
    as_json = {
        "labels": {"app": "db"},
        "capacity": {"storage": "1Gi"},
        "boundAt": "2023-11-14T22:13:20Z",
        "ready": False,
    }
    assert repr(generic.converter(Claim, message.DESCRIPTOR)(full)) == repr(
        msgspec.json.decode(json.dumps(as_json), type=Claim)
    )
    assert generic.converter(Claim, message.DESCRIPTOR)(message()) == Claim()  # ready absent: None, not False
