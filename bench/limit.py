"""The limit: the lists one ``kplanediag check`` reads and nothing else, as a separate process so its
wall time and peak RSS are measured alone.

    python -m bench.limit --kubeconfig K [--wire protobuf|json] [--page-size 2000|0] [--no-parse]

The lists are kplanediag's own table (``kplanediag.collect.lists.LISTS``), read in pages (``limit``
and ``continue``) from the watch cache as kplanediag reads a v1.34+ server: the first page with
``resourceVersion=1&resourceVersionMatch=NotOlderThan`` (``--rv0``: ``resourceVersion=0``, which that
cache answers in one response whatever the limit), by as many threads as kplanediag uses, each next
page asked for as soon as the previous one's continue token is read from its first bytes. With
``--wire protobuf`` (``Accept: application/vnd.kubernetes.protobuf``) each page is decoded by
kplanediag's own protobuf decoder (``decode_list``) into the same typed objects, all kept until the
end, as kplanediag keeps them for its analysis (the API's own low-volume kinds, webhook
configurations and the like, are asked for and decoded as JSON, as kplanediag does); with
``--no-parse`` the bodies are only read (the continue token excepted). No /version, no health
probes, no analysis, no output.

The client is minimal on purpose: kubeconfig read with PyYAML, TLS with the standard library, one
keep-alive ``http.client`` connection per thread; the official client is not imported. Prints one
line of JSON: pages, items and bytes per list.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import queue
import re
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import yaml

from kplanediag.collect.lists import LISTS, ListCall, PageDecoder, protobuf_continue
from kplanediag.snapshot.decode import BadItems
from kplanediag.snapshot.kinds import Resource

PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON = "application/json"
WORKERS = 4  # as kplanediag.collect.pages.WORKERS (not imported: it loads the official client)
QUEUE_PAGES = 4  # as kplanediag: pages waiting to be decoded
_JSON_CONTINUE = re.compile(rb'"continue":"([^"]*)"')


class LimitError(RuntimeError):
    pass


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    context: ssl.SSLContext
    headers: dict[str, str]


def _file(entry: dict[str, Any], key: str, tmp: Path, base: Path) -> str | None:
    """A kubeconfig file reference (``key``) or its inline ``key-data``, as a path."""
    if entry.get(f"{key}-data"):
        path = tmp / key
        path.write_bytes(base64.b64decode(entry[f"{key}-data"]))
        return str(path)
    if entry.get(key):
        return str(base / entry[key])  # relative paths are relative to the kubeconfig
    return None


@contextmanager
def endpoint(kubeconfig: Path) -> Iterator[Endpoint]:
    """The current context's server, TLS context and auth header (client certificate or token)."""
    doc: dict[str, Any] = yaml.load(kubeconfig.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    ctx: dict[str, Any] = next(c["context"] for c in doc["contexts"] if c["name"] == doc["current-context"])
    cluster: dict[str, Any] = next(c["cluster"] for c in doc["clusters"] if c["name"] == ctx["cluster"])
    users: list[dict[str, Any]] = doc.get("users") or []
    user: dict[str, Any] = next((u["user"] or {} for u in users if u["name"] == ctx.get("user")), {})
    url = urlsplit(cluster["server"])
    if url.scheme != "https" or url.hostname is None:
        raise LimitError(f"only https servers are supported, not {cluster['server']}")
    base = kubeconfig.resolve().parent
    with tempfile.TemporaryDirectory(prefix="kpd-limit-") as tmpdir:
        tmp = Path(tmpdir)
        os.chmod(tmp, 0o700)
        ca = _file(cluster, "certificate-authority", tmp, base)
        context = ssl.create_default_context(cafile=ca)
        if cluster.get("insecure-skip-tls-verify"):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        cert, key = _file(user, "client-certificate", tmp, base), _file(user, "client-key", tmp, base)
        if cert:
            context.load_cert_chain(cert, key)
        headers = {"User-Agent": "kplanediag-bench-limit"}
        if user.get("token"):
            headers["Authorization"] = f"Bearer {user['token']}"
        yield Endpoint(url.hostname, url.port or 443, context, headers)


@dataclass
class Counts:
    path: str
    pages: int = 0
    items: int = 0
    bytes: int = 0
    seconds: float = 0.0


@dataclass
class Fetcher:
    endpoint: Endpoint
    accept: str
    page_size: int
    timeout: float
    rv0: bool = False
    local: threading.local = field(default_factory=threading.local)

    def get(self, path: str, fields: dict[str, str], accept: str | None = None) -> tuple[bytes, str]:
        conn: http.client.HTTPSConnection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(
                self.endpoint.host, self.endpoint.port, context=self.endpoint.context, timeout=self.timeout
            )
            self.local.conn = conn
        headers = {**self.endpoint.headers, "Accept": accept or self.accept}
        conn.request("GET", f"{path}?{urlencode(fields)}", headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise LimitError(f"GET {path}: HTTP {response.status}: {body[:200]!r}")
        return body, (response.getheader("Content-Type") or "").split(";")[0]

    def fields(self, token: str) -> dict[str, str]:
        limit = {"limit": str(self.page_size)} if self.page_size else {}
        if token:
            return {**limit, "continue": token}  # a token carries its own resourceVersion
        if self.rv0:
            return {**limit, "resourceVersion": "0"}
        return {**limit, "resourceVersion": "1", "resourceVersionMatch": "NotOlderThan"}

    def pages(self, call: ListCall, counts: Counts, out: queue.Queue[tuple[ListCall, bytes, str] | None]) -> None:
        token = ""
        while True:
            t0 = time.perf_counter()
            fields = {**self.fields(token), **dict(call.query)}
            if call.page_size:
                fields["limit"] = str(call.page_size)
            body, content_type = self.get(call.path, fields, JSON if call.json_only else None)
            counts.seconds += time.perf_counter() - t0
            counts.pages += 1
            counts.bytes += len(body)
            if content_type == PROTOBUF:
                token = protobuf_continue(body)
            else:  # the JSON encoder writes metadata (with continue) before items: read the head only
                match = _JSON_CONTINUE.search(body, 0, 4096)
                token = match.group(1).decode() if match else ""
            out.put((call, body, content_type))
            if not token or (call.max_pages is not None and counts.pages >= call.max_pages):
                return


def upb_parse(kind: str, body: bytes) -> list[Any]:
    """A page parsed with the protobuf package alone (upb): the envelope, the list, then each item
    into kplanediag's declared message of its kind; no conversion into kplanediag's objects."""
    from kplanediag.collect.protobuf import k8s_pb2 as pb  # noqa: PLC0415

    raw = pb.Unknown.FromString(body[4:]).raw
    item_type = getattr(pb, kind)
    return [item_type.FromString(item) for item in getattr(pb, f"{kind}List").FromString(raw).items]


def run(
    kubeconfig: Path,
    wire: str,
    page_size: int,
    parse: bool,
    workers: int,
    timeout: float,
    rv0: bool = False,
    upb_only: bool = False,
) -> dict[str, Any]:
    from kplanediag.collect.protobuf import decode_list  # noqa: PLC0415 - only when parsing protobuf

    accept = PROTOBUF if wire == "protobuf" else JSON
    counts = {call.path: Counts(call.path) for call in LISTS}
    kept: list[object] = []  # every decoded object stays alive, as in kplanediag until its analysis
    bad = {call.resource: BadItems(call.resource) for call in LISTS}
    json_pages = PageDecoder()
    t0 = time.perf_counter()
    with endpoint(kubeconfig) as ep:
        fetcher = Fetcher(ep, accept, page_size, timeout, rv0)
        pages: queue.Queue[tuple[ListCall, bytes, str] | None] = queue.Queue(maxsize=QUEUE_PAGES)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(fetcher.pages, call, counts[call.path], pages) for call in LISTS]
            done = 0

            def finished(_: object) -> None:
                pages.put(None)

            for future in futures:
                future.add_done_callback(finished)
            while done < len(futures):
                page = pages.get()
                if page is None:
                    done += 1
                    continue
                call, body, content_type = page
                if not parse:
                    continue
                if call.json_only:  # the API's own kinds, JSON as kplanediag reads them (lists.py)
                    if not upb_only:
                        objects: list[Resource] = []
                        json_pages.decode(call.kind, body, content_type, objects, bad[call.resource])
                        counts[call.path].items += len(objects)
                        kept.extend(objects)
                    continue
                if content_type != PROTOBUF:
                    raise LimitError(f"{call.path}: parsing is measured for protobuf only, got {content_type}")
                if upb_only:
                    items = upb_parse(call.kind.__name__, body)
                else:
                    items, _ = decode_list(call.kind, body, bad[call.resource])
                counts[call.path].items += len(items)
                kept.extend(items)
            for future in futures:
                future.result()  # re-raise a fetch error
    seconds = time.perf_counter() - t0
    return {
        "wire": wire,
        "pageSize": page_size,
        "parsed": ("protobuf package only" if upb_only else "into kplanediag's objects") if parse else False,
        "firstPage": "resourceVersion=0" if rv0 else "resourceVersion=1&resourceVersionMatch=NotOlderThan",
        "seconds": round(seconds, 4),
        "requests": sum(c.pages for c in counts.values()),
        "bytes": sum(c.bytes for c in counts.values()),
        "items": len(kept) if parse else None,
        "badItems": sum(b.count for b in bad.values()),
        "lists": [
            {"path": c.path, "pages": c.pages, "items": c.items if parse else None, "bytes": c.bytes}
            for c in counts.values()
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.limit", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--wire", choices=("protobuf", "json"), default="protobuf")
    parser.add_argument("--page-size", type=int, default=2000, help="items per page; 0: one page per list")
    parser.add_argument("--no-parse", dest="parse", action="store_false", help="read the bytes only")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"fetching threads (kplanediag: {WORKERS})")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument(
        "--rv0",
        action="store_true",
        help="first page with resourceVersion=0 (a v1.34+ watch cache then ignores limit: one response per list)",
    )
    parser.add_argument(
        "--upb-only",
        action="store_true",
        help="parse with the protobuf package alone (the strict limit), not into kplanediag's objects",
    )
    args = parser.parse_args(argv)
    try:
        result = run(
            args.kubeconfig, args.wire, args.page_size, args.parse, args.workers, args.timeout, args.rv0, args.upb_only
        )
    except (LimitError, OSError, ssl.SSLError, http.client.HTTPException) as exc:
        print(f"bench.limit: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
