"""A report fitted to one cluster (docs/config.md): findings its team accepts, components it knows
are absent. Pure: the CLI reads the config file into a Fit, ``analyze`` applies it here."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from kplanediag.analysis.knowledge.components import COMPONENTS
from kplanediag.analysis.model import Component, Finding, Plane, Status

# findings that say a component is not there: with the component expected absent they say nothing
ABSENCE_CODES = frozenset({"KPD-122", "KPD-302", "KPD-311", "KPD-322"})


def _glob(pattern: str | None, value: str) -> bool:
    return pattern is None or fnmatchcase(value, pattern)


@dataclass(frozen=True)
class Accept:
    """One accepted finding: a code, optionally narrowed (shell patterns) by component, node, namespace."""

    code: str
    component: str | None = None
    node: str | None = None
    namespace: str | None = None
    reason: str = ""
    origin: str = ""  # "FILE:LINE" of the entry, or "--ignore"

    def matches(self, f: Finding) -> bool:
        if f.code != self.code or not _glob(self.component, f.component):
            return False
        if self.namespace is not None:
            namespace = f.subject.split("/", 1)[0] if "/" in f.subject else ""
            if not fnmatchcase(namespace, self.namespace):
                return False
        return self.node is None or _on_node(f, self.node)

    def describe(self) -> str:
        narrow = [
            f"{k} {v}"
            for k, v in (("component", self.component), ("node", self.node), ("namespace", self.namespace))
            if v
        ]
        return f"accept {self.code}" + (f" ({', '.join(narrow)})" if narrow else "")


def _on_node(f: Finding, pattern: str) -> bool:
    """The finding's subject is the node, or its message places it on the node ("... on NODE")."""
    if fnmatchcase(f.subject, pattern):
        return True
    return any(fnmatchcase(name, pattern) for name in re.findall(r"\bon ([\w.-]*\w)", f.message))


@dataclass(frozen=True)
class ExpectedAbsent:
    component: str
    reason: str = ""
    origin: str = ""


@dataclass(frozen=True)
class Links:
    """Where a team keeps its runbooks and its dashboard (docs/config.md): the status page links there.
    ``runbook`` is a URL template: ``{code}`` becomes KPD-201, ``{anchor}`` kpd-201."""

    runbook: str = ""
    dashboard: str = ""

    def runbook_for(self, code: str) -> str:
        return self.runbook.replace("{code}", code).replace("{anchor}", code.lower()) if self.runbook else ""


@dataclass(frozen=True)
class Fit:
    """What a config (and ``--ignore``) says of one cluster. ``source`` names the file and sections."""

    source: str = ""
    accept: tuple[Accept, ...] = ()
    absent: tuple[ExpectedAbsent, ...] = ()
    policy: tuple[tuple[str, float], ...] = ()
    links: Links = Links()


@dataclass(frozen=True)
class Accepted:
    finding: Finding
    rule: Accept


@dataclass(frozen=True)
class Stale:
    """A config entry that no longer matches anything: to be removed or corrected."""

    origin: str
    entry: str
    why: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.entry}: {self.why}"


@dataclass(frozen=True)
class Fitted:
    """What a fit did to one report: accepted findings (not counted), stale entries, absent components."""

    source: str
    accepted: tuple[Accepted, ...] = ()
    stale: tuple[Stale, ...] = ()
    absent: tuple[str, ...] = ()
    links: Links = Links()


def expect_absent(
    fit: Fit, components: tuple[Component, ...], findings: tuple[Finding, ...]
) -> tuple[tuple[Component, ...], tuple[Finding, ...], list[Accepted], list[Stale], list[str]]:
    """Each expected-absent component is unknown ("expected absent"), never down; the findings that
    it is missing are dropped, any other finding about it is accepted (counted, listed)."""
    comps = list(components)
    kept = list(findings)
    accepted: list[Accepted] = []
    stale: list[Stale] = []
    absent: list[str] = []
    for entry in fit.absent:
        name = entry.component
        detail = "expected absent" + (f": {entry.reason}" if entry.reason else "") + f" ({entry.origin})"
        mine = [c for c in comps if c.name == name]
        if any(c.status is Status.HEALTHY for c in mine):
            where = ", ".join(sorted({c.node for c in mine if c.node and c.status is Status.HEALTHY})) or "cluster-wide"
            stale.append(Stale(entry.origin, f"expected absent {name}", f"observed healthy ({where})"))
            continue
        absent.append(name)
        if not mine:
            info = COMPONENTS.get(name)
            comps.append(Component(name, info.plane if info else Plane.DATA, Status.UNKNOWN, detail=detail))
        comps = [
            replace(
                c,
                status=Status.UNKNOWN,
                detail=detail,
                evidence=(*c.evidence, f"observed {c.status.value}: {c.detail}"),
            )
            if c.name == name and c.status is not Status.HEALTHY
            else c
            for c in comps
        ]
        rule = Accept(
            "",
            component=name,
            reason=f"expected absent{': ' + entry.reason if entry.reason else ''}",
            origin=entry.origin,
        )
        for f in [f for f in kept if f.component == name]:
            kept.remove(f)
            if f.code not in ABSENCE_CODES:
                accepted.append(Accepted(f, replace(rule, code=f.code)))
    return tuple(comps), tuple(kept), accepted, stale, absent


def accept_findings(fit: Fit, findings: tuple[Finding, ...]) -> tuple[tuple[Finding, ...], list[Accepted], list[Stale]]:
    """Findings matched by an accept entry (the first that matches) leave the count; an entry that
    matches none is stale."""
    kept: list[Finding] = []
    accepted: list[Accepted] = []
    used: set[Accept] = set()
    for f in findings:
        rule = next((r for r in fit.accept if r.matches(f)), None)
        if rule is None:
            kept.append(f)
        else:
            accepted.append(Accepted(f, rule))
            used.add(rule)
    stale = [Stale(r.origin, r.describe(), "no such finding in this run") for r in fit.accept if r not in used]
    return tuple(kept), accepted, stale


def apply_fit(
    fit: Fit, components: tuple[Component, ...], findings: tuple[Finding, ...]
) -> tuple[tuple[Component, ...], tuple[Finding, ...], Fitted]:
    """The components and the findings that still count, and what the fit did."""
    comps, remaining, absent_accepted, absent_stale, absent = expect_absent(fit, components, findings)
    kept, accepted, stale = accept_findings(fit, remaining)
    fitted = Fitted(
        fit.source, tuple(absent_accepted + accepted), tuple(absent_stale + stale), tuple(absent), fit.links
    )
    return comps, kept, fitted
