"""PNG writing of spectrograms."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
import torch

from adaspec.plots import save_spectrogram


def test_writes_a_png_with_and_without_axes(tmp_path):
    values = torch.linspace(0, 1, 40 * 30).reshape(40, 30)
    framed = save_spectrogram(values, tmp_path / "a" / "framed.png", sample_rate=16000, hop_length=160,
                              frequencies=np.linspace(0, 8000, 40), title="t")  # fmt: skip
    bare = save_spectrogram(
        values.numpy(), tmp_path / "bare.png", axes=False, size=(3, 2), dpi=50, cmap="gray"
    )
    assert framed.exists() and bare.exists()
    image = matplotlib.image.imread(bare)
    assert image.shape[:2] == (100, 150)
    # Low frequencies at the bottom: the bottom row is darker than the top row (values grow with the row).
    assert image[-1].mean() < image[0].mean()


def test_refuses_non_2d_input(tmp_path):
    with pytest.raises(ValueError, match="2-D"):
        save_spectrogram(np.zeros((2, 3, 4)), tmp_path / "x.png")


def test_leaves_pyplot_alone(tmp_path):
    """A library call in a notebook must not switch the user's backend or leave figures open in pyplot."""
    code = (
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "import matplotlib.pyplot as plt, numpy as np\n"
        "from adaspec.plots import save_spectrogram\n"
        f"save_spectrogram(np.ones((4, 5)), {str(tmp_path / 'x.png')!r})\n"
        "print(matplotlib.get_backend(), len(plt.get_fignums()))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["svg", "0"]
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def _cell_centres(extent: tuple[float, float], n: int) -> np.ndarray:
    low, high = extent
    return low + (np.arange(n) + 0.5) * (high - low) / n


def test_cells_are_centred_on_their_time_and_frequency_as_librosa(tmp_path, drawn):
    """Frame t sits at librosa.frames_to_time(t), FFT row k at librosa.fft_frequencies()[k] (was shifted by
    half a frame and, for few rows, most of a bin: a 1 kHz bin was drawn at 1.11 kHz)."""
    librosa = pytest.importorskip("librosa")
    sr, n_fft, hop, n_frames = 8000, 16, 4, 12
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    save_spectrogram(np.random.default_rng(0).random((freqs.size, n_frames)), tmp_path / "s.png",
                     sample_rate=sr, hop_length=hop, frequencies=freqs)  # fmt: skip
    left, right, bottom, top = drawn[0].axes[0].images[0].get_extent()
    times = librosa.frames_to_time(np.arange(n_frames), sr=sr, hop_length=hop)
    np.testing.assert_allclose(_cell_centres((left, right), n_frames), times, atol=1e-12)
    np.testing.assert_allclose(_cell_centres((bottom, top), freqs.size), freqs, atol=1e-9)
    save_spectrogram(np.zeros((3, 5)), tmp_path / "bins.png")  # no units: bin k and frame t at k and t
    left, right, bottom, top = drawn[1].axes[0].images[0].get_extent()
    np.testing.assert_allclose(_cell_centres((left, right), 5), np.arange(5))
    np.testing.assert_allclose(_cell_centres((bottom, top), 3), np.arange(3))


def test_titles_are_plain_text_and_odd_names_draw(tmp_path, drawn):
    """A "$" in a file name was parsed as mathtext (ValueError), a non-UTF-8 name refused (TypeError)."""
    path = save_spectrogram(np.ones((4, 5)), tmp_path / "t.png", title=r"price $\foo$ caf" + "\udce9.wav")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert drawn[0].axes[0].get_title() == "price $\\foo$ caf\ufffd.wav"


def test_an_interrupted_write_leaves_the_old_image_whole(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    target = tmp_path / "s.png"
    target.write_bytes(b"old image")

    def half_then_interrupt(self, fname, **kwargs):
        with open(fname, "wb") as file:
            file.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_spectrogram(np.ones((4, 5)), target)
    assert target.read_bytes() == b"old image"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.png"]


def test_the_suffix_picks_the_format_and_a_bad_one_is_refused_before_anything_is_made(tmp_path):
    with pytest.raises(ValueError, match=r"suffix '\.xyz'.*one of: .*pdf.*png"):
        save_spectrogram(np.ones((4, 5)), tmp_path / "new" / "s.xyz")
    assert not (tmp_path / "new").exists()
    assert save_spectrogram(np.ones((4, 5)), tmp_path / "s.PDF").read_bytes()[:5] == b"%PDF-"
    bare = save_spectrogram(np.ones((4, 5)), tmp_path / "no_suffix")  # PNG, at the path given
    assert bare == tmp_path / "no_suffix" and bare.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no_suffix", "s.PDF"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spectrogram": np.ones((3, 4)) * 1j}, "spectrogram must be real"),
        ({"spectrogram": torch.ones(3, 4, dtype=torch.complex64)}, "spectrogram must be real"),
        ({"sample_rate": 0, "hop_length": 4}, "sample_rate must be a positive number of Hz, got 0"),
        ({"sample_rate": 8000, "hop_length": 0}, "hop_length must be a positive number of samples, got 0"),
        ({"frequencies": np.arange(5.0)}, r"frequencies must hold one finite value per row \(3\), got 5"),
        ({"frequencies": [0.0, np.nan, 2.0]}, "NaN or infinity"),
    ],
)
def test_bad_parameters_are_refused_naming_them(tmp_path, kwargs, message):
    arguments = {"spectrogram": np.ones((3, 4)), **kwargs}
    with pytest.raises(ValueError, match=message):
        save_spectrogram(path=tmp_path / "x.png", **arguments)
    assert not (tmp_path / "x.png").exists()


def test_half_precision_tensors_draw(tmp_path):
    image = save_spectrogram(torch.rand(3, 4, dtype=torch.bfloat16), tmp_path / "b.png", axes=False)
    assert matplotlib.image.imread(image).shape[:2] == (400, 800)
