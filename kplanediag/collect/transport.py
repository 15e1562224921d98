"""Connection to the API server: Settings from the kubeconfig (kubeconfig_load.py), GETs through a
urllib3 pool built from them (pool.py), each bounded as a whole, every failure classified (errors.py)."""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
import zlib
from datetime import UTC, datetime
from typing import Any

import urllib3

from kplanediag.collect import kubeconfig_files, kubeconfig_load
from kplanediag.collect.answers import JSON, Response, classify_ssl, inflate, server_date
from kplanediag.collect.errors import (
    AuthenticationError,
    ConfigurationError,
    CredentialError,
    DeadlineExceeded,
    Stalled,
    TLSError,
    TooLarge,
    UnreachableError,
)
from kplanediag.collect.impersonation import Impersonation
from kplanediag.collect.pool import pool_manager
from kplanediag.collect.settings import Settings
from kplanediag.snapshot.credentials import public_url, scrub
from kplanediag.snapshot.limits import max_input, too_large

CHUNK = 1 << 20
RETRIES = 2  # for 429/503 with Retry-After
MAX_RETRY_AFTER = 5.0  # seconds; a longer wait is not taken (the answer would come too late)
_PLAIN_TO_TLS = b"Client sent an HTTP request to an HTTPS server"  # Go's TLS server, to a plain HTTP request


class Transport:
    """GETs against one API server. Thread-safe: the urllib3 pool is. A request is bounded by
    ``--request-timeout`` from connect to the body's last byte (a trickling body is cut off, not waited
    for) and by the run's deadline; only 429 and 503 with ``Retry-After`` are retried, at most twice."""

    def __init__(self, settings: Settings, pool: Any, timeout: float, deadline: float | None = None) -> None:
        self.settings = settings
        self._pool = pool
        # Impersonate-*: on every request (lists, probes, /metrics, /version)
        self._extra_headers = tuple(settings.impersonation.headers())
        self.via = settings.proxy  # the proxy every request goes through, if any
        self._url: str = settings.server.rstrip("/")  # as configured: may hold userinfo
        self.server: str = public_url(self._url)  # what is shown and saved
        self.timeout = timeout
        self.deadline = deadline  # time.monotonic() by which the whole run must end; None: no limit
        self.peer_certificate: bytes | None = None  # DER of the server's leaf certificate, once seen

    def _headers(self, accept: str, encoding: str = "identity") -> urllib3.HTTPHeaderDict:
        headers = urllib3.HTTPHeaderDict({"Accept": accept, "Accept-Encoding": encoding, "User-Agent": "kplanediag"})
        authorization = self.settings.auth.header()
        if authorization:
            headers["Authorization"] = authorization
        for name, value in self._extra_headers:
            headers.add(name, value)  # a repeated name (Impersonate-Group) stays a repeated header
        return headers

    def _sent(self) -> tuple[str, ...]:
        """Every header value a request carries but Accept and User-Agent, and the URL's userinfo."""
        values = [v for k, v in self._headers(JSON).items() if k not in ("Accept", "Accept-Encoding", "User-Agent")]
        if self._url != self.server:
            values.append(self._url.split("://", 1)[-1].rsplit("@", 1)[0])
        return tuple(values)

    def _scrub(self, exc: BaseException) -> str:
        return scrub(str(exc), self._sent())

    def remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def get(self, path: str, fields: dict[str, str] | None = None, accept: str = JSON, gzip: bool = False) -> Response:
        """One GET (retried only for 429/503 with a short Retry-After); raises UnreachableError when no
        complete answer arrives in time. ``gzip``: it may come gzipped, inflated within the input limit."""
        for attempt in range(RETRIES + 1):
            response = self._once(path, fields, accept, gzip)
            wait = response.retry_after
            if response.status not in (429, 503) or wait is None or attempt == RETRIES:
                return response
            if wait > MAX_RETRY_AFTER or wait + self.timeout > self.remaining():
                return response
            time.sleep(wait)
        return response

    def _once(self, path: str, fields: dict[str, str] | None, accept: str, gzip: bool = False) -> Response:
        limit = min(self.timeout, self.remaining())
        if limit <= 0:
            raise DeadlineExceeded(f"{self.server}{path}: not requested, the run's deadline has passed")
        start = time.monotonic()
        end = start + limit
        answered = False  # the status line and headers came back
        try:
            raw = self._pool.request(
                "GET",
                self._url + path,
                fields=fields,
                headers=self._headers(accept, "gzip" if gzip else "identity"),
                timeout=urllib3.Timeout(connect=limit, read=limit),
                retries=False,
                preload_content=False,
            )
            answered = True
            received = datetime.now(UTC)
            if self.peer_certificate is None:
                self.peer_certificate = _peer_certificate(raw)
            try:
                body = self._read(raw, end, path, limit, gzip)
            finally:
                raw.release_conn()
        except urllib3.exceptions.SSLError as exc:
            raise classify_ssl(self.server, exc, self.settings.tls.server_name) from exc
        except urllib3.exceptions.LocationParseError as exc:
            raise ConfigurationError(f"the kubeconfig's server {self.server!r} is not a valid URL: {exc}") from exc
        except urllib3.exceptions.TimeoutError as exc:
            if limit < self.timeout:  # cut short by the run's deadline, not the request timeout
                raise DeadlineExceeded(f"{self.server}{path}: no complete answer before the run's deadline") from exc
            kind = UnreachableError if answered else Stalled  # not a byte back: the server stalls
            raise kind(f"{self.server}: {type(exc).__name__}: {self._scrub(exc)}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise UnreachableError(f"{self.server}: {type(exc).__name__}: {self._scrub(exc)}") from exc
        date = str(raw.headers.get("Date") or "")
        server_time = server_date(date)
        content_type = str(raw.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        retry_after = raw.headers.get("Retry-After")
        response = Response(
            raw.status,
            body,
            server_time,
            time.monotonic() - start,
            content_type,
            float(retry_after) if retry_after and retry_after.isdigit() else None,
            self._sent(),
            received,
            date if date and server_time is None else "",
        )
        if raw.status == 401:
            raise AuthenticationError(f"{self.server}: the API server rejected the credentials (401 Unauthorized)")
        if raw.status == 400 and self.server.startswith("http://") and _PLAIN_TO_TLS in body:
            raise TLSError(f"{self.server} speaks HTTPS: the kubeconfig's server URL must start with https://")
        return response

    def stream(self, path: str, fields: dict[str, str], accept: str, read_timeout: float) -> Any:
        """A streaming GET (a watch): the urllib3 response with its body unread, each read of which
        waits at most ``read_timeout``; the caller reads it and releases it."""
        try:
            return self._pool.request(
                "GET",
                self._url + path,
                fields=fields,
                headers=self._headers(accept),
                timeout=urllib3.Timeout(connect=self.timeout, read=read_timeout),
                retries=False,
                preload_content=False,
            )
        except urllib3.exceptions.SSLError as exc:
            raise classify_ssl(self.server, exc, self.settings.tls.server_name) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise UnreachableError(f"{self.server}: {type(exc).__name__}: {self._scrub(exc)}") from exc

    def _read(self, raw: Any, end: float, path: str, limit: float, gzip: bool = False) -> bytes:
        """The whole body by ``end``: read in chunks, the deadline checked between reads, never more
        than the input limit (limits.py) once decompressed, never in an encoding that was not asked for."""
        most = max_input()
        encoding = str(raw.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding != "identity" and not (gzip and encoding == "gzip"):
            raw.close()
            raise TooLarge(
                f"{self.server}{path}: the answer is {encoding}-encoded, which was not asked for "
                f"(Accept-Encoding: {'gzip' if gzip else 'identity'}): not decoded"
            )
        unzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        declared = str(raw.headers.get("Content-Length") or "")
        if declared.isdigit() and int(declared) > most:
            raw.close()
            raise TooLarge(too_large(f"{self.server}{path}: the answer ({int(declared):,} bytes)", most))
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > end:
                raw.close()
                if limit < self.timeout:  # cut short by the run's deadline, not the request timeout
                    raise DeadlineExceeded(f"{self.server}{path}: no complete answer before the run's deadline")
                raise UnreachableError(f"{self.server}{path}: the answer did not complete within {limit:g}s")
            data = raw.read1(CHUNK, decode_content=False)  # never urllib3's own unbounded decoding
            if not data and unzip is not None and not unzip.eof:
                raise TooLarge(f"{self.server}{path}: the gzip answer is damaged: it ends early")
            if not data:
                return b"".join(chunks)
            chunk = data if unzip is None else inflate(unzip, data, most - size, f"{self.server}{path}")
            size += len(chunk)
            if size > most:
                raw.close()
                raise TooLarge(too_large(f"{self.server}{path}: the answer", most))
            chunks.append(chunk)


def _peer_certificate(raw: Any) -> bytes | None:
    """The DER leaf certificate of the TLS connection a response came on (verified or not)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    getpeercert = getattr(sock, "getpeercert", None)
    if getpeercert is None:
        return None
    try:
        der = getpeercert(binary_form=True)
    except (OSError, ValueError):
        return None
    return der if isinstance(der, bytes) and der else None


def _in_cluster(kubeconfig_path: str | None, context: str | None) -> bool:
    """In a pod, with no kubeconfig named nor found: the pod's service account."""
    return (
        kubeconfig_path is None
        and context is None
        and "KUBERNETES_SERVICE_HOST" in os.environ
        and not os.environ.get("KUBECONFIG")
        and not os.path.exists(os.path.expanduser(kubeconfig_load.DEFAULT_LOCATION))
    )


def connect(
    kubeconfig_path: str | None,
    context: str | None,
    timeout: float,
    deadline: float | None = None,
    impersonate: Impersonation | None = None,
) -> Transport:
    """A Transport for the kubeconfig (or $KUBECONFIG's files merged as kubectl merges them,
    ~/.kube/config, in-cluster) and context, impersonating as ``impersonate`` (--as, over the user's
    ``as`` fields), through the proxy kubectl would use (proxy.py)."""
    paths = kubeconfig_path or os.environ.get("KUBECONFIG") or kubeconfig_load.DEFAULT_LOCATION
    where = "kubeconfig " + paths + (f" (context {context!r})" if context else "")
    if _in_cluster(kubeconfig_path, context):
        where = "the in-cluster service account"
        settings = kubeconfig_load.in_cluster(os.environ)
    else:
        settings = kubeconfig_load.load(paths, context, where, deadline)
    identity = (impersonate or Impersonation()).over(settings.impersonation)
    identity.check(where)
    settings = dataclasses.replace(settings, impersonation=identity)
    if settings.tls.insecure:
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    try:
        pool = pool_manager(settings)
    except (OSError, ValueError) as exc:
        raise CredentialError(f"cannot use the credentials of {where}: {exc}") from exc
    return Transport(settings, pool, timeout, deadline)


def context_names(kubeconfig_path: str | None) -> list[str]:
    """Every context of the kubeconfig (or of $KUBECONFIG's files, merged as kubectl merges them:
    the first file that names a context wins), for ``--all-contexts``."""
    where = kubeconfig_path or os.environ.get("KUBECONFIG") or kubeconfig_load.DEFAULT_LOCATION
    names = kubeconfig_files.read(where).context_names()
    if not names:
        raise ConfigurationError(f"kubeconfig {where} has no context")
    return names
