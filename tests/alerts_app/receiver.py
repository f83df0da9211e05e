"""A local HTTP receiver for webhook tests: records every POST, answers as scripted."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """`with Receiver(fail_first=2) as r:` then post to `r.url`; read `r.bodies`."""

    def __init__(self, fail_first: int = 0, fail_status: int = 500, status: int = 200):
        self.fail_first, self.fail_status, self.status = fail_first, fail_status, status
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def bodies(self) -> list[dict]:
        with self.lock:
            return [r["body"] for r in self.requests if r["answered"] < 300]

    @property
    def attempts(self) -> int:
        with self.lock:
            return len(self.requests)

    def events(self) -> list[str]:
        return [body.get("event") for body in self.bodies]

    def wait_for(self, predicate, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return predicate(self)

    def _record(self, path: str, raw: bytes, headers: dict) -> int:
        """Store the request and choose its answer under one lock (concurrent posts)."""
        with self.lock:
            failed = sum(1 for r in self.requests if r["answered"] >= 300)
            code = self.fail_status if failed < self.fail_first else self.status
            self.requests.append(
                {
                    "path": path,
                    "body": json.loads(raw or b"null"),
                    "raw": raw,
                    "headers": headers,
                    "answered": code,
                }
            )
            return code

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                code = receiver._record(self.path, raw, dict(self.headers))
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if code < 300 else b'{"error": "nope"}')

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
