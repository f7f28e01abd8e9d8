"""Every module imports on its own, in a fresh interpreter, so no module works only because
another happened to be imported first (an import cycle would fail here)."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import statsgraph


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(statsgraph.__path__, "statsgraph."))


def test_every_module_imports_alone_in_a_fresh_interpreter(tmp_path) -> None:  # noqa: ANN001
    names = _modules()
    # `statsgraph.server.asgi` builds the app when imported (uvicorn workers import it by name).
    env = {
        **os.environ, "JWT_SECRET_KEY": "layers-test-secret-0123456789",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}",
    }
    assert "statsgraph.resolvers.dashboard" in names and len(names) > 40
    # One interpreter per module, run in parallel: a module must not rely on another's import.
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", f"import {name}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        for name in names
    }
    failed = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failed[name] = err.decode(errors="replace").strip().splitlines()[-1:]
    assert not failed, failed
