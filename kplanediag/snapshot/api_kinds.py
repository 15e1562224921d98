"""Kinds read as JSON (lists.py says why): about the API itself, and Events for the timeline; same
conventions as kinds.py, no protobuf declaration follows them."""

from __future__ import annotations

from datetime import datetime

import msgspec

from kplanediag.snapshot.kinds import Base, Condition, LabelSelector, ObjectReference, Resource, Time


# For failures that cross the planes: admission webhooks and policies, aggregated APIServices,
# CertificateSigningRequests of nodes renewing their certificates; and Events, for the timeline, read bounded.
class ServiceReference(Base, frozen=True):
    """A webhook's or APIService's in-cluster Service; ``port`` None means the API's default 443."""

    namespace: str = ""
    name: str = ""
    port: int | None = None


class WebhookClientConfig(Base, frozen=True):
    url: str = ""
    service: ServiceReference | None = None


class RuleWithOperations(Base, frozen=True):
    operations: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    scope: str = "*"


class Webhook(Base, frozen=True):
    """One webhook of a Validating or Mutating configuration. The API server defaults
    failurePolicy to Fail (v1), so an absent one is Fail."""

    name: str = ""
    client_config: WebhookClientConfig = msgspec.field(default_factory=WebhookClientConfig)
    rules: tuple[RuleWithOperations, ...] = ()
    failure_policy: str = "Fail"
    namespace_selector: LabelSelector | None = None
    object_selector: LabelSelector | None = None
    timeout_seconds: int | None = None


class ValidatingWebhookConfiguration(Resource, frozen=True):
    webhooks: tuple[Webhook, ...] = ()


class MutatingWebhookConfiguration(Resource, frozen=True):
    webhooks: tuple[Webhook, ...] = ()


class AdmissionPolicySpec(Base, frozen=True):
    failure_policy: str = "Fail"


class ValidatingAdmissionPolicy(Resource, frozen=True):
    """In-process CEL admission (no pods behind it): inventoried, never a cross-plane dependency."""

    spec: AdmissionPolicySpec = msgspec.field(default_factory=AdmissionPolicySpec)


class APIServiceSpec(Base, frozen=True):
    """``service`` None: the group is served by the API server itself (a "Local" APIService)."""

    group: str = ""
    version: str = ""
    service: ServiceReference | None = None


class APIServiceStatus(Base, frozen=True):
    conditions: tuple[Condition, ...] = ()


class APIService(Resource, frozen=True):
    spec: APIServiceSpec = msgspec.field(default_factory=APIServiceSpec)
    status: APIServiceStatus = msgspec.field(default_factory=APIServiceStatus)


class CertificateSigningRequestSpec(Base, frozen=True):
    signer_name: str = ""
    username: str = ""


class CertificateSigningRequestStatus(Base, frozen=True):
    """``certificate`` is not read: only whether one was issued (conditions) matters here."""

    conditions: tuple[Condition, ...] = ()


class CertificateSigningRequest(Resource, frozen=True):
    spec: CertificateSigningRequestSpec = msgspec.field(default_factory=CertificateSigningRequestSpec)
    status: CertificateSigningRequestStatus = msgspec.field(default_factory=CertificateSigningRequestStatus)


class EventSeries(Base, frozen=True):
    count: int = 0
    last_observed_time: Time | None = None


class Event(Resource, frozen=True):
    """An events.k8s.io/v1 Event: what happened to ``regarding``, when, said by whom."""

    event_time: Time | None = None
    series: EventSeries | None = None
    reporting_controller: str = ""
    reason: str = ""
    regarding: ObjectReference | None = None
    note: str = ""
    type: str = ""
    deprecated_last_timestamp: Time | None = None
    deprecated_count: int = 0

    @property
    def when(self) -> datetime | None:
        """The last time it happened (a series' last observation, else its own time)."""
        last = self.series.last_observed_time if self.series else None
        return last or self.event_time or self.deprecated_last_timestamp or self.metadata.creation_timestamp

    @property
    def count(self) -> int:
        return self.series.count if self.series and self.series.count else max(1, self.deprecated_count)
