"""Where a search study lives: an Optuna RDB storage (SQLite file or a PostgreSQL server) and the lock
that lets many workers share its trial budget exactly.

SQLite needs nothing running and suits the workers of one machine; a PostgreSQL URL
(``postgresql://user:password@host:5432/db``, driver ``psycopg`` 3) lets workers on any number of machines
share one study. Every worker sends a heartbeat while it trains; a trial whose worker stopped beating (a
killed process, a lost machine) is marked failed by the next worker that looks for work. An SQLite file's
missing parent folders are created.

A search folder records which study its trial folders belong to (:data:`STUDY_RECORD_FILE`): a search of
a study of that name in another storage is refused instead of replacing the recorded study's trials.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url

from .._atomic import write_text_atomic
from ..errors import UserError

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_SECONDS = 60
SQLITE_BUSY_TIMEOUT_SECONDS = 120
#: The default storage's file in a search folder.
DEFAULT_DATABASE = "optuna.db"
#: The file of a search folder that names the study (storage and creation identity) its trials belong to.
STUDY_RECORD_FILE = "study.json"
#: The study user attribute with its creation identity: a random id set when adaspec first opens it.
STUDY_UID_ATTR = "adaspec_study_uid"


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


@dataclass(frozen=True)
class StudyRecord:
    """The study whose trial folders a search folder holds, as :data:`STUDY_RECORD_FILE` records it.

    Attributes:
        study: the study's name.
        storage: the storage's :func:`storage_identity`.
        default: the storage is the folder's own ``optuna.db`` (workers may name the folder by other paths).
        study_id: Optuna's id of the study in that storage (for people reading the file).
        uid: the study's :data:`STUDY_UID_ATTR`, which tells a study re-created under its name from it.
    """

    study: str
    storage: str
    default: bool
    study_id: int
    uid: str

    def where(self, folder: Path) -> str:
        """The recorded storage, for messages."""
        return f"its own {folder / DEFAULT_DATABASE}" if self.default else self.storage


def is_default_storage(url: str, folder: Path) -> bool:
    """Whether ``url`` is the SQLite file ``folder/optuna.db``, the default storage of that search folder."""
    path = sqlite_path(url)
    return path is not None and path.resolve() == (folder / DEFAULT_DATABASE).resolve()


def read_study_record(folder: Path) -> StudyRecord | None:
    """The search folder's study record, ``None`` without one (a new folder, or one of an older adaspec).

    Raises:
        UserError: the file cannot be read as a record.
    """
    path = folder / STUDY_RECORD_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return StudyRecord(**{f.name: data[f.name] for f in dataclasses.fields(StudyRecord)})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(
            f"{path} is not a readable study record ({type(err).__name__}: {err}); "
            "restore it, or remove it if the study of this folder's trials is gone"
        ) from None


def write_study_record(folder: Path, record: StudyRecord) -> Path:
    """Write ``folder/study.json`` atomically (the folder must exist)."""
    text = json.dumps(dataclasses.asdict(record), indent=2) + "\n"
    return write_text_atomic(folder / STUDY_RECORD_FILE, text)


def study_uid(storage: optuna.storages.BaseStorage, study_name: str) -> str | None:
    """The :data:`STUDY_UID_ATTR` of the study ``study_name`` in ``storage``; ``None`` when the storage
    holds no such study, or one that adaspec has not opened since it began recording studies."""
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        return None
    uid = storage.get_study_user_attrs(study_id).get(STUDY_UID_ATTR)
    return uid if isinstance(uid, str) else None


def record_study(
    storage: optuna.storages.BaseStorage,
    study: optuna.Study,
    url: str,
    folder: Path,
    record: StudyRecord | None,
) -> StudyRecord:
    """Give ``study`` its creation identity if it has none, and record it in ``folder`` unless ``record``
    (the folder's record, read under the study's lock) already does. Call it holding the lock, after
    :func:`check_study_folder`.

    Returns:
        The folder's record now.
    """
    uid = study.user_attrs.get(STUDY_UID_ATTR)
    if not isinstance(uid, str):
        uid = uuid.uuid4().hex
        study.set_user_attr(STUDY_UID_ATTR, uid)
    if record is not None and record.uid == uid:
        return record
    study_id = storage.get_study_id_from_name(study.study_name)
    record = StudyRecord(
        study.study_name, storage_identity(url), is_default_storage(url, folder), study_id, uid
    )
    folder.mkdir(parents=True, exist_ok=True)
    write_study_record(folder, record)
    return record


def _sqlite_holds_study(path: Path, study_name: str) -> bool:
    """Whether the Optuna SQLite file ``path`` holds a study ``study_name`` (read-only; ``False`` for a
    file that is not such a database)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT 1 FROM studies WHERE study_name = ?", (study_name,)).fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def check_study_folder(
    url: str,
    study_name: str,
    folder: Path,
    record: StudyRecord | None,
    storage: optuna.storages.BaseStorage | None = None,
) -> None:
    """Refuse a search whose folder holds the trials of a study that lives in another storage: its trial
    folders, ``best_config.yaml``, ``trials.csv`` and ``search.md`` would be replaced while that study
    goes on. A folder whose recorded study was deleted from this same storage (and is re-created under its
    name) is accepted: its old trial folders are replaced. A folder without a record (a new one, or one of
    an older adaspec) is accepted, unless it holds its own ``optuna.db`` with a study of this name and the
    search uses another storage.

    Args:
        url: the search's storage URL.
        study_name: the study's name.
        folder: the search folder, ``<runs_dir>/search-<study>``.
        record: the folder's :func:`read_study_record`.
        storage: the opened storage (under the study's lock, before the study is created or loaded);
            ``None``: refuse only what shows without opening it (the other storage's SQLite file is
            missing, so the recorded study cannot be there).

    Raises:
        UserError: one line naming the folder, the storage its study lives in, and what to do.
    """
    default = is_default_storage(url, folder)
    if record is None:
        own = folder / DEFAULT_DATABASE
        if not default and own.is_file() and _sqlite_holds_study(own, study_name):
            raise UserError(_refusal(folder, study_name, f"its own {own}", url, "leave --storage out"))
        return
    if record.default or default:
        same = record.default and default
    else:
        same = record.storage == storage_identity(url)
    if same:  # the recorded study, or a study of its name created after it was deleted from this storage
        return
    if storage is None:
        path = sqlite_path(url)
        if path is None or path.is_file():
            return  # it may be the recorded study under another name of the storage: see when it is open
    elif study_uid(storage, study_name) == record.uid:
        return  # the recorded study, reached by another URL (another host name of its server, a link)
    todo = "leave --storage out" if record.default else f"pass --storage {record.storage}"
    raise UserError(_refusal(folder, record.study, record.where(folder), url, todo))


def _refusal(folder: Path, study_name: str, where: str, url: str, todo: str) -> str:
    return (
        f"{folder} holds the trials of study {study_name!r} in {where}, not in {display_url(url)}: {todo} "
        "to continue that study, or give another --study or --runs-dir"
    )
