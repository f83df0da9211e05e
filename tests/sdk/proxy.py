"""A fault-injecting HTTP proxy in front of the live server, for the SDK's retry tests.

Each request takes the next planned fault (then passes once the plan runs out):
- "refuse": answer 503 without forwarding (the server never saw it);
- "lose": forward, let the server store it, then answer 502 (the reply is lost);
- "cut": forward, then close the connection without any answer;
- "throttle": answer 429 with `Retry-After: 1`.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "host",
    "content-encoding",
}


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None
    fault: str


@dataclass
class FaultPlan:
    target: str
    faults: deque = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, method: str, path: str, key: str | None) -> str:
        with self.lock:
            fault = self.faults.popleft() if self.faults else "pass"
            self.seen.append(Seen(method, path, key, fault))
            return fault


def make_handler(plan: FaultPlan) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = plan.next_fault(self.command, self.path, self.headers.get("Idempotency-Key"))
            if fault == "refuse":
                return self._answer(503, b'{"detail":"unavailable"}')
            if fault == "throttle":
                return self._answer(429, b'{"detail":"slow down"}', {"Retry-After": "1"})
            upstream = forward(plan.target, self.command, self.path, self.headers, body)
            if fault == "lose":
                return self._answer(502, b'{"detail":"bad gateway"}')
            if fault == "cut":
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
            return self._answer(upstream.status_code, upstream.content, headers)

        def _answer(self, status: int, body: bytes, headers: dict | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header(
                "Content-Type", (headers or {}).get("Content-Type", "application/json")
            )
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _relay

    return Handler


def forward(target: str, method: str, path: str, headers, body: bytes) -> requests.Response:
    kept = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
    return requests.request(method, target + path, headers=kept, data=body, timeout=30)


class FaultyProxy:
    """Start with `FaultyProxy(live_server.url, ["lose", "refuse"])`; `.url`, `.seen`."""

    def __init__(self, target: str, faults: list[str]) -> None:
        self.plan = FaultPlan(target.rstrip("/"), deque(faults))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.plan))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def seen(self) -> list[Seen]:
        return list(self.plan.seen)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
