"""A real admission webhook over HTTPS that admits everything after ``--delay`` seconds, run by
lab/webhook_calls.py inside its network namespace (``ip netns exec``); standard library only."""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Allow(BaseHTTPRequestHandler):
    """Admits everything, after ``delay`` seconds (never reached past a failed TLS check)."""

    delay = 0.0

    def do_POST(self) -> None:
        time.sleep(self.delay)
        review = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        uid = (review.get("request") or {}).get("uid", "")
        body = json.dumps({**review, "response": {"uid": uid, "allowed": True}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the API server hangs up on a late answer (mode timeout): expected, not worth a traceback


def _exit_when_stdin_closes() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


# ``python lab/webhook_server.py --mode wrong-name --cert serving.crt --key serving.key --address 198.18.41.2
# --port 8443 --delay 0`` prints ``serving ADDRESS PORT`` once it listens, and exits when its standard input
# closes (its parent is gone) or on SIGTERM.
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--mode", required=True, choices=("wrong-name", "timeout", "slow"))
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--address", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.0)
    args = p.parse_args(argv)
    handler = type("Handler", (Allow,), {"delay": args.delay})
    server = Server((args.address, args.port), handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    print(f"serving {args.address} {server.server_address[1]}", flush=True)
    print(f"webhook server ({args.mode}, delay {args.delay}s) on {args.address}:{server.server_address[1]}",
          file=sys.stderr, flush=True)  # fmt: skip
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
