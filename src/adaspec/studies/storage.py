"""Where a search study lives: an Optuna RDB storage (SQLite file or a PostgreSQL server) and the lock
that lets many workers share its trial budget exactly.

SQLite needs nothing running and suits the workers of one machine; a PostgreSQL URL
(``postgresql://user:password@host:5432/db``, driver ``psycopg`` 3) lets workers on any number of machines
share one study. Every worker sends a heartbeat while it trains; a trial whose worker stopped beating (a
killed process, a lost machine) is marked failed by the next worker that looks for work. An SQLite file's
missing parent folders are created.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url

from ..errors import UserError

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_SECONDS = 60
SQLITE_BUSY_TIMEOUT_SECONDS = 120


def display_url(url: str) -> str:
    """``url`` with its password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL, ``None`` for other URLs and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def storage_identity(url: str) -> str:
    """``url`` as a study record keeps and compares it: password masked, an SQLite file's path absolute
    (so that workers started in other folders name the same file alike)."""
    path = sqlite_path(url)
    if path is not None:
        url = make_url(url).set(database=str(path.absolute())).render_as_string(hide_password=False)
    return display_url(url)


@contextlib.contextmanager
def storage_errors(url: str) -> Iterator[None]:
    """Turn the ways a storage URL can fail into one-line :class:`UserError` s naming the masked URL."""
    shown = display_url(url)
    try:
        yield
    except sqlalchemy.exc.NoSuchModuleError:
        kind = url.partition(":")[0]
        raise UserError(
            f"--storage {shown}: unknown database kind {kind!r} (use sqlite:///FILE or postgresql://...)"
        ) from None
    except sqlalchemy.exc.ArgumentError:
        raise UserError(f"--storage {shown!r} is not a database URL (e.g. sqlite:///study.db)") from None
    except ImportError as err:
        raise UserError(
            f"--storage {shown}: database driver missing ({err}); "
            "for PostgreSQL: pip install 'psycopg[binary]'"
        ) from None
    except sqlalchemy.exc.SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise UserError(f"--storage {shown}: cannot open the study storage: {reason}") from None


def check_persistent(url: str) -> None:
    """Refuse a storage that keeps the study in this process's memory (``sqlite://``, ``sqlite:///:memory:``):
    it would be lost when the worker ends, no other worker could share it and the next call could not
    continue it.

    Raises:
        UserError: one line naming the URL (and a malformed URL, as :func:`storage_errors` says).
    """
    with storage_errors(url):
        in_memory = make_url(url).get_backend_name() == "sqlite" and sqlite_path(url) is None
    if in_memory:
        raise UserError(
            f"--storage {display_url(url)}: an in-memory database would lose the study when this worker "
            "ends; give a file (sqlite:///PATH/optuna.db) or leave --storage out"
        )


def _engine_kwargs(url: str) -> dict[str, Any]:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        # Wait for other workers' writes instead of failing with "database is locked".
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}
    if backend == "postgresql":
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    return {}


def open_storage(url: str, heartbeat_seconds: int = DEFAULT_HEARTBEAT_SECONDS) -> optuna.storages.RDBStorage:
    """Connect to (and if needed create the tables of) the study storage at ``url``.

    Call it while holding the :class:`StudyLock`, so that workers starting together on a new database do
    not race to create its tables.

    Args:
        url: an SQLAlchemy URL: ``sqlite:///path/to/file.db`` or ``postgresql://...``.
        heartbeat_seconds: how often a running trial reports that its worker is alive; a trial silent for
            twice as long is failed.

    Raises:
        UserError: one line naming the (password-masked) URL when it is malformed, its driver is not
            installed, or the server cannot be reached.
    """
    with storage_errors(url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.RDBStorage(
            url, engine_kwargs=_engine_kwargs(url), heartbeat_interval=heartbeat_seconds
        )


class StudyLock:
    """A lock shared by every worker of one study. Workers hold it while they open the storage (creating
    its tables) and while they decide whether the trial budget allows one more trial and create it, so
    ``--trials N`` gives exactly N trials however many workers run. SQLite: an ``flock`` on a file next to
    the database. PostgreSQL: a session advisory lock. Other databases: no lock (concurrent workers may
    then overshoot the budget by a few trials).

    :meth:`release` may be called more than once.

    Raises:
        UserError: (from :meth:`acquire`) the database cannot be reached.
    """

    def __init__(self, url: str, study_name: str) -> None:
        self._url = url
        with storage_errors(url):
            self._backend = make_url(url).get_backend_name()
            self._file_path = sqlite_path(url)
        self._engine: sqlalchemy.Engine | None = None
        self._key = int.from_bytes(hashlib.sha256(study_name.encode()).digest()[:8], "big", signed=True)
        self._handle: Any = None
        self._connection: Any = None

    def acquire(self) -> None:
        """Block until this worker holds the lock."""
        if self._file_path is not None:
            self._file_path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self._file_path.with_name(self._file_path.name + ".lock"), "a")  # noqa: SIM115
            fcntl.flock(self._handle, fcntl.LOCK_EX)
        elif self._backend == "postgresql":
            with storage_errors(self._url):
                if self._engine is None:
                    self._engine = sqlalchemy.create_engine(self._url, **_engine_kwargs(self._url))
                self._connection = self._engine.connect()
                self._connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": self._key})

    def release(self) -> None:
        """Let the next worker in (no-op when not held)."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
        if self._connection is not None:
            self._connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            self._connection.close()
            self._connection = None

    @contextlib.contextmanager
    def held(self) -> Iterator[StudyLock]:
        """``with lock.held():`` acquire, and release at the end unless released inside."""
        self.acquire()
        try:
            yield self
        finally:
            self.release()
