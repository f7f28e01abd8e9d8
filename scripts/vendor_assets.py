#!/usr/bin/env python3
"""The third-party browser files shipped in statsgraph/web/static/vendor/, and their lock.

    python3 scripts/vendor_assets.py --check    # CI: re-download the locked packages, compare
    python3 scripts/vendor_assets.py --update   # after editing PACKAGES: copy the files, rewrite the lock

Each package is fetched with `npm pack NAME@VERSION` from the npm registry (nothing else is
contacted), its tarball's integrity is checked against the registry's, and the listed files
are copied out of it unmodified, licence included. The lock (vendor.lock.json next to the
files) records package, version, tarball integrity and each file's sha256; --check fails when a
shipped file differs by one byte from the package's, when the lock is stale, or when the vendor
folder holds a file the lock does not list.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "statsgraph" / "web" / "static" / "vendor"
LOCK = VENDOR / "vendor.lock.json"

# name → (pinned version, files inside the package). GraphiQL 3 is the last major with a
# browser bundle that runs without a module loader; React 18 the last with UMD builds.
PACKAGES: dict[str, tuple[str, list[str]]] = {
    "react": ("18.3.1", ["LICENSE", "umd/react.production.min.js"]),
    "react-dom": ("18.3.1", ["LICENSE", "umd/react-dom.production.min.js"]),
    "graphiql": ("3.8.3", ["LICENSE", "graphiql.min.js", "graphiql.min.css"]),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npm_pack(name: str, version: str, dest: Path) -> tuple[Path, str]:
    """Download NAME@VERSION's tarball into dest; return its path and the registry's integrity."""
    done = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(dest)],
        capture_output=True, text=True, cwd=dest,
    )
    if done.returncode != 0:
        raise SystemExit(f"npm pack {name}@{version} failed:\n{done.stderr.strip()}")
    info = json.loads(done.stdout)[0]
    if info["version"] != version:
        raise SystemExit(f"npm pack {name}@{version} gave version {info['version']}")
    return dest / info["filename"], info["integrity"]


def package_files(tarball: Path, wanted: list[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            # npm tarballs put everything under one top folder, usually `package/`.
            inner = member.name.split("/", 1)[1] if "/" in member.name else member.name
            if inner in wanted and member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                out[inner] = handle.read()
    missing = sorted(set(wanted) - set(out))
    if missing:
        raise SystemExit(f"{tarball.name} has no {', '.join(missing)}")
    return out


def fetch_all(tmp: Path) -> dict[str, dict]:
    """name → {version, integrity, files: {path: bytes}} straight from the registry."""
    fetched = {}
    for name, (version, wanted) in PACKAGES.items():
        tarball, integrity = npm_pack(name, version, tmp)
        fetched[name] = {"version": version, "integrity": integrity, "files": package_files(tarball, wanted)}
    return fetched


def lock_of(fetched: dict[str, dict]) -> dict:
    return {
        "comment": "Written by scripts/vendor_assets.py --update; checked by --check. Files are unmodified.",
        "packages": [
            {
                "package": name,
                "version": item["version"],
                "tarball": f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-{item['version']}.tgz",
                "integrity": item["integrity"],
                "files": [
                    {"file": f"{name}/{path}", "sha256": sha256(data)} for path, data in sorted(item["files"].items())
                ],
            }
            for name, item in fetched.items()
        ],
    }


def update() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fetched = fetch_all(Path(tmp))
    for name, item in fetched.items():
        for path, data in item["files"].items():
            target = VENDOR / name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    LOCK.write_text(json.dumps(lock_of(fetched), indent=2) + "\n")
    print(f"wrote {sum(len(i['files']) for i in fetched.values())} files and {LOCK.relative_to(ROOT)}")
    return 0


def check() -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        fetched = fetch_all(Path(tmp))
    expected = lock_of(fetched)
    if json.loads(LOCK.read_text()) != expected:
        problems.append(f"{LOCK.relative_to(ROOT)} does not match the pinned packages (run --update)")
    shipped = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - {LOCK.name}
    listed = set()
    for name, item in fetched.items():
        for path, data in item["files"].items():
            rel = f"{name}/{path}"
            listed.add(rel)
            target = VENDOR / rel
            if not target.exists():
                problems.append(f"{rel}: missing")
            elif target.read_bytes() != data:
                problems.append(f"{rel}: differs from {name}@{item['version']} on the npm registry")
            else:
                print(f"ok  {rel}  {name}@{item['version']}  sha256 {sha256(data)[:16]}…")
    for extra in sorted(shipped - listed):
        problems.append(f"{extra}: not in the lock")
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="verify the shipped files (the default)")
    mode.add_argument("--update", action="store_true", help="copy the pinned files and rewrite the lock")
    args = p.parse_args()
    return update() if args.update else check()


if __name__ == "__main__":
    raise SystemExit(main())
