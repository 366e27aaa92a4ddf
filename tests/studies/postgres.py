"""A throw-away PostgreSQL server on loopback for the shared-study tests.

Uses ``ADASPEC_TEST_POSTGRES_URL`` when set; otherwise starts a private cluster with the server binaries of
Debian's ``postgresql`` package (as the ``postgres`` user when the tests run as root, since the server
refuses to run as root). The fixture skips, with the reason, only when no server can be started.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "adaspec"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user() -> tuple[list[str], int | None]:
    """Command prefix and uid that run the server binaries (they refuse to run as root)."""
    if os.geteuid() != 0:
        return [], None
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run a PostgreSQL server")
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and runuser is missing, so the PostgreSQL server cannot be started")
    return [runuser, "-u", "postgres", "--"], uid


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of an empty PostgreSQL database reachable on 127.0.0.1."""
    if os.environ.get("ADASPEC_TEST_POSTGRES_URL"):
        yield os.environ["ADASPEC_TEST_POSTGRES_URL"]
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
    prefix, uid = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="adaspec-pg-"))
    root.chmod(0o755)
    if uid is not None:
        os.chown(root, uid, -1)
    data, log = root / "data", root / "server.log"
    port = _free_port()

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)

    init = run(initdb, "-D", str(data), "-U", USER, "-A", "trust", "--no-sync")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = run(pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
    if init.returncode != 0 or start.returncode != 0:
        reason = (init.stderr or start.stderr or (log.read_text() if log.exists() else "")).strip()
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL server: {reason.splitlines()[-1] if reason else '?'}")
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
