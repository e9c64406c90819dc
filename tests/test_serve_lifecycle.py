"""Faults around a request's edges: a client that disconnects mid-body is one log line and a
counter, not a traceback; SIGTERM drains in-flight requests and exits 0."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.test_serve import running


def _disconnect_mid_body(app: Any) -> list[dict[str, Any]]:
    """Drive the app as a server would when the client goes away after part of its body."""
    body = b'{"request": "half a bo'
    incoming = [{"type": "http.request", "body": body, "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/score", "raw_path": b"/v1/score", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"400")],
             "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 8000), "app": app}

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_mid_body_disconnect_is_one_line_and_a_counter(tiny_bundle: Path, caplog: pytest.LogCaptureFixture) -> None:
    with running(tiny_bundle) as client:
        with caplog.at_level(logging.INFO, logger="serve"):
            sent = _disconnect_mid_body(client.app)
        assert sent[0]["status"] == 499
        records = [r for r in caplog.records if r.name == "serve"]
        assert len(records) == 1 and records[0].exc_info is None and records[0].levelno == logging.INFO
        assert "client disconnected mid-body on POST /v1/score" in records[0].getMessage()
        metrics = client.get("/metrics").text
        assert 'brightline_client_disconnects_total{route="/v1/score"} 1.0' in metrics
        assert client.post("/v1/score", json={"request": "still serving"}).status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(port: int, body: dict[str, Any]) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/score", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


@pytest.mark.slow
def test_sigterm_drains_in_flight_requests_and_exits_0(tiny_bundle: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "classifiers.cli", "serve", "--model", str(tiny_bundle), "--port",
                             str(port), "--log-level", "warning"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "service did not become ready"
                time.sleep(0.1)
        # Load: clients sending requests back to back while the signal lands.
        statuses: list[int | str] = []
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                try:
                    statuses.append(_post(port, {"items": [{"request": "what is the capital of France"}] * 8}))
                except OSError as exc:  # refused once the listener has closed: never sent, not lost
                    statuses.append(type(exc).__name__)
                    return

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        # One request certainly in flight: headers and half its body sent before SIGTERM, the rest after.
        body = json.dumps({"request": "are you a human?"}).encode()
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        slow.sendall(body[10:])
        reply = b""
        while chunk := slow.recv(65536):
            reply += chunk
        slow.close()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["results"][0]["id"] == 0
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
        answered = [s for s in statuses if isinstance(s, int)]
        assert answered and set(answered) == {200}, statuses  # every request that got in was answered
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
