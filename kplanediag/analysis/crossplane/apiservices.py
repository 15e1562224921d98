"""Aggregated APIs: an APIService backed by a Service is served by pods; when its Available
condition is False, that API group is gone from discovery and everything that lists it stalls
(KPD-410). APIServices served by the API server itself (no Service) are not judged."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.crossplane.serving import Backends, backends
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Component, Finding, Plane, Status
from kplanediag.snapshot.api_kinds import APIService
from kplanediag.snapshot.kinds import Condition


@dataclass(frozen=True)
class APIServiceState:
    apiservice: APIService
    available: Condition | None
    backends: Backends

    @property
    def name(self) -> str:
        return self.apiservice.metadata.name

    @property
    def group_version(self) -> str:
        spec = self.apiservice.spec
        return f"{spec.group}/{spec.version}" if spec.group else self.name

    @property
    def failing(self) -> bool:
        return self.available is not None and self.available.status == "False"

    def why(self) -> str:
        c = self.available
        if c is None:
            return "no Available condition"
        text = c.reason or f"Available={c.status}"
        return f"{text}: {c.message}" if c.message else text


def apiservice_states(idx: ClusterIndex, nodes: dict[str, NodeState]) -> list[APIServiceState]:
    states = []
    for svc in idx.snapshot.apiservices:
        ref = svc.spec.service
        if ref is None:
            continue  # served by the API server itself
        available = next((c for c in svc.status.conditions if c.type == "Available"), None)
        states.append(APIServiceState(svc, available, backends(idx, ref, nodes)))
    return states


def assess_apiservices(states: list[APIServiceState]) -> tuple[list[Component], list[Finding]]:
    components: list[Component] = []
    findings: list[Finding] = []
    for state in sorted(states, key=lambda s: s.name):
        if state.failing:
            status = Status.DOWN
            findings.append(
                finding(
                    "KPD-410",
                    state.name,
                    f"aggregated API {state.group_version} is unavailable ({state.why()}); {state.backends.describe()}",
                )
            )
        elif state.available is not None and state.available.status == "True":
            status = Status.HEALTHY
        else:
            status = Status.UNKNOWN
        components.append(
            Component(
                name="aggregated-api",
                plane=Plane.CROSS,
                status=status,
                evidence=(f"Available: {state.why()}", state.backends.describe()),
                detail=f"{state.name}",
            )
        )
    return components, findings
