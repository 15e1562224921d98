"""collect.protobuf: the generated module is current; real lab list pages decode to the same Structs
from protobuf as from JSON; edge cases where protobuf and JSON differ in form; damage handling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from google.protobuf.message import Message

from kplanediag.collect.lists import LISTS
from kplanediag.collect.protobuf import MAGIC, Memo, ProtobufError, decode_list
from kplanediag.collect.protobuf import k8s_pb2 as pb
from kplanediag.snapshot import kinds as k
from kplanediag.snapshot.decode import PAGE_DECODER, BadItems, ItemDecoder
from kplanediag.snapshot.registry import KIND_SPECS
from tests.unit.data.wire import capture_name

PROTO_DIR = Path(__file__).parents[2] / "kplanediag" / "collect" / "protobuf"
WIRE = Path(__file__).parent / "data" / "wire"
CAPTURES: dict[str, type[k.Resource]] = {  # every list read as protobuf (capture.py), and a first page
    **{capture_name(c): c.kind for c in LISTS if not c.json_only},
    "pods-page1": k.Pod,
}


def from_json(kind: type[k.Resource], body: bytes) -> tuple[list[k.Resource], str, BadItems]:
    page = PAGE_DECODER.decode(body)
    out: list[k.Resource] = []
    bad = BadItems("json")
    ItemDecoder(kind).decode_into(page.items or [], out, bad)
    return out, page.metadata.continue_, bad


def from_pb(kind: type[k.Resource], body: bytes, memo: Memo | None = None) -> tuple[list[k.Resource], str, BadItems]:
    bad = BadItems("protobuf")
    items, token = decode_list(kind, body, bad, memo)
    return list(items), token, bad


def list_body(kind: str, items: list[bytes], token: str = "") -> bytes:
    """A protobuf list page as the API server frames it (every List has metadata = 1, items = 2)."""
    page = pb.PodList(items=items)
    setattr(page.metadata, "continue", token)  # a Python keyword
    envelope = pb.Unknown(typeMeta=pb.TypeMeta(apiVersion="v1", kind=kind), raw=page.SerializeToString())
    return MAGIC + envelope.SerializeToString()


def captured_items(name: str) -> list[bytes]:
    return list(pb.PodList.FromString(pb.Unknown.FromString((WIRE / f"{name}.pb").read_bytes()[4:]).raw).items)


def test_generated_module_is_current(tmp_path: Path) -> None:
    out = (f"-I{PROTO_DIR}", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", *out, str(PROTO_DIR / "k8s.proto")], check=True)
    for name in ("k8s_pb2.py", "k8s_pb2.pyi"):
        assert (tmp_path / name).read_text() == (PROTO_DIR / name).read_text(), f"{name} is stale: run `make proto`"


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_lab_capture_decodes_as_its_json(name: str) -> None:
    kind = CAPTURES[name]
    assert (WIRE / f"{name}.pb").exists(), (
        f"no capture of {name}: make cluster-up, then python -m tests.unit.data.wire.capture"
    )
    expected, json_token, json_bad = from_json(kind, (WIRE / f"{name}.json").read_bytes())
    got, token, bad = from_pb(kind, (WIRE / f"{name}.pb").read_bytes(), Memo())
    assert expected, f"{name}: the capture holds no items; recapture with the lab up"
    assert (json_bad.count, bad.count) == (0, 0)
    assert got == expected
    assert repr(got) == repr(expected)  # also bool vs int and the tzinfo of every datetime
    assert token == json_token


def test_first_page_has_the_continue_token_of_its_json() -> None:
    expected, json_token, _ = from_json(k.Pod, (WIRE / "pods-page1.json").read_bytes())
    got, token, _ = from_pb(k.Pod, (WIRE / "pods-page1.pb").read_bytes())
    assert len(got) == 2 and got == expected
    assert token and token == json_token


def entry(key: str, value: str) -> bytes:
    return pb.StringEntry(key=key, value=value).SerializeToString()


def edge_pods() -> list[tuple[Message, dict[str, Any]]]:
    dying = pb.Pod()
    dying.metadata.MergeFrom(
        pb.ObjectMeta(
            name="p", namespace="ns", labels=[entry("app", "x")], deletionTimestamp=pb.Time(seconds=1700000000)
        )
    )
    dying.spec.containers.add(name="c", image="i")
    dying.spec.hostNetwork = True
    toleration = pb.Toleration(key="k", operator="Exists", effect="NoExecute", tolerationSeconds=0)
    dying.spec.tolerations.append(toleration.SerializeToString())
    dying.status.phase = "Pending"
    waiting = dying.status.containerStatuses.add(name="c", restartCount=3)
    waiting.state.waiting.reason = "CrashLoopBackOff"
    placed = pb.Pod(metadata=pb.ObjectMeta(name="placed"))
    container = placed.spec.containers.add(name="c", image="i")
    for name, value in (("cpu", "250m"), ("memory", "64Mi")):
        entry_ = pb.QuantityEntry(key=name, value=pb.Quantity(string=value))
        container.resources.requests.append(entry_.SerializeToString())
    placed.spec.nodeSelector.append(entry("disk", "ssd"))
    placed.spec.volumes.add().volumeSource.emptyDir = b""
    placed.spec.volumes.add().volumeSource.hostPath = pb.StringEntry(key="path", value="/var").SerializeToString()
    placed.spec.volumes.add()  # a projected volume: neither local source is read
    affinity = pb.Affinity()
    term = affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.add()
    term.matchExpressions.add(key="zone", operator="In", values=["a", "b"])
    anti = affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.add(topologyKey="zone")
    anti.labelSelector.matchLabels.append(entry("app", "x"))
    placed.spec.affinity = affinity.SerializeToString()
    zero_time = pb.Pod(metadata=pb.ObjectMeta(name="z"))
    zero_time.metadata.deletionTimestamp.SetInParent()  # how Go writes a zero Time; JSON has null
    zero_time.status.containerStatuses.add(name="c", ready=True).state.SetInParent()
    return [
        (
            placed,
            {
                "metadata": {"name": "placed"},
                "spec": {
                    "containers": [
                        {"name": "c", "image": "i", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}
                    ],
                    "nodeSelector": {"disk": "ssd"},
                    "volumes": [
                        {"name": "a", "emptyDir": {}},
                        {"name": "b", "hostPath": {"path": "/var"}},
                        {"name": "kube-api-access-x1", "projected": {"sources": []}},
                    ],
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
                                ]
                            }
                        },
                        "podAntiAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                                {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "zone"}
                            ]
                        },
                    },
                },
            },
        ),
        (
            dying,
            {
                "metadata": {
                    "name": "p",
                    "namespace": "ns",
                    "labels": {"app": "x"},
                    "deletionTimestamp": "2023-11-14T22:13:20Z",
                },
                "spec": {
                    "containers": [{"name": "c", "image": "i"}],
                    "hostNetwork": True,
                    "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}],
                },
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": "c",
                            "ready": False,
                            "restartCount": 3,
                            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        }
                    ],
                },
            },
        ),
        (
            zero_time,
            {
                "metadata": {"name": "z", "deletionTimestamp": None},
                "status": {"containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "state": {}}]},
            },
        ),
    ]


def edge_cases() -> list[tuple[type[k.Resource], Message, dict[str, Any]]]:
    lease = pb.Lease(spec=pb.LeaseSpec(holderIdentity="", leaseDurationSeconds=0))
    lease.spec.acquireTime.MergeFrom(pb.MicroTime(seconds=1700000000, nanos=123456789))
    lease.spec.renewTime.SetInParent()
    percent = pb.PodDisruptionBudget(spec=pb.PodDisruptionBudgetSpec(minAvailable=pb.IntOrString(type=1, strVal="50%")))
    count = pb.PodDisruptionBudget(spec=pb.PodDisruptionBudgetSpec(maxUnavailable=pb.IntOrString(intVal=1)))
    count.spec.selector.matchExpressions.add(key="app", operator="In", values=["a", "b"])
    count.status.currentHealthy = 0
    slice_ = pb.EndpointSlice()
    slice_.endpoints.add(addresses=["10.0.0.1"], nodeName="n1").conditions.ready = False
    slice_.endpoints.add(addresses=["10.0.0.2"]).conditions.SetInParent()
    scaled_to_zero = pb.StatefulSet(spec=pb.StatefulSetSpec(replicas=0))
    default_replicas = pb.Deployment()
    default_replicas.spec.selector.matchLabels.append(entry("app", "web"))
    service = pb.Service(spec=pb.ServiceSpec(selector=[entry("a", "1"), entry("b", "2")]))
    return [
        *((k.Pod, m, j) for m, j in edge_pods()),
        (
            k.Lease,
            lease,
            {
                "spec": {
                    "holderIdentity": "",
                    "leaseDurationSeconds": 0,
                    "acquireTime": "2023-11-14T22:13:20.123456Z",
                    "renewTime": None,
                }
            },
        ),
        (k.PodDisruptionBudget, percent, {"spec": {"minAvailable": "50%"}}),
        (
            k.PodDisruptionBudget,
            count,
            {
                "spec": {
                    "maxUnavailable": 1,
                    "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]}]},
                },
                "status": {"currentHealthy": 0},
            },
        ),
        (
            k.EndpointSlice,
            slice_,
            {
                "endpoints": [
                    {"addresses": ["10.0.0.1"], "conditions": {"ready": False}, "nodeName": "n1"},
                    {"addresses": ["10.0.0.2"], "conditions": {}},
                ]
            },
        ),
        (k.StatefulSet, scaled_to_zero, {"spec": {"replicas": 0}}),
        (k.Deployment, default_replicas, {"spec": {"selector": {"matchLabels": {"app": "web"}}}}),
        (k.Service, service, {"spec": {"selector": {"a": "1", "b": "2"}}}),
    ]


@pytest.mark.parametrize(("kind", "message", "as_json"), edge_cases())
def test_protobuf_form_decodes_as_the_json_form(
    kind: type[k.Resource], message: Message, as_json: dict[str, Any]
) -> None:
    got, _, bad = from_pb(kind, list_body(f"{kind.__name__}List", [message.SerializeToString()]))
    expected = msgspec.json.decode(json.dumps(as_json), type=kind)
    assert bad.count == 0
    assert repr(got) == repr([expected])


def test_invalid_utf8_is_replaced_as_the_json_encoder_does() -> None:
    node = pb.Node(metadata=pb.ObjectMeta(name="n"))
    node.status.conditions.add(type="Ready", status="False", message="bad XX end")
    raw = node.SerializeToString().replace(b"XX", b"\xff\xe2")  # two invalid bytes, same length
    (got,), _, _ = from_pb(k.Node, list_body("NodeList", [raw]))
    assert isinstance(got, k.Node)
    assert got.status.conditions[0].message == "bad \ufffd\ufffd end"


def test_a_damaged_item_is_one_named_bad_item() -> None:
    items = captured_items("pods")
    victim = pb.Pod.FromString(items[3]).metadata
    damaged = [*items[:3], items[3] + b"\x0f", *items[4:]]  # a field of wire type 7 after the status
    bad = BadItems("pods")
    got, _ = decode_list(k.Pod, list_body("PodList", damaged), bad)
    assert len(got) == len(items) - 1
    assert bad.count == 1
    gap = bad.gap()
    assert gap is not None and f"{victim.namespace}/{victim.name}" in gap.reason


def test_a_truncated_item_is_a_bad_item_without_a_name() -> None:
    items = captured_items("nodes")
    bad = BadItems("nodes")
    got, _ = decode_list(k.Node, list_body("NodeList", [items[0][:40], *items[1:]]), bad)
    assert len(got) == len(items) - 1
    assert bad.count == 1 and "without a readable name" in bad.named[0]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "not a Kubernetes protobuf body"),
        (b'{"kind":"PodList"}', "not a Kubernetes protobuf body"),
        (MAGIC + b"\x12\xff", "unreadable"),
        ((WIRE / "pods.pb").read_bytes()[:1000], "unreadable"),
        ((WIRE / "nodes.pb").read_bytes(), "expected a PodList, got NodeList"),
    ],
)
def test_a_body_that_is_no_pod_list_raises(body: bytes, says: str) -> None:
    with pytest.raises(ProtobufError, match=says):
        decode_list(k.Pod, body, BadItems("pods"))


def test_equal_sub_objects_are_shared_and_the_memo_is_bounded() -> None:
    memo = Memo(limit=5)
    first, _, _ = from_pb(k.Pod, (WIRE / "pods.pb").read_bytes(), memo)
    again, _, _ = from_pb(k.Pod, (WIRE / "pods.pb").read_bytes(), memo)  # trimmed first: rebuilt, equal
    assert again == first
    web = [p for p in first if isinstance(p, k.Pod) and p.name.startswith("web-")]
    assert len(web) == 2
    assert web[0].labels is web[1].labels and web[0].spec.containers is web[1].spec.containers
    # statuses differ by their conditions' transition times; equal ones are one object
    pods = [p for p in first if isinstance(p, k.Pod)]
    assert all(a.status is b.status for a in pods for b in pods if a.status == b.status)
    assert all(a.spec is b.spec for a in pods for b in pods if a.spec == b.spec)
    assert any(a is not b and a.status is b.status for a in pods for b in pods), "no status shared at all"
    assert web[0].metadata.owner_references is web[1].metadata.owner_references
    assert len(memo) > 5
    memo.trim()
    assert len(memo) == 0


def test_every_kind_has_a_converter() -> None:
    for kind in (spec.kind for spec in KIND_SPECS if spec.wire == "protobuf"):
        assert decode_list(kind, list_body(f"{kind.__name__}List", []), BadItems(kind.__name__)) == ([], "")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_continue_token_is_read_from_the_leading_fields_only() -> None:
    """A hostile page whose List puts a million items before its metadata: refused at once (a
    marshaller writes fields in number order), never walked field by field; the real lab page
    (tests/unit/data/wire/pods-page1.pb, a continue token in it) still reads."""
    import time  # noqa: PLC0415

    from kplanediag.collect.errors import ListFailed  # noqa: PLC0415
    from kplanediag.collect.lists import protobuf_continue  # noqa: PLC0415

    real = (Path(__file__).parent / "data" / "wire" / "pods-page1.pb").read_bytes()
    assert protobuf_continue(real)
    listed = b"\x12\x00" * 1_000_000 + b"\x0a\x04\x1a\x02ab"  # items, then metadata{continue: "ab"}
    page = b"k8s\x00" + b"\x12" + _varint(len(listed)) + listed
    start = time.monotonic()
    with pytest.raises(ListFailed, match="not among the first"):
        protobuf_continue(page)
    assert time.monotonic() - start < 0.1
    ordered = (
        b"k8s\x00\x12"
        + _varint(len(b"\x0a\x04\x1a\x02ab" + b"\x12\x00" * 10))
        + b"\x0a\x04\x1a\x02ab"
        + b"\x12\x00" * 10
    )
    assert protobuf_continue(ordered) == "ab"
