"""Writes kplanediag-prometheusrule.yaml (a PrometheusRule of the Prometheus Operator) from the plain
rule groups of kplanediag-rules.yaml, text for text: `python deploy/prometheus/prometheusrule.py`.
tests/unit/test_alert_rules.py fails when the two differ."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
RULES = HERE / "kplanediag-rules.yaml"
OUT = HERE / "kplanediag-prometheusrule.yaml"
HEADER = """\
# Generated from kplanediag-rules.yaml by prometheusrule.py; do not edit by hand.
# The same alerts as a PrometheusRule: the label release/ruleSelector your Prometheus selects may differ.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: kplanediag
  namespace: kplanediag
  labels:
    app.kubernetes.io/name: kplanediag
    app.kubernetes.io/component: alert-rules
spec:
"""


def prometheus_rule(rules_text: str) -> str:
    """The rules file's `groups:` block, indented under `spec:`; its comments are left out."""
    lines = rules_text.splitlines()
    start = lines.index("groups:")
    body = [f"  {line}" if line else "" for line in lines[start:]]
    return HEADER + "\n".join(body) + "\n"


if __name__ == "__main__":
    OUT.write_text(prometheus_rule(RULES.read_text()))
    print(f"wrote {OUT}")
