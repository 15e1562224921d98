"""Watch streams read into events and applied to a cache, on real watch responses of the lab's v1.36.2
API server (tests/unit/data/watch/capture.py: a pod created, labelled and deleted, in protobuf and in
JSON; and the server's 410 to a watch from a compacted resourceVersion)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kplanediag.collect.errors import ListFailed
from kplanediag.collect.lists import JSON, LISTS, PROTOBUF, ListCall
from kplanediag.collect.watch import window
from kplanediag.collect.watch.events import Event, EventDecoder, Frames
from kplanediag.collect.watch.informer import Gone, Informer
from kplanediag.snapshot.kinds import Pod

DATA = Path(__file__).parent / "data" / "watch"
PODS = ListCall("pods", "/api/v1/namespaces/kpd-watch-capture/pods", Pod)
STREAM = f"{PROTOBUF};stream=watch"  # the Content-Type of a protobuf watch


def frames(name: str, chunk: int) -> list[bytes]:
    body = (DATA / name).read_bytes()
    split = Frames(STREAM if name.endswith(".pb") else JSON, 1 << 20)
    out: list[bytes] = []
    for i in range(0, len(body), chunk):
        out += split.feed(body[i : i + chunk])
    return out


def events(name: str) -> list[Event]:
    decoder = EventDecoder(Pod)
    return [decoder.decode(frame, name.endswith(".pb")) for frame in frames(name, 4096)]


@pytest.mark.parametrize("name", ["pods.pb", "pods.jsonl", "gone.pb", "gone.jsonl"])
def test_frames_do_not_depend_on_how_the_body_arrives(name: str) -> None:
    whole = frames(name, 1 << 20)
    assert whole
    assert frames(name, 1) == frames(name, 7) == whole


def test_protobuf_and_json_bring_the_same_events() -> None:
    pb, js = events("pods.pb"), events("pods.jsonl")
    assert [e.type for e in pb] == [e.type for e in js]
    assert pb[0].type == "ADDED" and pb[-1].type == "BOOKMARK" and "DELETED" in [e.type for e in pb]
    assert [e.version for e in pb] == [e.version for e in js]
    assert all(e.version for e in pb)
    assert [e.obj for e in pb] == [e.obj for e in js]  # the same typed objects from either wire
    labelled = [e.obj for e in pb if e.obj is not None and e.obj.metadata.labels.get("captured") == "yes"]
    assert labelled


@pytest.mark.parametrize("name", ["pods.pb", "pods.jsonl"])
def test_a_cache_follows_the_pod_through_its_life(name: str) -> None:
    informer = Informer(PODS, lambda: None, (1, 36))  # type: ignore[arg-type,return-value]  # never connects
    seen: list[int] = []
    for event in events(name):
        informer._apply(event)
        objects, _ = informer.read()
        seen.append(len(objects))
        if event.type == "MODIFIED" and objects:
            assert objects[0].metadata.name == "watched"
    assert seen[0] == 1 and seen[-1] == 0  # created, then deleted
    assert informer._version == events(name)[-1].version  # resumed from the bookmark's version
    status = informer.status()
    assert status.events == len(seen) and status.objects == 0


@pytest.mark.parametrize("name", ["gone.pb", "gone.jsonl"])
def test_a_compacted_version_is_gone(name: str) -> None:
    (event,) = events(name)
    assert (event.type, event.code) == ("ERROR", 410)
    assert "too old resource version" in event.message
    informer = Informer(PODS, lambda: None, (1, 36))  # type: ignore[arg-type,return-value]
    with pytest.raises(Gone):
        informer._apply(event)


def test_an_unreadable_object_drops_its_old_state() -> None:
    lines = (DATA / "pods.jsonl").read_bytes().splitlines()
    doc = json.loads(lines[1])
    assert doc["type"] == "MODIFIED"
    doc["object"]["spec"]["containers"] = "not a list"
    informer = Informer(PODS, lambda: None, (1, 36))  # type: ignore[arg-type,return-value]
    decoder = EventDecoder(Pod)
    informer._apply(decoder.decode(lines[0], False))
    assert len(informer.read()[0]) == 1
    broken = decoder.decode(json.dumps(doc).encode(), False)
    assert broken.obj is None and broken.who == "kpd-watch-capture/watched"
    informer._apply(broken)
    objects, bad = informer.read()
    assert objects == () and bad.count == 1 and "kpd-watch-capture/watched" in bad.named[0]


def test_a_frame_over_the_limit_is_refused() -> None:
    body = (DATA / "pods.pb").read_bytes()
    with pytest.raises(ListFailed, match="input limit"):
        Frames(STREAM, 100).feed(body)
    with pytest.raises(ListFailed, match="input limit"):
        Frames(JSON, 100).feed(b"{" * 200)


def test_garbage_is_a_malformed_event() -> None:
    decoder = EventDecoder(Pod)
    with pytest.raises(ListFailed, match="malformed watch event"):
        decoder.decode(b"\x0a\x05ADDED\x12\x03abc", True)
    with pytest.raises(ListFailed, match="malformed watch event"):
        decoder.decode(b'{"type": "ADDED"', False)


@pytest.mark.parametrize("name", ["initial.pb", "initial.jsonl"])
def test_a_streaming_list_is_the_cache_at_its_end_bookmark(name: str) -> None:
    stream = events(name)
    assert [e.type for e in stream] == ["ADDED", "BOOKMARK"]
    assert stream[-1].initial_end and not any(e.initial_end for e in events(name.replace("initial", "pods")))
    informer = Informer(PODS, lambda: None, (1, 36))  # type: ignore[arg-type,return-value]
    informer._staging = {}
    informer._apply(stream[0])
    assert informer.read()[0] == () and not informer.synced.is_set()  # not the cache before the end
    assert informer._version == ""  # a cut stream resumes nothing: it is streamed again
    informer._apply(stream[1])
    objects, _ = informer.read()
    assert [o.metadata.name for o in objects] == ["present"] and informer.synced.is_set()
    assert informer._version == stream[1].version and informer.status().lists == 1
    assert informer._gap is None  # the initial items are no changes: a list of 30,000 gives no usual gap of 0
    informer._apply(stream[1])
    assert informer._gap is not None


def test_when_a_cache_is_stale_and_when_a_check_stops_reading_it() -> None:
    assert window.stale(None, failing=False) and window.stale(1.0, failing=True)
    assert not window.stale(window.STALE_AFTER, failing=False) and window.stale(window.STALE_AFTER + 1, False)
    # the node Leases' watch hears every 0.1 s at 100 nodes: a 16 s silence is a stall, not read
    assert window.readable(14.0, gap=0.1) and not window.readable(16.0, gap=0.1)
    # a quiet kind hears only the minute's bookmark: read until STALE_AFTER
    assert window.readable(70.0, gap=60.0) and not window.readable(window.STALE_AFTER + 1, gap=60.0)
    assert not window.readable(None, gap=None)
    # any other kind is read until STALE_AFTER, however chatty it was: a lull of its changes is no stall
    assert window.readable(70.0, gap=0.1, heartbeats=False)
    assert not window.readable(window.STALE_AFTER + 1, gap=0.1, heartbeats=False)
    assert [c.heartbeats for c in LISTS if c.watched] == [c.resource == "leases" for c in LISTS if c.watched]
