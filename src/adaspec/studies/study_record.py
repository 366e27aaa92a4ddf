"""Which study a search folder's trials belong to: ``study.json`` records the study's storage and creation
identity, so that a search of a study of that name in another storage is refused instead of replacing the
recorded study's trial folders and reports."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

import optuna

from .._atomic import write_text_atomic
from ..errors import UserError
from .storage import display_url, sqlite_path, storage_identity

#: The default storage's file in a search folder.
DEFAULT_DATABASE = "optuna.db"
#: The file of a search folder that names the study (storage and creation identity) its trials belong to.
STUDY_RECORD_FILE = "study.json"
#: The study user attribute with its creation identity: a random id set when adaspec first opens it.
STUDY_UID_ATTR = "adaspec_study_uid"


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
