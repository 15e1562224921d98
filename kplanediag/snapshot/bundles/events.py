"""core/v1 Events (what bundles store: kubectl cluster-info dump, must-gather, troubleshoot, sonobuoy)
as the events.k8s.io/v1 Event kplanediag reads: the same event under the newer field names."""

from __future__ import annotations

import re

import msgspec

from kplanediag.snapshot.api_kinds import Event, EventSeries
from kplanediag.snapshot.kinds import Base, ObjectMeta, ObjectReference, Time
from kplanediag.snapshot.registry import SPEC_OF_KIND


class EventSource(Base, frozen=True):
    component: str = ""


class CoreEvent(Base, frozen=True):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    involved_object: ObjectReference | None = None
    reason: str = ""
    message: str = ""
    type: str = ""
    count: int = 0
    first_timestamp: Time | None = None
    last_timestamp: Time | None = None
    event_time: Time | None = None
    series: EventSeries | None = None
    reporting_component: str = ""
    source: EventSource | None = None

    def to_event(self) -> Event:
        return Event(
            metadata=self.metadata,
            event_time=self.event_time,
            series=self.series,
            reporting_controller=self.reporting_component or (self.source.component if self.source else ""),
            reason=self.reason,
            regarding=self.involved_object,
            note=self.message,
            type=self.type,
            deprecated_last_timestamp=self.last_timestamp or self.first_timestamp,
            deprecated_count=self.count,
        )


# As a live check reads them (snapshot/registry.py): Warnings everywhere, and every event of the
# namespaces where node and control-plane events are recorded.
EVENT_NAMESPACES = tuple(read.namespace for read in SPEC_OF_KIND[Event].reads if read.namespace)
_WARNING = re.compile(rb"^(?:- |  )type: Warning\s*$", re.MULTILINE)
_ITEM = re.compile(rb"^(?=- )", re.MULTILINE)  # where each item of a column-0 sequence starts
_LIST_KEY = re.compile(rb"\n(?=[^- \n])")  # a line at column 0 that is no item: the List's next key


def kept(event: Event) -> bool:
    return event.type == "Warning" or event.metadata.namespace in EVENT_NAMESPACES


def warnings_yaml(data: bytes) -> bytes:
    """A kubectl YAML EventList with only its Warning items, cut as text before parsing (most of a
    must-gather's events are Normal ones of other namespaces, and most of its parsing time). The
    items are the ``- `` blocks at column 0 after ``items:``, up to the List's next own key."""
    at = 0 if data.startswith(b"items:\n") else data.find(b"\nitems:\n") + 1
    if at == 0 and not data.startswith(b"items:\n"):
        return data
    start = at + len(b"items:\n")
    after = _LIST_KEY.search(data, start)
    end = after.start() + 1 if after else len(data)
    kept = [item for item in _ITEM.split(data[start:end]) if _WARNING.search(item)]
    items = b"items:\n" + b"".join(kept) if kept else b"items: []\n"
    return data[:at] + items + data[end:]


def is_core(api_version: str) -> bool:
    """Whether Events of this apiVersion have the core/v1 shape (involvedObject, message, count)."""
    return not api_version.startswith("events.k8s.io")
