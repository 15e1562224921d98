"""promtool `input_series` from expositions of /metrics, one a minute: every sample as Prometheus
would have scraped it (with the target's job and instance labels), a stale marker where a series
disappears. For tests/unit/test_alert_rules.py, and for scrapes taken from a live `serve`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TARGET = {"job": "kplanediag-serve", "instance": "kplanediag-serve.kplanediag.svc:8080"}


def samples(text: bytes | str, target: Mapping[str, str] = TARGET) -> dict[str, float]:
    """Each sample of one exposition, keyed by its PromQL series selector."""
    body = text.decode() if isinstance(text, bytes) else text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            labels = {**s.labels, **target}
            inner = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
            out[f"{s.name}{{{inner}}}"] = s.value
    return out


def _value(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


def input_series(scrapes: Iterable[Mapping[str, float]]) -> list[dict[str, Any]]:
    """promtool input_series for one scrape a minute: '_' where a series is absent, 'stale' the
    first minute it is gone (as Prometheus marks a series that a scrape no longer has)."""
    minutes = list(scrapes)
    keys = sorted({k for m in minutes for k in m})
    series = []
    for key in keys:
        values, present = [], False
        for m in minutes:
            if key in m:
                values.append(_value(m[key]))
                present = True
            else:
                values.append("stale" if present else "_")
                present = False
        series.append({"series": key, "values": " ".join(values)})
    return series
