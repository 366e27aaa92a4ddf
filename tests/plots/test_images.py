"""``adaspec spectrogram``: one PNG per audio file, mirrored folders, bad files reported, exit codes."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import soundfile
import torch

from adaspec import MelSpectrogram
from adaspec.cli import main
from adaspec.errors import UserError
from adaspec.frontends import available_frontends
from adaspec.plots.images import parse_size, row_frequencies, write_spectrogram_images
from tests.data.audio_files import rename_to_bytes, write_tone

SR = 8000


@pytest.fixture
def audio_tree(tmp_path: Path) -> Path:
    """root/z.wav, root/a/x.wav, root/a/b/y.flac (good), root/a/bad.wav (corrupt), root/a/notes.txt."""
    root = tmp_path / "audio"
    write_tone(root / "z.wav", seconds=0.6, sample_rate=SR)
    write_tone(root / "a" / "x.wav", seconds=0.7, sample_rate=16000, freq=1000.0)
    write_tone(root / "a" / "b" / "y.flac", seconds=0.6, sample_rate=SR, channels=2)
    (root / "a" / "bad.wav").write_bytes(b"RIFF not really a wave file" * 10)
    (root / "a" / "notes.txt").write_text("not audio")
    return root


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_folder_with_a_corrupt_file_mirrors_structure_and_reports_it(
    audio_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "images"
    code, stdout, stderr = _run(
        ["spectrogram", str(audio_tree), "--out", str(out), "--sample-rate", "8000"], capsys
    )
    assert code == 1
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert written == ["a/b/y.png", "a/x.png", "z.png"]
    assert "wrote 3 of 4 images" in stdout
    bad = audio_tree / "a" / "bad.wav"
    [line] = stderr.strip().splitlines()
    assert line.startswith(f"{bad}: not a decodable audio file (")
    image = matplotlib.image.imread(out / "z.png")  # bare: one pixel per frame (hop 256) and FFT bin
    assert image.shape[:2] == (513, 1 + round(0.6 * SR) // 256)
    assert np.allclose(image[..., 0], image[..., 1]) and np.allclose(image[..., 1], image[..., 2])  # gray


def test_exit_0_when_all_are_written_and_2_when_none(
    audio_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = [str(audio_tree / "z.wav"), str(audio_tree / "a" / "x.wav")]
    args = ["spectrogram", *good, "--out", str(tmp_path / "o"), "--size", "120x90", "--cmap", "magma"]
    code, stdout, _ = _run([*args, "--frontend", "mel", "--axes"], capsys)
    assert code == 0 and "wrote 2 of 2 images" in stdout
    image = matplotlib.image.imread(tmp_path / "o" / "x.png")
    assert image.shape[:2] == (90, 120) and not np.allclose(image[..., 0], image[..., 2])  # colour
    missing = tmp_path / "missing.wav"
    code, _, stderr = _run(["spectrogram", str(audio_tree / "a" / "bad.wav"), str(missing)], capsys)
    assert code == 2
    assert f"{missing}: file not found" in stderr.splitlines()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--size", "12"], "--size '12' must be WIDTHxHEIGHT in pixels"),
        (["--size", "0x10"], "--size '0x10' must be WIDTHxHEIGHT"),
        (["--cmap", "nope"], "--cmap 'nope' is not a matplotlib colour map"),
        (["--frontend", "wavelet9"], "--frontend: frontend name 'wavelet9' is unknown; available: "),
        (["--sample-rate", "0"], "--sample-rate must be a positive integer"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    audio_tree: Path, tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = _run(["spectrogram", str(audio_tree), "--out", str(tmp_path / "o"), *extra], capsys)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adaspec: error: ") and message in lines[0]
    assert not (tmp_path / "o").exists()


def test_unknown_frontend_lists_only_those_that_draw_audio(
    audio_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The list named amplitude_to_db, which --frontend then refused: it takes spectrograms, not audio.
    out = ["--out", str(tmp_path / "o")]
    code, _, stderr = _run(["spectrogram", str(audio_tree), *out, "--frontend", "wavelet9"], capsys)
    assert code == 2 and "stft" in stderr and "amplitude_to_db" not in stderr
    code, _, stderr = _run(["spectrogram", str(audio_tree), *out, "--frontend", "amplitude_to_db"], capsys)
    assert code == 2 and "takes spectrograms, not audio" in stderr


def test_empty_folder_help_and_debug(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = _run(["spectrogram", str(tmp_path)], capsys)
    assert code == 2 and stderr.strip() == f"adaspec: error: no audio file under {tmp_path}"
    with pytest.raises(SystemExit) as info:
        main(["spectrogram", "--help"])
    assert info.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--frontend", "--out", "--size", "--axes", "--cmap"):
        assert option in help_text
    with pytest.raises(UserError, match="--cmap"):
        main(["--debug", "spectrogram", str(tmp_path), "--cmap", "nope"])


def test_cwt_images_and_files_too_short_for_the_longest_wavelet(tmp_path: Path) -> None:
    root = tmp_path / "in"
    write_tone(root / "long.wav", seconds=1.0, sample_rate=SR)
    write_tone(root / "short.wav", seconds=0.2, sample_rate=SR)
    report = write_spectrogram_images([root], tmp_path / "out", "cwt", sample_rate=SR)
    assert report.written == [tmp_path / "out" / "long.png"]
    [(path, reason)] = report.failed
    assert (
        path == root / "short.wav" and "cwt: waveform of 1600 samples is shorter than the longest" in reason
    )
    # semitones from C1 up to 0.45 x 8 kHz: 82 rows; frames every 256 samples from sample 0
    assert matplotlib.image.imread(report.written[0]).shape[:2] == (82, 1 + (SR - 1) // 256)
    axes = write_spectrogram_images([root / "long.wav"], tmp_path / "axes", "cwt", sample_rate=SR, axes=True)
    assert matplotlib.image.imread(axes.written[0]).shape[:2] == (400, 800)


@pytest.mark.parametrize("frontend", ["stft", "mel", "cqt", "cwt"])
def test_every_display_frontend_writes_images_with_axes(frontend: str, tmp_path: Path) -> None:
    if frontend not in available_frontends():
        pytest.skip(f"front-end {frontend!r} is not registered")
    source = write_tone(tmp_path / "t.wav", seconds=1.0, sample_rate=SR)
    report = write_spectrogram_images(
        [source], tmp_path / "o", frontend, sample_rate=SR, axes=True, size=(300, 200)
    )
    assert not report.failed and report.written[0].is_file()


@pytest.mark.parametrize("text", ["100000x100000", "65536x10", "20000x20000", "0x10", "10", "axb"])
def test_sizes_too_large_or_malformed_are_refused_in_one_line(text: str) -> None:
    """An image past matplotlib's 2^16-pixel sides, or of more than 2^28 pixels, ran out of memory."""
    with pytest.raises(UserError, match="--size") as refused:
        parse_size(text)
    assert "\n" not in str(refused.value)
    assert parse_size("65535x4096") == (65535, 4096)


def test_helpers() -> None:
    assert parse_size("640x480") == (640, 480) and parse_size(" 32 X 16 ") == (32, 16)
    mel = MelSpectrogram(SR, n_fft=512, n_mels=20)
    centres = row_frequencies(mel, 20)
    assert centres.shape == (20,) and np.all(np.diff(centres) > 0) and centres[-1] < SR / 2
    assert row_frequencies(mel, 21) is None and row_frequencies(torch.nn.Identity(), 3) is None


def test_odd_file_names_are_drawn_with_their_names_in_the_title(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A "$" pair in a name was parsed as mathtext and a non-UTF-8 name refused by the font renderer: the
    whole run stopped (exit 2, or a traceback)."""
    root = tmp_path / "in"
    write_tone(root / "price $\\foo$.wav", seconds=0.3, sample_rate=SR)
    odd = rename_to_bytes(write_tone(root / "x.wav", seconds=0.3, sample_rate=SR), b"caf\xe9.wav")
    code, stdout, stderr = _run(["spectrogram", str(root), "--out", str(tmp_path / "o"), "--axes"], capsys)
    assert code == 0 and "wrote 2 of 2 images" in stdout and stderr == ""
    assert (tmp_path / "o" / "price $\\foo$.png").is_file() and odd.with_name(odd.stem + ".png").name in {
        p.name for p in (tmp_path / "o").iterdir()
    }


def test_a_file_that_cannot_be_written_is_reported_and_the_others_go_on(
    audio_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output path taken by a folder stopped the whole run with exit 2."""
    out = tmp_path / "o"
    (out / "z.png").mkdir(parents=True)
    good = [str(audio_tree / "z.wav"), str(audio_tree / "a" / "x.wav")]
    code, stdout, stderr = _run(["spectrogram", *good, "--out", str(out), "--sample-rate", "8000"], capsys)
    assert code == 1 and "wrote 1 of 2 images" in stdout
    [line] = stderr.strip().splitlines()
    assert line.startswith(f"{audio_tree / 'z.wav'}: cannot write {out / 'z.png'}: ")
    assert (out / "x.png").is_file() and (out / "z.png").is_dir()


def test_long_files_are_cut_to_the_largest_image_side(tmp_path: Path, monkeypatch) -> None:
    """A bare image had one pixel per frame with no bound, while ``--size`` refuses sides past MAX_SIDE and
    images past MAX_PIXELS: the default obeys the same bounds (older matplotlib's Agg refuses sides of
    2^16, and a multi-hour file asked for gigabytes of RGBA)."""
    import adaspec.plots.images as images

    monkeypatch.setattr(images, "MAX_SIDE", 20)
    source = write_tone(tmp_path / "t.wav", seconds=1.0, sample_rate=SR)
    report = write_spectrogram_images([source], tmp_path / "o", "stft", sample_rate=SR)
    assert matplotlib.image.imread(report.written[0]).shape[:2] == (20, 20)  # 32 frames, 513 rows


def test_compressed_frontends_are_drawn_as_they_are(tmp_path: Path) -> None:
    """MFCC (negative cepstra), LEAF (PCEN) and DEGram (z-scores) outputs went through 20 log10 with
    everything below 1e-5 floored: negative values all became one grey."""
    from adaspec import MFCC

    source = write_tone(tmp_path / "t.wav", seconds=1.0, sample_rate=SR, freq=700.0)
    report = write_spectrogram_images([source], tmp_path / "o", "mfcc", sample_rate=SR)
    grey = matplotlib.image.imread(report.written[0])[::-1, :, 0]  # row 0 at the bottom
    waveform = torch.from_numpy(soundfile.read(source, dtype="float32")[0])
    mfcc = MFCC(sample_rate=SR)
    with torch.inference_mode():
        values = mfcc(waveform).double().numpy()
    assert grey.shape == values.shape and values.min() < 0
    assert np.corrcoef(grey.ravel(), values.ravel())[0, 1] > 0.999  # a linear grey scale of the values


def test_leaf_rows_in_hz_and_mfcc_frames_in_seconds(tmp_path: Path, drawn) -> None:
    source = write_tone(tmp_path / "t.wav", seconds=1.0, sample_rate=SR)
    write_spectrogram_images([source], tmp_path / "leaf", "leaf", sample_rate=SR, axes=True)
    axis = drawn[0].axes[0]
    assert axis.get_ylabel() == "frequency (Hz)"
    ticks = [float(label.get_text()) for label in axis.get_yticklabels()]
    assert len(ticks) > 2 and np.all(np.diff(ticks) > 0) and ticks[0] > 0 and ticks[-1] <= SR / 2
    write_spectrogram_images([source], tmp_path / "mfcc", "mfcc", sample_rate=SR, axes=True)
    axis = drawn[1].axes[0]
    left, right, _, _ = axis.images[0].get_extent()
    assert axis.get_xlabel() == "time (s)" and left < 0 < 1.0 - 0.05 < right < 1.0 + 0.05
