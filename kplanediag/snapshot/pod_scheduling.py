"""Where a pod may run, as its spec says: containers' requests, required node affinity and pod
anti-affinity, and whether each volume lives on the node (the fields what-if's placement reads)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from kplanediag.snapshot.meta import Base, LabelSelector, empty_map


class ResourceRequirements(Base, frozen=True):
    requests: Mapping[str, str] = msgspec.field(default_factory=empty_map)  # quantities: cpu, memory


class NodeSelectorRequirement(Base, frozen=True):
    key: str = ""
    operator: str = ""
    values: tuple[str, ...] = ()


class NodeSelectorTerm(Base, frozen=True):
    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    match_fields: tuple[NodeSelectorRequirement, ...] = ()


class NodeSelector(Base, frozen=True):
    node_selector_terms: tuple[NodeSelectorTerm, ...] = ()


class NodeAffinity(Base, frozen=True):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None


class PodAffinityTerm(Base, frozen=True):
    label_selector: LabelSelector | None = None
    namespaces: tuple[str, ...] = ()
    topology_key: str = ""


class PodAntiAffinity(Base, frozen=True):
    required_during_scheduling_ignored_during_execution: tuple[PodAffinityTerm, ...] = ()


class Affinity(Base, frozen=True):
    """The required (hard) parts only: what decides where a pod may run, not where it prefers to."""

    node_affinity: NodeAffinity | None = None
    pod_anti_affinity: PodAntiAffinity | None = None


class LocalVolumeSource(Base, frozen=True):
    """An emptyDir or hostPath source: present or not (their fields are not read)."""


class Volume(Base, frozen=True):
    """Whether the volume lives on the node (its name is not read: it differs per pod)."""

    empty_dir: LocalVolumeSource | None = None
    host_path: LocalVolumeSource | None = None
