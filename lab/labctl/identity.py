"""kplanediag's own identity in the lab: deploy/rbac.yaml applied, a kubeconfig for its ServiceAccount."""

from __future__ import annotations

from pathlib import Path

import yaml

from lab.labctl.base import RBAC, READER, READER_NAMESPACE, Lab, run


def apply_rbac(lab: Lab, admin: Path | None = None, manifest: str | None = None) -> None:
    """Apply deploy/rbac.yaml (or ``manifest``, a modified copy) with the admin kubeconfig."""
    text = RBAC.read_text() if manifest is None else manifest
    run([str(lab.bin / "kubectl"), "--kubeconfig", str(admin or lab.kubeconfig), "apply", "-f", "-"], lab, input_=text)


def reader_kubeconfig(lab: Lab, dest: Path, admin: Path | None = None, duration: str = "2h") -> Path:
    """Write to ``dest`` a kubeconfig for deploy/rbac.yaml's ServiceAccount: the admin kubeconfig's
    server and CA, and a token minted for the account (``kubectl create token``), nothing else."""
    admin = admin or lab.kubeconfig
    apply_rbac(lab, admin)
    create = ("create", "token", READER, "-n", READER_NAMESPACE, "--duration", duration)
    token = run(
        [str(lab.bin / "kubectl"), "--kubeconfig", str(admin), *create],
        lab,
    ).stdout.strip()
    return token_kubeconfig(admin, token, READER, dest)


def token_kubeconfig(admin: Path, token: str, user: str, dest: Path) -> Path:
    """Write to ``dest`` (mode 600) a kubeconfig with the admin kubeconfig's server and CA and
    ``token`` for ``user``, nothing else."""
    config = yaml.safe_load(admin.read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])["context"]
    entry = next(c for c in config["clusters"] if c["name"] == context["cluster"])
    reader = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [entry],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": entry["name"], "user": user}}],
        "current-context": user,
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.touch(mode=0o600)
    dest.chmod(0o600)
    dest.write_text(yaml.safe_dump(reader))
    return dest
