"""``adaspec export``: a trained run as ONNX (run in onnxruntime) and as a ``torch.export`` program; the
exported models label the test files as ``adaspec predict`` does; bad requests exit 2 and lose nothing."""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import torch

from adaspec.cli import main
from adaspec.data import load_audio, split_parts
from adaspec.errors import UserError
from adaspec.training import TrainResult, load_classifier, predict_paths
from adaspec.training.export import METADATA_KEY, export_run, read_metadata
from adaspec.training.predict import clip_windows

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def _file_parts(path: Path, config: dict) -> np.ndarray:
    """The evaluation parts of one file, as ``predict`` cuts them."""
    data = config["data"]
    clip = round(data["clip_seconds"] * data["sample_rate"])
    wave = load_audio(path, data["sample_rate"])
    return split_parts(wave, config["eval"]["n_parts"], min_length=clip)


def test_onnx_model_labels_files_as_predict_does(
    trained_run: TrainResult, tone_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "tones.onnx"
    assert main(["export", str(trained_run.paths.root), "--output", str(output)]) == 0
    summary = capsys.readouterr().out
    assert str(output) in summary and "input 'waveform' (batch, 4000) float32 at 8000 Hz" in summary
    loaded = load_classifier(trained_run.paths.root)
    metadata = read_metadata(output)
    assert metadata["class_names"] == loaded.class_names
    assert (metadata["sample_rate"], metadata["clip_samples"]) == (8000, 4000)
    assert metadata["checkpoint"] == str(trained_run.paths.best.resolve())
    assert (metadata["epoch"], metadata["step"]) == (loaded.epoch, loaded.step) != (None, None)
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map[METADATA_KEY]
    files = sorted(tone_dataset.rglob("*.wav"))[::4]
    expected = predict_paths(trained_run.paths.root, files, top_k=1, fmt="json").rows
    for path, row in zip(files, expected, strict=True):
        parts = _file_parts(path, loaded.config)  # 2 parts: another batch size than exported
        (logits,) = session.run(["logits"], {"waveform": parts})
        with torch.no_grad():
            eager = loaded.model(torch.from_numpy(parts)).numpy()
        np.testing.assert_allclose(logits, eager, rtol=0, atol=1e-4 * np.abs(eager).max())
        probabilities = torch.softmax(torch.from_numpy(logits), dim=1).mean(0)
        assert metadata["class_names"][int(probabilities.argmax())] == row["label"]


def test_pt2_program_reloads_and_matches_eager(trained_run: TrainResult, tmp_path: Path) -> None:
    result = export_run(trained_run.paths.best, fmt="pt2", output=tmp_path / "tones.pt2")
    assert result.error is not None and result.error < 1e-5
    program = torch.export.load(result.path).module()
    loaded = load_classifier(trained_run.paths.best)
    x = 0.1 * torch.randn(5, 4000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(program(x), loaded.model(x), rtol=1e-5, atol=1e-5)
    assert read_metadata(result.path)["class_names"] == loaded.class_names


def test_default_output_sits_beside_a_bare_checkpoint(trained_run: TrainResult, tmp_path: Path) -> None:
    checkpoint = shutil.copy(trained_run.paths.best, tmp_path / "model.ckpt")
    result = export_run(checkpoint)
    assert result.path == tmp_path / "model.onnx" and result.path.is_file()
    assert result.error is not None and result.error < 1e-5
    assert not list(tmp_path.glob(".*partial")) and not list(tmp_path.glob(".*.tmp"))


def test_existing_output_is_kept_unless_overwrite(
    trained_run: TrainResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "model.pt2"
    output.write_text("keep me")
    # No --format: the extension names it (it was ONNX whatever --output said, so .pt2 was refused).
    export = ["export", str(trained_run.paths.root), "--output", str(output)]
    assert main(export) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "exists; pass --overwrite" in error
    assert output.read_text() == "keep me"
    assert main([*export, "--overwrite"]) == 0
    assert read_metadata(output)["input"] == "waveform"


def test_unknown_format_and_bad_outputs_exit_2_with_one_line(
    trained_run: TrainResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(trained_run.paths.root), "--format", "tflite"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'tflite'" in capsys.readouterr().err
    assert main(["export", str(trained_run.paths.root), "--output", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "is a folder; --output must name a file" in error
    export_onnx = ["export", str(trained_run.paths.root), "--format", "onnx"]
    assert main([*export_onnx, "--output", str(tmp_path / "model.pt2")]) == 2
    assert "--output must end in .onnx for --format onnx, got model.pt2" in capsys.readouterr().err
    assert main(["export", str(trained_run.paths.root), "--output", str(tmp_path / "model.tflite")]) == 2
    error = capsys.readouterr().err.strip()
    assert error == "adaspec: error: --output must end in .onnx or .pt2, got model.tflite"
    assert not list(tmp_path.iterdir())


def test_missing_onnx_exporter_names_the_extra(
    trained_run: TrainResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import fails as if not installed
    assert main(["export", str(trained_run.paths.root), "--output", str(tmp_path / "m.onnx")]) == 2
    assert "pip install 'adaspec[onnx]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_read_metadata_of_a_foreign_file_is_a_user_error(tmp_path: Path) -> None:
    foreign = tmp_path / "other.pt2"
    foreign.write_bytes(b"not a zip")
    with pytest.raises(Exception, match="no adaspec metadata"):
        read_metadata(foreign)


def _onnx_without_metadata(path: Path) -> Path:
    """A valid ONNX model (y = x) that ``adaspec export`` did not write."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "an empty file, not an ONNX model"),
        (b"\x08\xff" * 100, "not an ONNX model, or a damaged or truncated one ("),
        (None, "an ONNX model without adaspec metadata (adaspec export writes it)"),
    ],
)
def test_an_onnx_file_that_is_not_adaspec_s_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, reason: str
) -> None:
    path = tmp_path / "model.onnx"
    if content is None:
        _onnx_without_metadata(path)
    else:
        path.write_bytes(content)
    with pytest.raises(UserError) as info:
        read_metadata(path)
    assert str(info.value).startswith(f"{path}: {reason}") and "\n" not in str(info.value)
    assert main(["predict", str(path), str(tmp_path / "a.wav")]) == 2  # through onnxruntime
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"adaspec: error: {path}: {reason}")


def test_a_foreign_pt2_is_one_line_without_torch_s_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "weights.pt2"
    torch.save({"weights": torch.zeros(2)}, foreign)  # a zip archive, but not an exported program
    assert main(["predict", str(foreign), str(tmp_path / "a.wav")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"adaspec: error: {foreign}: no adaspec metadata: not a torch.export program, or a damaged one "
        "(--debug shows why)"
    ]


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_predict_runs_exported_models_like_the_run(
    fmt: str,
    trained_run: TrainResult,
    tone_dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The exported file brings its own sample rate, crop, extensions and vote: no run directory needed."""
    model = export_run(trained_run.paths.root, fmt=fmt, output=tmp_path / f"tones.{fmt}").path
    folder = tone_dataset / "noise"
    expected = predict_paths(trained_run.paths.root, [folder], top_k=3, fmt="json").rows
    with caplog.at_level(logging.WARNING):
        actual = predict_paths(model, [folder], top_k=3, fmt="json").rows
    assert not _adaspec_messages(caplog)  # files of n_parts clips: the windows are the run's parts
    assert [row["path"] for row in actual] == [row["path"] for row in expected] and actual
    for got, want in zip(actual, expected, strict=True):
        assert got["label"] == want["label"] and got["error"] is None
        assert [name for name, _ in got["top"]] == [name for name, _ in want["top"]]
        np.testing.assert_allclose([p for _, p in got["top"]], [p for _, p in want["top"]], atol=1e-5)
    assert main(["predict", str(model), str(sorted(folder.iterdir())[0])]) == 0
    assert "noise_00.wav" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_predict_with_an_exported_model_takes_clip_long_windows_of_any_file(
    fmt: str, trained_run: TrainResult, tone_dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The exported model takes only its clip length; files of other lengths (whose parts are longer or
    shorter than a clip) are labelled from ``n_parts`` clip-long windows centred on the parts, as the
    PyTorch model labels those same windows. It failed in onnxruntime (or a guard) on every such file."""
    model = export_run(trained_run.paths.root, fmt=fmt, output=tmp_path / f"tones.{fmt}").path
    loaded = load_classifier(trained_run.paths.root)
    wave, rate = sf.read(sorted((tone_dataset / "noise").iterdir())[0], dtype="float32")
    files = []
    for seconds in (0.3, 1.37, 2.9):  # shorter than a clip, and parts of 0.69 s and 1.45 s
        files.append(tmp_path / f"noise_{seconds}.wav")
        sf.write(files[-1], np.resize(wave, round(seconds * rate)), rate)
    with caplog.at_level(logging.WARNING):
        rows = predict_paths(model, files, top_k=4, fmt="json").rows
    assert _adaspec_messages(caplog) == [
        "3 of 3 files are not 2 clips of 0.5 s long: the exported model scores 2 clip-long windows of each, "
        "not the run's 2 parts, so its labels and probabilities may differ from the run's"
    ]
    for path, row in zip(files, rows, strict=True):
        assert row["error"] is None
        windows = clip_windows(sf.read(path, dtype="float32")[0], 2, 4000)
        assert windows.shape == ((1, 4000) if "0.3" in path.name else (2, 4000))
        with torch.no_grad():
            expected = torch.softmax(loaded.model(torch.from_numpy(windows)), dim=1).mean(0).numpy()
        got = dict(row["top"])
        np.testing.assert_allclose([got[name] for name in loaded.class_names], expected, atol=1e-5)


def test_clip_windows_are_centred_on_the_parts_and_stay_inside() -> None:
    wave = np.arange(100, dtype=np.float32)
    np.testing.assert_array_equal(clip_windows(wave, 2, 50), [wave[:50], wave[50:]])  # the parts
    # parts of 25 samples centred on 12.5, 37.5, 62.5, 87.5: windows of 20 start at 2(.5), 28, 52(.5), 78
    starts = [window[0] for window in clip_windows(wave, 4, 20)]
    assert starts == [2, 28, 52, 78]
    np.testing.assert_array_equal(clip_windows(wave, 3, 90)[:, 0], [0, 5, 10])  # overlapping, inside
    short = clip_windows(wave[:30], 4, 50)
    assert short.shape == (1, 50) and (short[0, :30] == wave[:30]).all() and (short[0, 30:] == 0).all()


def test_export_shows_only_its_summary(trained_run: TrainResult, tmp_path: Path) -> None:
    """torch's notes while exporting (torchvision ops skipped, pytree's FutureWarning) are not shown; a
    fresh process, since torch says each only once per process."""
    output = tmp_path / "quiet.onnx"
    command = ["export", str(trained_run.paths.root), "--output", str(output)]
    done = subprocess.run(
        [sys.executable, "-m", "adaspec", *command], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("exported ") and len(done.stdout.strip().splitlines()) == 1


class _NanOnSilence(torch.nn.Module):
    """A module whose logits are NaN for an all-zero waveform: what LEAF's ONNX model gave on silence."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The inner logits, NaN in the rows of silent waveforms."""
        silent = (waveform == 0).all(dim=1, keepdim=True)
        return self.inner(waveform).masked_fill(silent, float("nan"))


def test_an_export_that_fails_on_silence_is_reported(
    trained_run: TrainResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The check batch was noise at 0.1 only, and a NaN error compared as "not above" the warning bound."""
    real_load = torch.export.load

    def load(*args: object, **kwargs: object) -> SimpleNamespace:
        return SimpleNamespace(module=lambda: _NanOnSilence(real_load(*args, **kwargs).module()))

    monkeypatch.setattr(torch.export, "load", load)
    with caplog.at_level(logging.WARNING, logger="adaspec"):
        result = export_run(trained_run.paths.best, fmt="pt2", output=tmp_path / "m.pt2")
    assert result.error is not None and math.isnan(result.error)
    assert "logits are NOT finite on a batch of 3 (noise, quiet noise, silence)" in result.format_summary()
    assert "not finite where PyTorch's are" in caplog.text


SIGTERM_DURING_EXPORT = """
import os, signal, sys, time
import adaspec.training.export as export
from adaspec.cli import main

def killed_while_writing(model, example, batch, metadata, path):
    path.write_bytes(b"half a model")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)

export._export_pt2 = killed_while_writing
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_during_an_export_leaves_no_partial_file(trained_run: TrainResult, tmp_path: Path) -> None:
    """`kill` or `timeout` left the hidden partial file behind (Ctrl-C removed it)."""
    output = tmp_path / "model.pt2"
    command = ["export", str(trained_run.paths.best), "--format", "pt2", "--output", str(output)]
    done = subprocess.run(
        [sys.executable, "-c", SIGTERM_DURING_EXPORT, *command], capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 143, done.stderr
    assert done.stderr.decode().strip() == "export stopped by SIGTERM; nothing was written"
    assert not list(tmp_path.iterdir())


def test_a_failed_export_keeps_the_earlier_file_and_leaves_no_temporary_one(
    trained_run: TrainResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk mid-write: the earlier model stays whole under its name, and nothing else is left."""
    output = tmp_path / "model.pt2"
    output.write_bytes(b"the earlier model")

    def save(program, file, **kwargs):
        Path(file).write_bytes(b"PK\x03\x04 half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch.export, "save", save)
    with pytest.raises(OSError, match="No space left"):
        export_run(trained_run.paths.best, fmt="pt2", output=output, overwrite=True)
    assert output.read_bytes() == b"the earlier model"
    assert [path.name for path in tmp_path.iterdir()] == [output.name]


PAUSED_EXPORT = """
import sys, time
from pathlib import Path
import adaspec.training.export as export

real_export = export._export_pt2
ready, resume = Path(sys.argv[3]), Path(sys.argv[4])

def paused(model, example, batch, metadata, path):
    error = real_export(model, example, batch, metadata, path)
    ready.touch()
    while not resume.exists():
        time.sleep(0.05)
    return error

export._export_pt2 = paused
print(export.export_run(sys.argv[1], fmt="pt2", output=sys.argv[2], overwrite=True).path)
"""


def test_two_exports_to_one_file_do_not_share_a_partial_file(
    trained_run: TrainResult, tmp_path: Path
) -> None:
    """Both wrote `.model.pt2.partial`: the export that finished second found its partial file renamed
    away by the first (FileNotFoundError), or renamed the other's half-written one into place."""
    output, ready, resume = tmp_path / "model.pt2", tmp_path / "ready", tmp_path / "resume"
    first = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PAUSED_EXPORT,
            str(trained_run.paths.best),
            str(output),
            str(ready),
            str(resume),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(1200):
            if ready.exists() or first.poll() is not None:
                break
            time.sleep(0.05)
        assert ready.exists(), first.communicate()[1].decode()
        export_run(trained_run.paths.best, fmt="pt2", output=output, overwrite=True)
    finally:
        resume.touch()
        stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == str(output)
    assert read_metadata(output)["input"] == "waveform"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.pt2", "ready", "resume"]


def test_a_truncated_pt2_is_called_so(trained_run: TrainResult, tmp_path: Path) -> None:
    """A .pt2 cut short (a full disk, a killed copy) was called "not a torch.export program"."""
    whole = export_run(trained_run.paths.best, fmt="pt2", output=tmp_path / "whole.pt2").path
    cut = tmp_path / "cut.pt2"
    cut.write_bytes(whole.read_bytes()[:5000])
    with pytest.raises(UserError, match=r"cut\.pt2: a damaged or truncated torch\.export program \(its zip"):
        read_metadata(cut)


def test_leaf_stays_finite_on_silence_in_onnxruntime(tmp_path: Path) -> None:
    # The exporter's graph rewriting took PCEN's `smoother + 1e-12` for `x + 0` and dropped it: log(0) on
    # silence made a LEAF model's ONNX file give NaN where PyTorch's logits are finite. PCEN acts on each
    # band alike: two bands show it, and export in about two thirds of the time that eight take.
    pytest.importorskip("onnxruntime")
    from adaspec.frontends import LEAF
    from adaspec.training.export import _export_onnx

    model = LEAF(8000, n_filters=2).eval()
    example = torch.cat([0.1 * torch.randn(1, 4000), torch.zeros(1, 4000)])
    metadata = {"input": "waveform", "output": "leaf"}
    error = _export_onnx(model, example, {0: torch.export.Dim("batch")}, metadata, tmp_path / "leaf.onnx")
    assert error is not None and error < 1e-5


def _adaspec_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages adaspec's loggers gave (torch's tracing logs its own at DEBUG)."""
    return [record.getMessage() for record in caplog.records if record.name.startswith("adaspec")]
