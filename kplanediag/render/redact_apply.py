"""``--redact`` applied: the names a Snapshot holds learned into a Redactor, and the walk that
rewrites every string of a Report or of a Snapshot (``snapshot save --redact``)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from enum import Enum
from typing import Any

import msgspec

from kplanediag.analysis.results import Report
from kplanediag.render.redact import Redactor, address_of
from kplanediag.render.redact_policy import kept_label_value
from kplanediag.snapshot import Snapshot
from kplanediag.snapshot.api_kinds import Webhook
from kplanediag.snapshot.kinds import ObjectMeta, ObjectReference, Resource
from kplanediag.snapshot.registry import KIND_SPECS

# Names are learned in dependency order (nodes and namespaces, then owners, then what is named after them). A
# Report is rewritten before any format renders it, so every format, present and future, is covered; a
# redacted Snapshot still loads and analyses the same.
HOST_ADDRESSES = ("Hostname", "InternalDNS", "ExternalDNS")
# owners and their children by the kind an ownerReference names (CronJob, Job: no list of their own)
OWNER_CATEGORY = {"Deployment": "deploy", "DaemonSet": "ds", "StatefulSet": "sts", "CronJob": "cronjob"}
CHILD_CATEGORY = {"ReplicaSet": "rs", "Job": "job"}
CATEGORY = {**{spec.name: spec.category for spec in KIND_SPECS}, **OWNER_CATEGORY, **CHILD_CATEGORY}
# APIServices of the platform's own groups ("v1.apps", "v1beta1.metrics.k8s.io"): kept.
_PLATFORM_GROUP = re.compile(r"(?:[a-z0-9-]*|.*\.k8s\.io|.*\.kubernetes\.io|.*\.openshift\.io)")
_PATH = re.compile(r"\S*/\S*")


def learn(redactor: Redactor, snap: Snapshot) -> Redactor:
    """Register every name ``snap`` holds; owners before what is named after them, so a pod's token
    keeps its owner's: ``web-7d9f8-xk2bd`` -> ``deploy-3f2a1c-7d9f8-xk2bd``."""
    items: list[Resource] = [item for r in snap.counts() for item in getattr(snap.resources, r)]
    for node in snap.nodes:
        token = redactor.name(node.name, "node")
        redactor.alias(node.name.split(".", 1)[0], token)
        provider = node.spec.provider_id  # "aws:///zone/instance", or an OCI "ocid1.instance..."
        if "://" in provider:
            redactor.text(provider)
        else:
            redactor.name(provider, "id")
        for a in node.status.addresses:
            if a.type in HOST_ADDRESSES and a.address.split(".")[0] == node.name.split(".")[0]:
                redactor.alias(a.address, token)  # the node's own hostname
            elif a.type in HOST_ADDRESSES:
                redactor.name(a.address, "host")
    for pod in snap.pods:
        redactor.name(pod.spec.node_name, "node")
    for es in snap.endpointslices:
        for ep in es.endpoints:
            redactor.name(ep.node_name, "node")
    for item in items:
        redactor.name(item.namespace, "ns")
    if snap.server:
        redactor.text(snap.server)
    refs = [*_references(snap), *((type(i).__name__, i.metadata) for i in items)]
    for ref in refs:
        redactor.name(ref[1].namespace, "ns")
    for phase in (OWNER_CATEGORY, CHILD_CATEGORY, CATEGORY):
        for kind, meta in refs:
            if kind in phase:
                redactor.name(meta.name, phase[kind])
        for item in items:
            for owner in item.metadata.owner_references:
                if owner.kind in phase:
                    redactor.name(owner.name, phase[owner.kind])
    for item in items:
        for owner in item.metadata.owner_references:
            redactor.name(owner.name, "owner")  # custom resources (an Alertmanager, a Prometheus)
    for w in _webhooks(snap):
        redactor.name(w.name, "webhook")
    for api in snap.apiservices:
        if not _PLATFORM_GROUP.fullmatch(api.spec.group):
            redactor.name(api.name, "apiservice")
            redactor.name(api.spec.group, "group")
    for csr in snap.csrs:
        redactor.person(csr.spec.username)  # a requester is a person (an e-mail address, often)
    if snap.serving_certificate:
        for dns in snap.serving_certificate.dns_names:
            redactor.text(dns)  # registers nothing new: names in it are replaced as known
    return redactor


def _references(snap: Snapshot) -> Iterable[tuple[str, ObjectReference | ObjectMeta]]:
    """Objects named by others: endpoints' targets, Events' subjects, Services of webhooks/APIs."""
    for es in snap.endpointslices:
        for ep in es.endpoints:
            if ep.target_ref is not None:
                yield ep.target_ref.kind, ep.target_ref
    for event in snap.events:
        if event.regarding is not None:
            yield event.regarding.kind, event.regarding
    services = [w.client_config.service for w in _webhooks(snap)]
    services += [a.spec.service for a in snap.apiservices]
    for svc in services:
        if svc is not None:
            yield "Service", ObjectReference(kind="Service", namespace=svc.namespace, name=svc.name)


def _webhooks(snap: Snapshot) -> Iterator[Webhook]:
    for v in snap.validating_webhooks:
        yield from v.webhooks
    for m in snap.mutating_webhooks:
        yield from m.webhooks


def redactor_for(snapshots: Iterable[Snapshot], salt: bytes | None = None) -> Redactor:
    redactor = Redactor(salt)
    for snap in snapshots:
        learn(redactor, snap)
    return redactor


# --- walking ------------------------------------------------------------------------------------

LABEL_MAPS = frozenset({"labels", "match_labels", "selector", "node_selector"})
QUANTITIES = frozenset({"allocatable", "requests"})  # "250m", "16Gi": no name, and read as numbers


def _label(redactor: Redactor, value: str) -> str:
    """A label value: the token of the name it is, else itself when the analysis matches on it or
    it is generated, else an opaque token (selectors and labels get the same one: still match)."""
    if value in redactor.tokens:
        return redactor.tokens[value]
    if kept_label_value(value) or address_of(value):
        return redactor.address(value)
    return redactor.opaque(value, "label")


def _image(redactor: Redactor, image: str) -> str:
    """``registry/repo/name:tag@sha256:...`` -> ``image-3f2a1c:tag@sha256:...``: the registry and
    repository go, the tag (the version the analysis reads) and the digest stay."""
    slash = image.rfind("/") + 1
    cut = min((i for i in (image.find(c, slash) for c in ":@") if i >= 0), default=len(image))
    return redactor.opaque(image[:cut], "image") + image[cut:]


class _Walk:
    """One rewrite of a Report or Snapshot. Decoders share equal sub-objects (tolerations, label
    sets) and strings repeat (condition messages), so each is rewritten once."""

    def __init__(self, redactor: Redactor, snapshot: bool) -> None:
        self.redactor, self.snapshot = redactor, snapshot
        self.strings: dict[tuple[str, str], str] = {}
        self.records: dict[tuple[int, str], Any] = {}

    def string(self, value: str, field: str) -> str:
        rule = (
            field
            if (self.snapshot and field in ("image", "values", *LABEL_MAPS)) or field in ("source", "username")
            else ""
        )
        key = (value, rule)
        if key not in self.strings:
            r = self.redactor
            if rule == "image":
                done = _image(r, value)
            elif rule == "username":
                done = r.person(value)
            elif rule == "source" and "/" in value:
                done = _PATH.sub(lambda m: r.name(m.group(), "file"), value)
            elif rule and rule != "source":
                done = _label(r, value)
            else:
                done = r.text(value)
            self.strings[key] = done
        return self.strings[key]

    def __call__(self, value: Any, field: str = "") -> Any:
        if field in QUANTITIES:
            return value
        if isinstance(value, str):
            return value if isinstance(value, Enum) else self.string(value, field)
        if isinstance(value, (tuple, list)):
            return type(value)(self(v, field) for v in value)
        if isinstance(value, Mapping):
            return {k: self(v, field) for k, v in value.items()}
        if not _record(value):
            return value
        key = (id(value), field)
        if key not in self.records:
            if isinstance(value, msgspec.Struct):
                changes = {f: self(getattr(value, f), f) for f in value.__struct_fields__}
                self.records[key] = (value, msgspec.structs.replace(value, **changes))
            else:
                changes = {f.name: self(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
                self.records[key] = (value, dataclasses.replace(value, **changes))
        return self.records[key][1]  # (the original is kept with it: its id stays unique meanwhile)


def _record(value: Any) -> bool:
    return isinstance(value, msgspec.Struct) or (dataclasses.is_dataclass(value) and not isinstance(value, type))


def redact_report(report: Report, redactor: Redactor) -> Report:
    result: Report = _Walk(redactor, snapshot=False)(report)
    return result


def redact_snapshot(snap: Snapshot, redactor: Redactor) -> Snapshot:
    """Names, addresses, URLs, images (tag kept) and label values not matched on by the analysis."""
    result: Snapshot = _Walk(redactor, snapshot=True)(snap)
    return result


def redact_run(report: Report, snapshots: Iterable[Snapshot]) -> tuple[Report, Callable[[str], str]]:
    """The report redacted, and the last pass for its rendered text (addresses and URLs only)."""
    redactor = redactor_for(snapshots)
    return redact_report(report, redactor), redactor.net
