"""``adaspec export``: a trained run's classifier as an ONNX model or a ``torch.export`` program (``.pt2``),
waveforms ``(batch, clip samples)`` in, logits ``(batch, classes)`` out, checked against PyTorch."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import signal
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from .._atomic import replaced_atomically
from .._interrupts import handler_installed
from ..errors import UserError, install_hint, not_a_file_reason, one_line
from .checkpoints import LoadedModel, load_classifier
from .datamodule import clip_samples

log = logging.getLogger(__name__)

#: Export formats and their file extensions.
FORMATS = {"onnx": ".onnx", "pt2": ".pt2"}
#: Name of the metadata entry: ONNX ``metadata_props`` key, and ``.pt2`` extra file.
METADATA_KEY = "adaspec.json"
#: Largest difference from PyTorch's logits (relative to their largest magnitude) before a warning.
WARN_ERROR = 1e-3
#: Exit status of an export stopped by SIGTERM (128 + 15, as a shell reports a process it killed).
SIGTERM_EXIT_STATUS = 143
#: What :func:`check_batch` holds, for messages.
CHECK_BATCH = "a batch of 3 (noise, quiet noise, silence)"
NOT_FINITE = f"its logits are NOT finite on {CHECK_BATCH} where PyTorch's are"


@dataclass
class ExportResult:
    """What :func:`export_run` wrote and how closely it reproduces PyTorch."""

    path: Path
    format: str
    metadata: dict[str, Any]
    error: float | None  # max |exported - eager| / max |eager| on a check batch; None if not checked

    def format_summary(self) -> str:
        """One paragraph for the command line."""
        meta = self.metadata
        if self.error is None:
            checked = "; not checked (onnxruntime is not installed)"
        elif math.isnan(self.error):
            checked = f"; {NOT_FINITE}"
        else:
            checked = f"; its logits are within {self.error:.1e} (relative) of PyTorch's on {CHECK_BATCH}"
        return (
            f"exported {meta['checkpoint']} to {self.path} ({self.format}): input '{meta['input']}' "
            f"(batch, {meta['clip_samples']}) float32 at {meta['sample_rate']} Hz, output '{meta['output']}' "
            f"(batch, {len(meta['class_names'])}) for classes {', '.join(meta['class_names'])}{checked}"
        )


def export_run(
    target: str | Path, fmt: str | None = None, output: str | Path | None = None, overwrite: bool = False
) -> ExportResult:
    """Export the classifier of a run directory or checkpoint.

    The model takes float32 waveforms of the training crop length (``data.clip_seconds`` at
    ``data.sample_rate``; the batch size is free) and returns logits. The class names, sample rate, crop
    length and evaluation settings travel inside the file (ONNX metadata or a ``.pt2`` extra file, both
    under :data:`METADATA_KEY`).

    Args:
        target: run directory or checkpoint file.
        fmt: ``"onnx"`` or ``"pt2"`` (default: from ``output``'s extension, ``.onnx`` or ``.pt2``; ONNX
            without ``output``).
        output: file to write (default: ``model.onnx`` / ``model.pt2`` in the run directory, or beside the
            checkpoint).
        overwrite: replace an existing file.

    Returns:
        The :class:`ExportResult`, with the largest difference from PyTorch's logits on a check batch.

    Raises:
        UserError: for an unknown format, an output that is a folder, lacks the format's extension (or,
            without ``fmt``, has neither) or exists (without ``overwrite``), a missing ONNX exporter, or a
            model that does not export.
    """
    if fmt is None:
        fmt = _format_of(output)
    if fmt not in FORMATS:
        raise UserError(f"fmt (--format) must be one of {', '.join(FORMATS)}, got {fmt!r}")
    loaded = load_classifier(target)
    path = Path(output) if output is not None else _default_path(loaded, fmt)
    if path.is_dir():
        raise UserError(f"{path} is a folder; --output must name a file")
    if path.suffix != FORMATS[fmt]:  # predict and read_metadata tell the formats apart by it
        raise UserError(f"--output must end in {FORMATS[fmt]} for --format {fmt}, got {path.name}")
    if path.exists() and not overwrite:
        raise UserError(f"{path} exists; pass --overwrite to replace it")
    samples = clip_samples(loaded.config["data"])
    metadata = _metadata(loaded, samples)
    example = check_batch(samples)
    batch = {0: torch.export.Dim("batch")}
    path.parent.mkdir(parents=True, exist_ok=True)
    # SIGTERM outside: its SystemExit passes through replaced_atomically, which removes the temporary file.
    with _sigterm_exits():
        error = _write(loaded.model, fmt, example, batch, metadata, path)
    if error is not None and math.isnan(error):
        log.warning("the exported model's logits are not finite where PyTorch's are (on %s)", CHECK_BATCH)
    elif error is not None and error > WARN_ERROR:
        log.warning("the exported logits differ from PyTorch's by %.1e (relative)", error)
    return ExportResult(path=path, format=fmt, metadata=metadata, error=error)


def _format_of(output: str | Path | None) -> str:
    """The format an output file's extension names (ONNX without an output, or for a folder, which
    :func:`export_run` then refuses as such).

    Raises:
        UserError: for an output whose extension is neither format's.
    """
    if output is None or Path(output).is_dir():
        return "onnx"
    suffix = Path(output).suffix
    for fmt, extension in FORMATS.items():
        if suffix == extension:
            return fmt
    extensions = " or ".join(FORMATS.values())
    raise UserError(f"--output must end in {extensions}, got {Path(output).name}")


def check_batch(samples: int) -> torch.Tensor:
    """The batch of 3 an exported model is checked on: noise at 0.1, quiet noise at 1e-3 (-60 dB), silence.

    Args:
        samples: the clip length.

    Returns:
        A ``(3, samples)`` float32 tensor (the first two rows also trace the export).
    """
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(2, samples, generator=generator)
    return torch.cat([0.1 * noise[:1], 1e-3 * noise[1:], torch.zeros(1, samples)])


def _write(
    model: torch.nn.Module, fmt: str, example: torch.Tensor, batch: dict, metadata: dict[str, Any], path: Path
) -> float | None:
    """Export to a temporary file of this process beside ``path``, check it, and rename it to ``path``
    (:func:`~adaspec._atomic.replaced_atomically`: two exports to one file do not write into each other's
    temporary file, and a failed or stopped one leaves ``path`` as it was and no temporary file).

    Returns:
        The check batch's relative error (None when not checked).
    """
    export = _export_onnx if fmt == "onnx" else _export_pt2
    with replaced_atomically(path) as tmp:
        # A batch of 2 to trace: torch.export fixes dimensions of size 1. The check runs a batch of 3.
        return export(model, example, batch, metadata, tmp)


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """While the block runs, SIGTERM (``kill``, ``timeout``) raises ``SystemExit(143)`` so that the temporary
    file is removed; only in the main thread, and only where SIGTERM has its default action."""

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(SIGTERM_EXIT_STATUS)

    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    try:
        with handler_installed(signal.SIGTERM, stop):
            yield
    except SystemExit as stopped:
        if stopped.code == SIGTERM_EXIT_STATUS:
            log.warning("export stopped by SIGTERM; nothing was written")
        raise


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata :func:`export_run` stored in an exported file.

    Args:
        path: a ``.onnx`` or ``.pt2`` file written by :func:`export_run`.

    Returns:
        The metadata dictionary (class names, sample rate, crop length, input and output names, ...).

    Raises:
        UserError: when the file has no adaspec metadata or cannot be read.
    """
    metadata, _ = _open_exported(Path(path), run=False)
    return metadata


def load_exported(path: str | Path) -> LoadedModel:
    """A file written by :func:`export_run` as a :class:`LoadedModel` that ``predict`` can use: the
    ``.pt2`` program's module, or an ONNX model run by onnxruntime behind a module's call; the config holds
    the data and evaluation settings the file carries (sample rate, crop, extensions, vote).

    Args:
        path: a ``.onnx`` or ``.pt2`` file.

    Returns:
        The :class:`LoadedModel` (``run`` is ``None``, ``checkpoint`` the exported file).

    Raises:
        UserError: for a file without adaspec metadata, or an ONNX model without onnxruntime installed.
    """
    path = Path(path)
    metadata, model = _open_exported(path, run=True)
    config = {
        "data": {
            "sample_rate": metadata["sample_rate"],
            "clip_seconds": metadata["clip_seconds"],
            "extensions": metadata["extensions"],
        },
        "eval": dict(metadata["eval"]),
    }
    return LoadedModel(
        model=model,
        config=config,
        class_names=list(metadata["class_names"]),
        checkpoint=path,
        run=None,
        epoch=metadata.get("epoch"),
        step=metadata.get("step"),
    )


def _open_exported(path: Path, run: bool) -> tuple[dict[str, Any], torch.nn.Module | None]:
    """The metadata of an exported file and, with ``run``, the model to call, from one read of the file
    (an onnxruntime session for ONNX, the program's module for ``.pt2``)."""
    reason = not_a_file_reason(path)
    if reason is not None:
        raise UserError(f"{path}: {reason}")
    try:
        if path.suffix == FORMATS["onnx"]:
            if path.stat().st_size == 0:
                raise UserError(f"{path}: an empty file, not an ONNX model")
            text, session = _read_onnx(path, run)
            if not text:
                raise UserError(f"{path}: an ONNX model without adaspec metadata (adaspec export writes it)")
            metadata = json.loads(text)
            return metadata, OnnxModel(session, metadata["input"], metadata["output"]) if run else None
        unreadable = f"{path}: no adaspec metadata: not a torch.export program"
        if not zipfile.is_zipfile(path):  # torch.export.load would log a traceback before failing
            raise UserError(_not_a_zip(path))
        extra = {METADATA_KEY: ""}
        try:
            with _quiet_logger("torch.export"):  # it logs a traceback for archives it cannot read
                program = torch.export.load(path, extra_files=extra)
        except Exception as err:  # its message points to the warnings hidden above (see --debug)
            raise UserError(f"{unreadable}, or a damaged one (--debug shows why)") from err
        model = program.module() if run else None
        return json.loads(extra[METADATA_KEY]), model
    except UserError:
        raise
    except ModuleNotFoundError as err:
        raise UserError(f"reading {path} needs {err.name}: {install_hint('onnx')}") from err
    except Exception as err:
        raise UserError(f"{path}: no adaspec metadata ({type(err).__name__}: {err})") from err


def _not_a_zip(path: Path) -> str:
    """The message for a ``.pt2`` that is not a whole zip archive: cut short (it starts as one), or another
    kind of file.

    Args:
        path: the file.

    Returns:
        The one-line message.
    """
    with open(path, "rb") as handle:
        starts_as_zip = handle.read(4) == b"PK\x03\x04"
    if starts_as_zip:
        return f"{path}: a damaged or truncated torch.export program (its zip archive is not whole)"
    return f"{path}: no adaspec metadata: not a torch.export program (not a zip archive)"


def onnxruntime_session(path: Path) -> Any:
    """An onnxruntime CPU session for the ONNX file ``path``, with onnxruntime's own log limited to errors
    (its graph optimiser warns on stderr about nodes it leaves for run time, e.g. ``CastLike``).

    Args:
        path: the ONNX file.

    Returns:
        The ``onnxruntime.InferenceSession``.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors and fatal only
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _read_onnx(path: Path, run: bool) -> tuple[str, Any]:
    """The adaspec metadata text of an ONNX file ("" when it has none) and, with ``run``, an onnxruntime
    session for it (else None).

    Raises:
        UserError: the file is not an ONNX model (or a damaged or truncated one).
    """
    try:
        if run:
            session = onnxruntime_session(path)
            return session.get_modelmeta().custom_metadata_map.get(METADATA_KEY, ""), session
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
    except ModuleNotFoundError:
        raise
    except Exception as err:  # onnxruntime's InvalidProtobuf / InvalidArgument, protobuf's DecodeError
        reason = one_line(err)
        raise UserError(f"{path}: not an ONNX model, or a damaged or truncated one ({reason})") from err
    return next((p.value for p in proto.metadata_props if p.key == METADATA_KEY), ""), None


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Only errors from logger ``name`` while the block runs (all with adaspec's ``--debug``)."""
    logger = logging.getLogger(name)
    level = logger.level
    if not logging.getLogger("adaspec").isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class OnnxModel(torch.nn.Module):
    """An ONNX classifier in an onnxruntime session behind a module's call: float32 waveforms in, logits
    out."""

    def __init__(self, session: Any, input_name: str, output_name: str) -> None:
        super().__init__()
        self.session = session
        self.input_name, self.output_name = input_name, output_name

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, classes)`` for ``(batch, clip samples)`` waveforms (computed on the CPU)."""
        samples = waveform.detach().cpu().float().numpy()
        (logits,) = self.session.run([self.output_name], {self.input_name: samples})
        return torch.from_numpy(logits)


def _default_path(loaded: LoadedModel, fmt: str) -> Path:
    folder = loaded.run.root if loaded.run is not None else loaded.checkpoint.parent
    return folder / f"model{FORMATS[fmt]}"


def _metadata(loaded: LoadedModel, samples: int) -> dict[str, Any]:
    config = loaded.config
    return {
        "adaspec_version": __version__,
        **loaded.origin(),
        "class_names": list(loaded.class_names),
        "sample_rate": config["data"]["sample_rate"],
        "clip_seconds": config["data"]["clip_seconds"],
        "clip_samples": samples,
        "extensions": list(config["data"]["extensions"]),
        "input": "waveform",
        "output": "logits",
        "frontend": config["frontend"]["name"],
        "eval": {"n_parts": config["eval"]["n_parts"], "vote": config["eval"]["vote"]},
    }


def _relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``max |actual - expected| / max |expected|``; NaN where ``actual`` is not finite and ``expected`` is.

    Args:
        actual: the exported model's logits.
        expected: PyTorch's.

    Returns:
        The relative error.
    """
    finite = torch.isfinite(expected)  # (where PyTorch's are not, the exported model is not judged)
    if not torch.isfinite(actual[finite]).all():
        return math.nan
    if not finite.any():
        return 0.0
    scale = float(expected[finite].abs().max())
    return float((actual - expected)[finite].abs().max()) / (scale if scale > 0 else 1.0)


def _export_onnx(
    model: torch.nn.Module, example: torch.Tensor, batch: dict, metadata: dict[str, Any], path: Path
) -> float | None:
    """Write the ONNX model to ``path``; the check batch's error in onnxruntime (None without it)."""
    try:
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ModuleNotFoundError as err:
        raise UserError(f"ONNX export needs {err.name}: {install_hint('onnx')}") from err
    try:
        with contextlib.redirect_stdout(io.StringIO()), _exporter_quiet():  # it prints its progress
            program = torch.onnx.export(
                model,
                (example[:2],),
                dynamo=True,
                input_names=[metadata["input"]],
                output_names=[metadata["output"]],
                dynamic_shapes=(batch,),
                # The exporter's graph rewriting drops an addition of a constant it takes for zero (PCEN's
                # eps of 1e-12 in LEAF: NaN on silence), and onnxruntime optimises the graph when loading.
                optimize=False,
            )
    except Exception as err:
        raise UserError(f"the model does not export to ONNX: {type(err).__name__}: {err}") from err
    program.model.metadata_props[METADATA_KEY] = json.dumps(metadata)
    program.save(str(path))
    try:
        import onnxruntime  # noqa: F401
    except ModuleNotFoundError:
        return None
    session = onnxruntime_session(path)
    (logits,) = session.run([metadata["output"]], {metadata["input"]: example.numpy()})
    with torch.no_grad():
        return _relative_error(torch.from_numpy(logits), model(example))


def _export_pt2(
    model: torch.nn.Module, example: torch.Tensor, batch: dict, metadata: dict[str, Any], path: Path
) -> float:
    """Write the ``torch.export`` program to ``path``; the check batch's error of the reloaded program."""
    try:
        with _exporter_quiet():
            program = torch.export.export(model, (example[:2],), dynamic_shapes=(batch,), strict=False)
    except Exception as err:
        raise UserError(f"the model does not export: {type(err).__name__}: {err}") from err
    with _exporter_quiet():
        torch.export.save(program, path, extra_files={METADATA_KEY: json.dumps(metadata)})
        reloaded = torch.export.load(path).module()
    with torch.no_grad():
        return _relative_error(reloaded(example), model(example))


@contextlib.contextmanager
def _exporter_quiet() -> Iterator[None]:
    """Without torch's own notes while exporting (unless ``--debug``): the ONNX exporter's warnings that
    torchvision's ops are skipped, and pytree's FutureWarning that torch's export code raises itself."""
    with _quiet_logger("torch.onnx"), _quiet_logger("torch.export"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*LeafSpec.*", category=FutureWarning)
        yield
