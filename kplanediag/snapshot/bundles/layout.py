"""What a bundle format is, as data: which of its paths hold which list (and the group/version the
path implies), which hold metadata, and how its own metadata tells the capture time and /version.
One module per format fills one Layout; the reader (reader.py) applies them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import msgspec

from kplanediag.snapshot.model import RESOURCES, VersionInfo, parse_time

TIME = "time"  # metadata roles of a member
VERSION = "version"
ERRORS = "errors"
MAX_META_BYTES = 4 * 2**20  # a metadata file larger than this is not one


@dataclass(frozen=True)
class Route:
    """A member's role: the list it holds (``resource``), with the apiVersion its path implies for
    items that carry none; or a metadata ``role`` (TIME, VERSION, ERRORS) and no resource."""

    resource: str = ""
    api_version: str = ""
    role: str = ""
    namespace: str = ""  # where the path names it (must-gather): lets Events be filtered before parsing


Meta = Mapping[str, bytes]  # metadata member path -> its bytes
CaptureTime = tuple[datetime, str]  # the time, and how it was told


@dataclass(frozen=True)
class Layout:
    name: str  # as the report names the format: "sonobuoy results"
    source: str  # Snapshot.source: "sonobuoy"
    route: Callable[[tuple[str, ...]], Route | None]  # a member's path segments -> its role, or None
    capture_time: Callable[[Meta], CaptureTime | None] = lambda meta: None
    version: Callable[[Meta], VersionInfo | None] = lambda meta: None


LOCKS = "endpoints"  # not a list kplanediag keeps: read for its leader locks only (locks.py)


def resource_of(name: str) -> str:
    """``pods``, ``Pods``, ``pod-disruption-budgets`` -> a RESOURCES name (or LOCKS), or "" if not one read."""
    name = name.lower().replace("-", "")
    return name if name in RESOURCES or name == LOCKS else ""


_RFC3339 = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def newest_rfc3339(data: bytes) -> datetime | None:
    """The newest RFC 3339 timestamp anywhere in ``data`` (a log, a JSON or YAML file)."""
    times = (parse_time(m.group().decode()) for m in _RFC3339.finditer(data))
    return max((t for t in times if t is not None), default=None)


def newest_in(meta: Meta, suffix: str, how: str) -> CaptureTime | None:
    """The newest timestamp in the metadata members whose path ends with ``suffix``."""
    found = [t for path, data in meta.items() if path.endswith(suffix) and (t := newest_rfc3339(data))]
    return (max(found), how) if found else None


class _Version(msgspec.Struct, rename="camel"):
    git_version: str = ""
    major: str = ""
    minor: str = ""
    platform: str = ""


class _Wrapped(msgspec.Struct):
    info: _Version | None = None  # troubleshoot's cluster_version.json wraps /version in "info"


def version_file(meta: Meta, suffix: str) -> VersionInfo | None:
    """/version as a bundle stored it (bare, or wrapped in ``info``), from the member ending with
    ``suffix``; None when there is none or it is not /version."""
    for path, data in meta.items():
        if not path.endswith(suffix):
            continue
        try:
            wrapped = msgspec.json.decode(data, type=_Wrapped)
            v = wrapped.info or msgspec.json.decode(data, type=_Version)
        except msgspec.DecodeError:
            continue
        if v.git_version:
            return VersionInfo(git_version=v.git_version, major=v.major, minor=v.minor, platform=v.platform)
    return None
