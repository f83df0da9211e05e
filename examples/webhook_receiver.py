"""A webhook target for the demo: prints every alert ModelWatch sends it.

    python examples/webhook_receiver.py              # listens on 127.0.0.1:9009
    python examples/webhook_receiver.py --port 9010  # or MODELWATCH_DEMO_WEBHOOK_PORT=9010

`manage.py seed_demo` points its "Demo webhook" channel at
http://127.0.0.1:$MODELWATCH_DEMO_WEBHOOK_PORT/modelwatch (default 9009; or set
MODELWATCH_DEMO_WEBHOOK_URL before seeding). The embedded `make run` allows webhooks to
loopback (MODELWATCH_ALLOW_PRIVATE_WEBHOOKS=1). The receiver never reads `PORT`: that is
the web server's.
"""

from __future__ import annotations

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def describe(body: dict) -> str:
    alert = body.get("alert", {})
    return (
        f"[{body.get('event', '?'):8}] {alert.get('severity', '?'):8} "
        f"{alert.get('model')}: {alert.get('rule')} — {alert.get('message', '')}"
    )


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            print(describe(json.loads(raw)), flush=True)
        except (ValueError, AttributeError):
            print("not JSON:", raw[:200], flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def parse_port(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the webhooks ModelWatch sends.")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("MODELWATCH_DEMO_WEBHOOK_PORT") or 9009),
        help="port on 127.0.0.1 (default: $MODELWATCH_DEMO_WEBHOOK_PORT or 9009)",
    )
    return parser.parse_args(argv).port


def main(port: int | None = None) -> None:
    port = port or parse_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    print(f"waiting for ModelWatch webhooks on http://127.0.0.1:{port}/modelwatch", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
