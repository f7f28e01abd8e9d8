"""Throwaway PostgreSQL and Redis servers for tests, started from the machine's own binaries.

Both can be stopped and started again on the same port (and data) to simulate an outage.
"""

from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_USER = "postgres"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class ServerError(RuntimeError):
    pass


def available(kind: str) -> str | None:
    """None when the binaries for `kind` ("postgres" or "redis") exist, else why not."""
    if kind == "postgres":
        if _pg_bindir() is None:
            return ("PostgreSQL binaries (initdb, postgres, createdb) not found on PATH or under "
                    "/usr/lib/postgresql/*/bin; install Debian's postgresql or run .ci/run")
        return None
    if kind == "redis":
        if shutil.which("redis-server") is None:
            return "redis-server not found on PATH; install Debian's redis-server or run .ci/run"
        return None
    raise ValueError(f"unknown server kind {kind!r}")


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it when STATSGRAPH_REQUIRE_SERVERS=1 (CI must not skip)."""
    if os.environ.get("STATSGRAPH_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason} (STATSGRAPH_REQUIRE_SERVERS=1)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A free port, preferably below the ephemeral range: while a stopped server is down, no
    outgoing connection can then be given its port, so start() can bind it again."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    candidates = [random.randrange(10000, low) for _ in range(50)] if low > 11000 else []
    for port in [*candidates, 0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise ServerError("no free TCP port on 127.0.0.1")


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _wait_until(ready, proc: subprocess.Popen, name: str, log: Path) -> None:
    """Poll `ready()` until it holds; raise with the log tail if the process dies or time runs out."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready():
        if proc.poll() is not None:
            raise ServerError(f"{name} exited with code {proc.returncode}; log tail:\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            raise ServerError(f"{name} not ready after {READY_TIMEOUT:.0f}s; log tail:\n{_log_tail(log)}")
        time.sleep(0.05)


def _version_key(bindir: str) -> tuple[int, ...]:
    version = Path(bindir).parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _pg_bindir() -> Path | None:
    dirs = []
    initdb = shutil.which("initdb")
    if initdb:
        dirs.append(os.path.dirname(os.path.realpath(initdb)))
    dirs += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for d in dirs:
        if all(os.access(os.path.join(d, exe), os.X_OK) for exe in ("initdb", "postgres", "createdb")):
            return Path(d)
    return None


class PostgresServer:
    """A PostgreSQL cluster in a temp dir, listening on 127.0.0.1 only, durability off."""

    def __init__(self, dbname: str = "statsgraph") -> None:
        self.dbname = dbname
        self.port: int | None = None
        self.tmp: Path | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return self._url(self.dbname)

    def _url(self, dbname: str) -> str:
        if self.port is None:
            raise ServerError("PostgresServer was never started")
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{self.port}/{dbname}"

    def _as_server_user(self) -> list[str]:
        # PostgreSQL refuses to run as root.
        if os.geteuid() != 0:
            return []
        runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
        if runuser is None:
            raise ServerError("running as root, and runuser (util-linux) is needed to run PostgreSQL as "
                              f"{PG_USER!r}, but it was not found")
        return [runuser, "-u", PG_USER, "--"]

    def _init(self) -> None:
        bindir = _pg_bindir()
        if bindir is None:
            raise ServerError(available("postgres"))
        owner = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(PG_USER)
            except KeyError:
                raise ServerError(
                    f"running as root, and PostgreSQL needs the system user {PG_USER!r} to run as; "
                    "install Debian's postgresql package (it creates that user) or run .ci/run"
                ) from None
        self.bindir = bindir
        self.tmp = Path(tempfile.mkdtemp(prefix="statsgraph-pg-"))
        self.data = self.tmp / "data"
        self.sock = self.tmp / "sock"
        self.log = self.tmp / "server.log"
        self.sock.mkdir()
        if owner:
            for path in (self.tmp, self.sock):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        initdb = [str(bindir / "initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust",
                  "-E", "UTF8", "--locale=C"]
        help_text = subprocess.run([initdb[0], "--help"], capture_output=True, text=True).stdout
        if "--no-sync" in help_text:
            initdb.append("--no-sync")
        done = subprocess.run([*self._as_server_user(), *initdb], cwd=self.tmp, capture_output=True, text=True)
        if done.returncode != 0:
            raise ServerError(f"initdb failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        self.port = free_port()
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.sock}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )

    def start(self) -> PostgresServer:
        if self._proc is not None:
            return self
        first = self.tmp is None
        try:
            if first:
                self._init()
            # The log is opened here, so it is writable whoever the server runs as.
            with open(self.log, "ab") as log:
                self._proc = subprocess.Popen(
                    [*self._as_server_user(), str(self.bindir / "postgres"), "-D", str(self.data)],
                    cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                )
            _wait_until(self._accepts, self._proc, "postgres", self.log)
            if first:
                self.create_database(self.dbname)
        except BaseException:
            if first:
                self.close()
            else:
                self.stop()
            raise
        return self

    def _accepts(self) -> bool:
        """True once a startup message is answered with an authentication reply ('R'), not an
        error such as "the database system is starting up"."""
        body = struct.pack("!i", 196608) + f"user\0{PG_USER}\0database\0postgres\0\0".encode()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(struct.pack("!i", len(body) + 4) + body)
                if s.recv(1) != b"R":
                    return False
                s.sendall(b"X" + struct.pack("!i", 4))  # Terminate, so the server logs no reset
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Fast shutdown: disconnect clients, abort their transactions, and wait for the exit."""
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        if proc.poll() is not None:
            return
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = proc.pid
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(STOP_TIMEOUT)
                return
            except subprocess.TimeoutExpired:
                continue

    def create_database(self, name: str) -> str:
        """Create another empty database on this server and return its URL."""
        if self._proc is None:
            raise ServerError("PostgresServer is not running")
        done = subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, name],
            capture_output=True, text=True, env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
        if done.returncode != 0:
            raise ServerError(f"createdb {name} failed: {done.stderr.strip()}")
        return self._url(name)

    def close(self) -> None:
        """Stop the server and remove its data."""
        self.stop()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()


class RedisServer:
    """redis-server on 127.0.0.1 without persistence."""

    def __init__(self) -> None:
        self.port: int | None = None
        self.tmp: Path | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerError("RedisServer was never started")
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if self._proc is not None:
            return self
        exe = shutil.which("redis-server")
        if exe is None:
            raise ServerError(available("redis"))
        if self.tmp is None:
            self.tmp = Path(tempfile.mkdtemp(prefix="statsgraph-redis-"))
            self.port = free_port()
        log = self.tmp / "server.log"
        with open(log, "ab") as out:
            self._proc = subprocess.Popen(
                [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--dir", str(self.tmp), "--logfile", ""],
                cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        try:
            _wait_until(self._pongs, self._proc, "redis-server", log)
        except BaseException:
            self.stop()
            raise
        return self

    def _pongs(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(7).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """Stop the server and remove its temp dir."""
        self.stop()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self) -> RedisServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()
