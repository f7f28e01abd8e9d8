"""Slow clients hold nothing: a body that stalls mid-upload is answered 408 within the read
deadline, and SIGTERM stops the server within its bound even while such a client hangs on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import SECRET, create_tables, sqlite_url
from tests.servers import free_port


@pytest.fixture
async def server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = sqlite_url(tmp_path_factory, "hardening-slow")
    await create_tables(url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "JWT_SECRET_KEY": SECRET, "BODY_READ_TIMEOUT_SECONDS": "1.5",
           "SHUTDOWN_TIMEOUT_SECONDS": "2", "KEEP_ALIVE_TIMEOUT_SECONDS": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "statsgraph.server.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("server did not start")
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _stalled_upload(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        b'{"query": "{ viewer'
    )
    return sock


def test_a_stalled_upload_gets_408_within_the_deadline(server) -> None:  # noqa: ANN001
    _proc, port = server
    sock = _stalled_upload(port)
    started = time.monotonic()
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    elapsed = time.monotonic() - started
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"BAD_REQUEST" in answer
    assert elapsed < 5, elapsed


def test_sigterm_stops_the_server_while_a_client_stalls(server) -> None:  # noqa: ANN001
    proc, port = server
    socks = [_stalled_upload(port) for _ in range(3)]
    time.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    elapsed = time.monotonic() - started
    for s in socks:
        s.close()
    assert elapsed < 8, elapsed
