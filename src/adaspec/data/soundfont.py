"""The SoundFont instrument-family dataset: class folders of 16-bit clips plus ``manifest.csv`` (path,
label, program, pitch, velocity, soundfont, lineage, split, gain), and the parsing of the grid options.

Jobs are (font, program) pairs over a process pool; each clip depends only on its job (see
:mod:`adaspec.data.notes`) and the manifest rows are sorted by path, so the bytes are the same for any
worker count. The note-level API is re-exported here.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import multiprocessing
import os
import re
import signal
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from .._atomic import replaced_atomically, temporary_glob, write_text_atomic
from .._interrupts import CAN_HOLD, HELD_SIGNALS, signals_held
from .._locks import held_lock
from .._validation import check_positive_int
from ..errors import FileProblem, UserError, not_a_file_reason, shown_path
from .audio import AUDIO_EXTENSIONS
from .gm_families import DEFAULT_SPLITS, PROGRAM_FAMILY, lineage_of
from .notes import (
    AUDIO_FORMATS,
    Clip,
    JobResult,
    RenderSpec,
    SoundFontError,
    check_soundfont,
    is_silent,
    peak_dbfs,
    render_job,
)
from .sources import SPLITS
from .walk import is_file_or_broken_link

__all__ = [
    "AUDIO_FORMATS",
    "MANIFEST_COLUMNS",
    "RENDER_LOCK",
    "Clip",
    "JobResult",
    "RenderSpec",
    "RenderSummary",
    "SoundFontError",
    "check_soundfont",
    "clip_name",
    "is_silent",
    "parse_pitches",
    "parse_velocities",
    "peak_dbfs",
    "render_dataset",
    "render_job",
    "render_locked",
]

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS: tuple[str, ...] = (
    "path",
    "label",
    "program",
    "pitch",
    "velocity",
    "soundfont",
    "lineage",
    "split",
    "gain",
)

_OLD_PARTIAL = ".partial"  # suffix of a clip being written in earlier versions (before replaced_atomically)

#: The lock file a render holds in its output folder: hidden and at the top, where no scan looks for audio
#: (only class folders are scanned), and inside the folder, which the render writes anyway, so a read-only
#: parent folder does not matter and every path to the folder (a link, ``./out/``) names the same lock.
RENDER_LOCK = ".render.lock"

#: A clip's file name as :func:`clip_name` writes it (any format a render writes).
_CLIP_NAME = re.compile(
    r".+_p(?P<program>\d{3})_n(?P<pitch>\d{3})_v(?P<velocity>\d{3})\.(?:" + "|".join(AUDIO_FORMATS) + ")"
)
_EXAMPLES = 3  # foreign files named in a refusal


@dataclass(frozen=True)
class RenderSummary:
    """What :func:`render_dataset` wrote.

    Attributes:
        out_dir: the dataset folder.
        manifest: its ``manifest.csv``.
        clips_written: audio files written.
        silent_dropped: notes dropped as silent.
        attenuated: clips scaled down to ``max_peak_dbfs`` (``gain < 1`` in the manifest).
        missing_programs: font stem -> programs it lacks in bank 0 (fonts lacking none are absent).
        clips_per_split: split (``""`` for none) -> clips.
        fonts: number of fonts.
        programs: number of programs asked for per font.
        seconds: wall-clock time of the rendering.
    """

    out_dir: Path
    manifest: Path
    clips_written: int
    silent_dropped: int
    attenuated: int
    missing_programs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    clips_per_split: dict[str, int] = field(default_factory=dict)
    fonts: int = 0
    programs: int = 0
    seconds: float = 0.0

    def format(self) -> str:
        """One paragraph for the command line."""
        rate = self.clips_written / self.seconds if self.seconds > 0 else 0.0
        splits = ", ".join(f"{name or 'no split'} {count}" for name, count in self.clips_per_split.items())
        if self.missing_programs:
            missing = "; programs missing: " + ", ".join(
                f"{stem} {len(programs)} ({' '.join(map(str, programs))})"
                for stem, programs in self.missing_programs.items()
            )
        else:
            missing = "; no program missing"
        folder = shown_path(self.out_dir)
        return (
            f"Wrote {self.clips_written} clips from {self.fonts} SoundFonts x {self.programs} programs to "
            f"{folder} in {self.seconds:.1f} s ({rate:.0f} clips/s); manifest {self.manifest.name} "
            f"({splits}); {self.silent_dropped} silent notes dropped; {self.attenuated} clips attenuated "
            f"to avoid clipping{missing}."
        )


@dataclass(frozen=True)
class _Job:
    font: Path
    program: int
    family: str
    split: str
    lineage: str
    spec: RenderSpec
    out_dir: Path


@dataclass(frozen=True)
class _JobOutcome:
    stem: str
    program: int
    rows: tuple[tuple[str, ...], ...]
    silent: int
    missing: bool


def clip_name(font_stem: str, program: int, pitch: int, velocity: int, audio_format: str) -> str:
    """File name of one clip: ``<font stem>_p<program>_n<pitch>_v<velocity>.<format>`` (3 digits each)."""
    return f"{font_stem}_p{program:03d}_n{pitch:03d}_v{velocity:03d}.{audio_format}"


def _write_clip(path: Path, samples: np.ndarray, spec: RenderSpec) -> None:
    """Write one clip through :func:`~adaspec._atomic.replaced_atomically`: a temporary file of this
    process (``.<clip>.<pid>.tmp``, so two workers never write into each other's, and no scan takes it for
    audio) in the clip's folder, renamed into place once complete. An interrupted render
    never leaves a half-written file under a clip's name.

    Args:
        path: the clip's file (its folder exists); any file name the system allows, UTF-8 or not.
        samples: mono int16 samples.
        spec: the sample rate and format.
    """
    with replaced_atomically(path) as tmp:
        # As bytes on POSIX: soundfile encodes a str name strictly, failing on a non-UTF-8 one. Not a file
        # object: libsndfile would call back into Python, where Ctrl-C is swallowed mid-write.
        name = os.fsencode(tmp) if os.name == "posix" else str(tmp)
        sf.write(name, samples, spec.sample_rate, subtype="PCM_16", format=spec.audio_format.upper())


def _render_and_write(job: _Job) -> _JobOutcome:
    """Worker: render one job, writing each clip as soon as it is rendered (a worker holds one clip at a
    time, not the job's grid); return its manifest rows."""
    folder = job.out_dir / job.family
    rows: list[tuple[str, ...]] = []
    stem = job.font.stem

    def write(clip: Clip) -> None:
        if not rows:
            folder.mkdir(parents=True, exist_ok=True)
        name = clip_name(stem, job.program, clip.pitch, clip.velocity, job.spec.audio_format)
        _write_clip(folder / name, clip.samples, job.spec)
        rows.append(
            (
                f"{job.family}/{name}",
                job.family,
                str(job.program),
                str(clip.pitch),
                str(clip.velocity),
                stem,
                job.lineage,
                job.split,
                f"{clip.gain:.6g}",
            )
        )

    result = render_job(job.font, job.program, job.spec, on_clip=write)
    return _JobOutcome(stem, job.program, tuple(rows), len(result.silent), result.missing)


def _resolve_split(font: Path, splits: Mapping[str, str]) -> str | None:
    return splits.get(font.stem, splits.get(lineage_of(font)))


def _check_split_names(splits: Mapping[str, str], fonts: list[Path]) -> None:
    """Refuse a split given for a name that is neither a font's stem nor a font's lineage (a misspelt
    font would otherwise leave its split empty with only a warning)."""
    known = {font.stem for font in fonts} | {lineage_of(font) for font in fonts}
    unknown = sorted(set(splits) - known)
    if unknown:
        raise ValueError(
            f"splits name {', '.join(map(repr, unknown))}, which is no SoundFont stem or lineage here; "
            f"known: {', '.join(sorted(known))}"
        )


def _check_splits(splits: Mapping[str, str]) -> dict[str, str]:
    for key, value in splits.items():
        if value not in SPLITS:
            raise ValueError(f"splits[{key!r}] must be one of {', '.join(SPLITS)}; got {value!r}")
    return dict(splits)


def _check_programs(programs: Iterable[int] | None) -> tuple[int, ...]:
    """The sorted distinct programs to render, all of :data:`PROGRAM_FAMILY` for ``None``.

    Raises:
        ValueError: for a text, an empty list, a value that is no integer, or a program in no family.
    """
    if programs is None:
        return tuple(sorted(PROGRAM_FAMILY))
    allowed = f"0-based GM programs of the family table: {', '.join(map(str, sorted(PROGRAM_FAMILY)))}"
    values = None if isinstance(programs, (str, bytes)) else list(programs)
    if not values:
        raise ValueError(f"programs must be a non-empty list of integers ({allowed}); got {programs!r}")
    wrong = [p for p in values if isinstance(p, bool) or not isinstance(p, (int, np.integer))]
    if not wrong:
        wrong = sorted({int(p) for p in values} - set(PROGRAM_FAMILY))
    if wrong:
        raise ValueError(f"programs must be {allowed}; got {', '.join(map(repr, wrong))}")
    return tuple(sorted({int(p) for p in values}))


def _check_stem(path: Path) -> None:
    """Refuse a font whose file stem is not valid UTF-8: it names the clips and fills manifest.csv."""
    try:
        path.stem.encode("utf-8")
    except UnicodeEncodeError:
        raise SoundFontError(
            path, "the file name is not valid UTF-8; clip names and manifest.csv use its stem: rename it"
        ) from None


def _font_paths(fonts: Sequence[str | os.PathLike[str]] | str | os.PathLike[str]) -> list[Path]:
    """The fonts as paths; one path (a text is a sequence of characters) counts as one font."""
    if isinstance(fonts, (str, os.PathLike)):
        return [Path(fonts)]
    return [Path(font) for font in fonts]


def _check_fonts(fonts: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Check every font, and that no two share a stem or are the same file (a link, such as Debian's
    ``default-GM.sf2``, to another font would put the same recordings in the dataset twice).

    Returns:
        The fonts as paths, in the given order.
    """
    paths = _font_paths(fonts)
    if not paths:
        raise UserError("no SoundFont given: pass at least one --soundfont PATH")
    seen: dict[str, Path] = {}
    for path in paths:
        check_soundfont(path)
        _check_stem(path)
        other = seen.get(path.stem)
        if other is not None:
            what = "given twice" if other.samefile(path) else f"has the same file stem as {other}"
            raise SoundFontError(path, f"{what}; clip names start with the stem, which must be unique")
        twin = next((font for font in seen.values() if font.samefile(path)), None)
        if twin is not None:
            raise SoundFontError(path, f"is the same file as {twin}; give each SoundFont once")
        seen[path.stem] = path
    return paths


def _warn_about_splits(fonts: list[Path], split_of: dict[Path, str | None]) -> None:
    unsplit = [font.stem for font in fonts if split_of[font] is None]
    if unsplit:
        logger.warning(
            "SoundFonts without a split: %s. Their manifest rows have an empty split cell, so a dataset "
            "would split them by file with its fractions, which leaks recordings within a lineage; "
            "give every font (or lineage) a split instead.",
            ", ".join(unsplit),
        )
    by_lineage: dict[str, set[str]] = {}
    for font in fonts:
        if split_of[font] is not None:
            by_lineage.setdefault(lineage_of(font), set()).add(split_of[font])
    for lineage, names in sorted(by_lineage.items()):
        if len(names) > 1:
            # Train against val/test leaks; val against test (the default dataset's small-GM) only
            # makes the validation score a less independent preview of the test score.
            level = logging.WARNING if "train" in names else logging.INFO
            logger.log(
                level,
                "lineage %s is in several splits (%s); fonts of one lineage share recordings",
                lineage,
                ", ".join(sorted(names)),
            )


def _check_family_folders(out_dir: Path, programs: Iterable[int]) -> None:
    """Refuse, before rendering, a family folder's name that ``out_dir`` holds as a file.

    Raises:
        FileProblem: naming the file.
    """
    for family in sorted({PROGRAM_FAMILY[program] for program in programs}):
        folder = out_dir / family
        if folder.exists() and not folder.is_dir():
            raise FileProblem(
                folder, f"is a file, but the clips of the family {family!r} go in a folder there"
            )


def _remove_partial_clips(out_dir: Path) -> None:
    """Remove clips left half-written under their temporary names by workers that were killed (and by
    earlier versions, which named them ``<clip>.partial``)."""
    for format_ in AUDIO_FORMATS:
        for pattern in (temporary_glob(f"*.{format_}"), f"*.{format_}{_OLD_PARTIAL}"):
            for partial in out_dir.glob(f"*/{pattern}"):
                partial.unlink(missing_ok=True)


def _is_render_clip(relative: str) -> bool:
    """Whether ``relative`` (a POSIX path in the dataset folder) is a path a render writes a clip to:
    ``<family>/<clip_name>``, the program's family folder, a note in 0..127, a velocity in 1..127."""
    family, _, name = relative.partition("/")
    match = _CLIP_NAME.fullmatch(name)
    return (
        match is not None
        and "/" not in name
        and PROGRAM_FAMILY.get(int(match["program"])) == family
        and int(match["pitch"]) <= 127
        and 1 <= int(match["velocity"]) <= 127
    )


def _not_a_render_manifest(manifest: Path) -> str | None:
    """Why ``manifest`` is not a ``manifest.csv`` that a render wrote, or ``None`` when it is one: its
    header is :data:`MANIFEST_COLUMNS` and each row has as many cells and a render's clip path."""
    reason = not_a_file_reason(manifest)
    if reason is not None:
        return reason
    try:
        with open(manifest, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return "it is empty"
            if tuple(header) != MANIFEST_COLUMNS:
                return f"its header is not {','.join(MANIFEST_COLUMNS)}"
            for row in reader:
                if len(row) != len(MANIFEST_COLUMNS) or not _is_render_clip(row[0]):
                    return f"line {reader.line_num} is no clip of a render"
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return f"it cannot be read ({error})"
    return None


def _check_manifest_is_a_render(out_dir: Path) -> None:
    """Refuse, before anything is touched, a ``manifest.csv`` in ``out_dir`` that no render wrote: the
    render would replace it (a user's own manifest, lost).

    Raises:
        FileProblem: naming the file, why, and what to do.
    """
    manifest = out_dir / "manifest.csv"
    if not manifest.exists() and not manifest.is_symlink():
        return
    reason = _not_a_render_manifest(manifest)
    if reason is not None:
        raise FileProblem(
            manifest,
            f"not a manifest that adaspec data instruments wrote ({reason}), and a render into "
            f"{shown_path(out_dir)} would replace it: choose another --out, or remove that file",
        )


def _audio_files(out_dir: Path) -> list[str]:
    """The audio files that a class-folder scan of ``out_dir`` would take (``<folder>/**/<file>`` with an
    extension of :data:`~adaspec.data.audio.AUDIO_EXTENSIONS`, any case, hidden ones skipped), as sorted
    POSIX paths relative to ``out_dir``."""
    suffixes = {f".{ext}" for ext in AUDIO_EXTENSIONS}
    found: list[str] = []
    for folder in out_dir.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            relative = path.relative_to(out_dir)
            if (
                path.suffix.lower() in suffixes
                and not any(part.startswith(".") for part in relative.parts)
                and is_file_or_broken_link(path)
            ):
                found.append(relative.as_posix())
    return sorted(found)


def _check_no_foreign_audio(out_dir: Path) -> None:
    """Refuse, before anything is touched, audio files in ``out_dir``'s folders that no render writes
    (another dataset copied there): a training on the folder would mix them with the rendered clips.
    Clips of an earlier render (another format, grid or font, an interrupted render) are not refused.

    Raises:
        UserError: naming the folder, the count and the first files, and what to do.
    """
    foreign = [path for path in _audio_files(out_dir) if not _is_render_clip(path)]
    if foreign:
        shown = ", ".join(shown_path(path) for path in foreign[:_EXAMPLES])
        more = f" and {len(foreign) - _EXAMPLES} more" if len(foreign) > _EXAMPLES else ""
        noun, them = ("file", "it") if len(foreign) == 1 else ("files", "them")
        raise UserError(
            f"{shown_path(out_dir)} holds {len(foreign)} audio {noun} that no render wrote ({shown}{more}); "
            f"rendering there would mix {them} with its clips into one dataset: choose another --out "
            f"(a new or empty folder, or an earlier render's), or move {them} out"
        )


def _forget_previous_render(out_dir: Path) -> None:
    """Remove the manifest of an earlier render (:func:`_check_manifest_is_a_render` checked that it is
    one; its clips are about to be overwritten, so an interrupted render must not leave it to be taken
    for complete) and clips left half-written by a killed one."""
    (out_dir / "manifest.csv").unlink(missing_ok=True)
    _remove_partial_clips(out_dir)


def render_locked(out_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the lock of the dataset folder ``out_dir`` (its :data:`RENDER_LOCK` file) for the ``with``
    block: two renders into one folder would remove each other's manifest and clips being written.

    Raises:
        UserError: another process renders into ``out_dir`` (naming it and that process), or the lock
            file cannot be created. Without ``fcntl`` (Windows) nothing is locked.
    """
    return held_lock(out_dir / RENDER_LOCK, out_dir, doing="rendered into", noun="dataset folder")


def _stale_files(out_dir: Path, written: set[str]) -> int:
    """The audio files in ``out_dir``'s folders (any format) that are not in ``written``."""
    return sum(1 for path in _audio_files(out_dir) if path not in written)


def _write_manifest(path: Path, rows: list[tuple[str, ...]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows(rows)
    write_text_atomic(path, text.getvalue())


def _pool_context() -> multiprocessing.context.BaseContext:
    """``fork`` on Linux (workers start at once, without importing torch again), else the default."""
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


def _available_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _worker_count(workers: int | None, n_jobs: int) -> int:
    """The processes to use: ``workers`` (``None`` for one per CPU), at most one per CPU this process may
    run on and one per job. Rendering is CPU-bound and every worker loads its own synthesizer, so more
    processes than CPUs would only take memory; a larger value is capped (and the cap logged).

    Raises:
        ValueError: if ``workers`` is not a positive integer.
    """
    cpus = _available_cpus()
    asked = cpus if workers is None else check_positive_int("workers", workers)
    if asked > cpus:
        logger.info("workers: %d asked, capped at the %d CPUs this process may run on", asked, cpus)
    return min(asked, cpus, n_jobs)


def _ignore_interrupts() -> None:
    """Pool initializer: leave SIGINT (Ctrl-C) to the parent process, and undo what the pool's start
    within :func:`~adaspec._interrupts.signals_held` left: SIGTERM's recording handler (the pool's
    shutdown sends SIGTERM) and the held signals' block (a SIGINT that came meanwhile is dropped)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if CAN_HOLD:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)


def _start_pool(workers: int, stack: contextlib.ExitStack) -> multiprocessing.pool.Pool:
    """A pool of ``workers`` processes, entered on ``stack`` (which terminates it), started with Ctrl-C
    and SIGTERM held: one that comes while it forks is delivered once the workers exist, instead of
    being raised in a fork hook, where Python printed "Exception ignored" and the render went on."""
    with signals_held():
        return stack.enter_context(_pool_context().Pool(workers, initializer=_ignore_interrupts))


def _run_jobs(jobs: list[_Job], workers: int, progress: bool) -> list[_JobOutcome]:
    outcomes: list[_JobOutcome] = []
    if workers == 1:
        with tqdm(total=len(jobs), desc="rendering", unit="program", disable=not progress) as bar:
            for job in jobs:
                outcomes.append(_render_and_write(job))
                bar.update()
        return outcomes
    # The pool forks before the progress bar starts its monitor thread. Ctrl-C reaches this process,
    # which terminates the pool on the way out; the workers ignore it, so they print no traceback each.
    with contextlib.ExitStack() as stack:
        results = _start_pool(workers, stack).imap_unordered(_render_and_write, jobs, chunksize=1)
        with tqdm(total=len(jobs), desc="rendering", unit="program", disable=not progress) as bar:
            for outcome in results:
                outcomes.append(outcome)
                bar.update()
    return outcomes


def _render_into(
    out: Path, jobs: list[_Job], workers: int, progress: bool
) -> tuple[list[_JobOutcome], list[tuple[str, ...]]]:
    """Render ``jobs`` into ``out`` (whose lock is held) and write its manifest.

    Returns:
        The jobs' outcomes and the manifest's rows.
    """
    _check_family_folders(out, {job.program for job in jobs})
    _check_manifest_is_a_render(out)
    _check_no_foreign_audio(out)
    _forget_previous_render(out)
    try:
        outcomes = _run_jobs(jobs, workers, progress)
    except BaseException:  # Ctrl-C or a failed job: the pool's workers are gone, their partial clips too
        _remove_partial_clips(out)
        raise
    rows = sorted(row for outcome in outcomes for row in outcome.rows)
    if not rows:
        raise UserError(
            f"no clip rendered into {out}: every note was silent or every program missing from the fonts"
        )
    _write_manifest(out / "manifest.csv", rows)
    stale = _stale_files(out, {row[0] for row in rows})
    if stale:
        logger.warning(
            "%d audio files in %s are not in manifest.csv (left from an earlier run, of another grid, font "
            "or format); training on its class folders would take them too: train from manifest.csv "
            "or remove them",
            stale,
            out,
        )
    return outcomes, rows


def render_dataset(
    fonts: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    spec: RenderSpec,
    workers: int | None = None,
    splits: Mapping[str, str] | None = None,
    programs: Iterable[int] | None = None,
    progress: bool = True,
) -> RenderSummary:
    """Render the instrument-family dataset: ``out_dir/<family>/<clip_name>`` plus ``manifest.csv``.

    Every font is checked before anything is rendered. Jobs are (font, program) pairs run over a process
    pool; each clip depends only on its job, and the manifest rows are sorted by path, so the output is
    byte-identical for any ``workers``. ``out_dir`` must be new, empty or an earlier render's folder:
    a ``manifest.csv`` that no render wrote (its header is not :data:`MANIFEST_COLUMNS`, or a row is no
    render's clip path) and audio files that no render writes (not ``<family>/<clip_name>``) are refused
    before anything is touched, so neither a user's manifest is replaced nor another dataset's files
    mixed in. Existing clips of the same names are overwritten; an earlier render's other clips (another
    grid, font or format) are counted in a warning (they are not in the manifest). An earlier
    ``manifest.csv`` is removed before the first clip is written and the new one is written last, and
    every clip is renamed into place once complete: after an interrupted render the folder has no
    manifest and no half-written clip, and rendering again completes it. The render holds the folder's
    lock (see :func:`render_locked`) from before it removes anything until the manifest is written: a
    second render into the same folder meanwhile is refused at once.

    Args:
        fonts: SoundFont files (any sf2/sf3), or one; file stems must be unique, and no file may be
            given twice (under another name either).
        out_dir: the dataset folder (created).
        spec: the note grid and format.
        workers: processes, 1 to render in this process; ``None`` for one per CPU. Capped at the CPUs
            this process may run on and at the number of jobs (the cap is logged).
        splits: font stem or lineage -> ``"train"``/``"val"``/``"test"`` (a stem wins over its lineage);
            ``None`` for :data:`~adaspec.data.gm_families.DEFAULT_SPLITS`. Fonts without a split get an
            empty split cell and a logged warning.
        programs: 0-based GM programs to render (each in a family); ``None`` for all 81.
        progress: show a tqdm progress bar over jobs.

    Returns:
        Counts and timing (see :class:`RenderSummary`).

    Raises:
        SoundFontError: for a missing, unreadable or corrupt font, two fonts with the same stem or file,
            or a stem that is not UTF-8.
        FileProblem: for a family folder's name that ``out_dir`` holds as a file, or a ``manifest.csv``
            there that no render wrote.
        UserError: if no font is given, no clip is left (every note silent or every program missing),
            ``out_dir`` holds audio files that no render writes, or another process renders into
            ``out_dir`` (naming it and that process).
        ValueError: for a wrong ``workers``, ``splits`` or ``programs``.
    """
    start = time.perf_counter()
    split_table = _check_splits(DEFAULT_SPLITS if splits is None else splits)
    program_list = _check_programs(programs)
    if splits is not None and fonts:  # by file name, before FluidSynth loads any font
        _check_split_names(split_table, _font_paths(fonts))
    font_paths = _check_fonts(fonts)
    n_jobs = len(font_paths) * len(program_list)
    workers = _worker_count(workers, n_jobs)
    split_of = {font: _resolve_split(font, split_table) for font in font_paths}
    _warn_about_splits(font_paths, split_of)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [
        _Job(font, p, PROGRAM_FAMILY[p], split_of[font] or "", lineage_of(font), spec, out)
        for font in font_paths
        for p in program_list
    ]
    with render_locked(out):  # from before anything is removed to after the manifest is written
        outcomes, rows = _render_into(out, jobs, workers, progress)
    manifest = out / "manifest.csv"
    missing: dict[str, list[int]] = {}
    for outcome in sorted(outcomes, key=lambda o: (o.stem, o.program)):
        if outcome.missing:
            missing.setdefault(outcome.stem, []).append(outcome.program)
    for stem, lacking in missing.items():
        logger.info(
            "%s lacks %d of %d programs in bank 0: %s", stem, len(lacking), len(program_list), lacking
        )
    per_split: dict[str, int] = {}
    for row in rows:
        per_split[row[7]] = per_split.get(row[7], 0) + 1
    return RenderSummary(
        out_dir=out,
        manifest=manifest,
        clips_written=len(rows),
        silent_dropped=sum(outcome.silent for outcome in outcomes),
        attenuated=sum(1 for row in rows if float(row[8]) < 1.0),
        missing_programs={stem: tuple(lacking) for stem, lacking in missing.items()},
        clips_per_split={name: per_split[name] for name in (*SPLITS, "") if name in per_split},
        fonts=len(font_paths),
        programs=len(program_list),
        seconds=time.perf_counter() - start,
    )


def _parse_grid(text: str | Iterable[int], option: str, low: int, example: str) -> list[int]:
    usage = f"use START:STOP[:STEP], one number or a comma list (e.g. {example}), integers in {low}..127"
    if not isinstance(text, str):
        values = list(text)
        if not values or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
            raise UserError(f"{option}: {values!r} is not a non-empty list of integers; {usage}")
    else:
        try:
            if ":" in text:
                parts = [int(part) for part in text.split(":")]
                if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] < 1) or parts[1] < parts[0]:
                    raise ValueError
                step = parts[2] if len(parts) == 3 else 1
                values = list(range(parts[0], parts[1] + 1, step))
            else:
                values = [int(part) for part in text.split(",")]
        except ValueError:
            raise UserError(f"{option}: {text!r} is not a valid list; {usage}") from None
    outside = [int(v) for v in values if not low <= v <= 127]
    if outside:
        raise UserError(f"{option}: {outside} outside {low}..127; {usage}")
    return sorted({int(v) for v in values})


def parse_pitches(text: str | Iterable[int]) -> list[int]:
    """Parse ``--pitches``: ``"36:96:3"`` (start:stop:step, stop included when it is on the grid, so
    36, 39, ..., 96), ``"36:40"`` (step 1), ``"60"`` or ``"48,60,72"``; a list of ints passes through.

    Returns:
        Sorted distinct MIDI notes.

    Raises:
        UserError: naming ``--pitches`` for bad syntax, an empty range or a note outside 0..127.
    """
    return _parse_grid(text, "--pitches", 0, "36:96:3")


def parse_velocities(text: str | Iterable[int]) -> list[int]:
    """Parse ``--velocities`` like :func:`parse_pitches`: ``"50,80,110"``, ``"40:120:40"`` or ``"100"``.

    Returns:
        Sorted distinct MIDI velocities.

    Raises:
        UserError: naming ``--velocities`` for bad syntax or a velocity outside 1..127.
    """
    return _parse_grid(text, "--velocities", 1, "50,80,110")
