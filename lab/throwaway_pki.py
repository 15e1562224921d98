"""The PKI of a throwaway control plane (lab/throwaway.py), made with the openssl CLI: a CA, a serving
certificate that may expire soon, an admin client certificate and a ServiceAccount key pair."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.labctl import LabError

CA_DAYS = 3650


def openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["/usr/bin/openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LabError(f"openssl {args[0]} failed: {proc.stderr.strip()[-400:]}")


def make_pki(pki: Path, serving_days: int) -> None:
    """CA (ten years), serving cert (``serving_days``, SANs 127.0.0.1 and localhost), admin client
    cert (CN=throwaway-admin, O=system:masters), ServiceAccount key pair; all EC P-256."""
    pki.mkdir(parents=True, exist_ok=True)
    for key in ("ca", "serving", "admin", "sa"):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{key}.key", cwd=pki)
    openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=throwaway-ca", "-days", str(CA_DAYS),
            "-out", "ca.crt", cwd=pki)  # fmt: skip
    exts = {
        "serving": "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        "admin": "extendedKeyUsage=clientAuth\n",
    }
    subjects = {
        "serving": ("/CN=throwaway-apiserver", serving_days),
        "admin": ("/O=system:masters/CN=throwaway-admin", CA_DAYS),
    }
    for name, (subject, days) in subjects.items():
        (pki / f"{name}.ext").write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\n" + exts[name])
        openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=pki)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", str(days), "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=pki)  # fmt: skip
