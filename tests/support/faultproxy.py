"""An HTTP proxy in front of LocalStack that fails chosen S3 writes with 500s."""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

INTERNAL_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
                  b"<Message>injected by the test</Message></Error>")


@dataclass
class Faults:
    """Fail the first ``count`` writes (PUT/POST) whose path contains ``path_part``."""

    path_part: str
    count: int
    failed: int = 0
    forwarded: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def should_fail(self, method: str, path: str) -> bool:
        with self.lock:
            if method in ("PUT", "POST") and self.path_part in path and self.failed < self.count:
                self.failed += 1
                return True
            return False


@contextmanager
def fault_proxy(upstream: str, faults: Faults) -> Iterator[str]:
    target = urlsplit(upstream)

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if faults.should_fail(self.command, self.path):
                self.send_response(500)
                self.send_header("content-length", str(len(INTERNAL_ERROR)))
                self.end_headers()
                self.wfile.write(INTERNAL_ERROR)
                return
            faults.forwarded.append(f"{self.command} {self.path}")
            upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            # The Host header stays the proxy's: the request was signed for it.
            upstream_conn.request(self.command, self.path, body, dict(self.headers))
            response = upstream_conn.getresponse()
            payload = response.read()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            upstream_conn.close()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
