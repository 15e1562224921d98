"""The per-cluster config on a live run (docs/config.md): the sections applied are `default`, the
kubeconfig cluster's and the context's, found from the kubeconfig kplanediag is given."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.conftest import Cluster


def test_live_run_applies_the_context_and_cluster_sections(cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = yaml.safe_load(cluster.reader.read_text())
    context = kubeconfig["current-context"]
    name = next(c for c in kubeconfig["contexts"] if c["name"] == context)["context"]["cluster"]
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "default": {"accept": [{"code": "KPD-100", "reason": "never happens while it answers"}]},
                name: {"expected_absent": ["cloud-controller-manager"]},
                context: {"policy": {"csr_pending": 3600}},
                "some-other-cluster": {"accept": ["KPD-201"]},
            }
        )
    )
    code, doc = cluster.report("check", "--config", str(config))
    assert doc["fit"]["source"] == f"config {config} [default, {name}, {context}]"
    assert [s["entry"] for s in doc["fit"]["stale"]] == ["accept KPD-100"]  # the API server answered
    assert doc["fit"]["expectedAbsent"] == ["cloud-controller-manager"]
    (ccm,) = [c for c in doc["components"] if c["name"] == "cloud-controller-manager"]
    assert ccm["status"] == "unknown" and ccm["detail"].startswith("expected absent")
    assert code == {"healthy": 0, "warning": 1, "critical": 2}[doc["summary"]["status"]]
