"""`make fourier-demo`: spectrograms of a generated test signal with adaspec's Fourier front-ends, as PNGs,
followed by the quick benchmark table against torch.stft, librosa and nnAudio."""

from __future__ import annotations

import argparse
import logging
import math
import subprocess
import sys
from pathlib import Path

import torch

import adaspec
from adaspec.plots import save_spectrogram

SAMPLE_RATE = 22050
log = logging.getLogger("adaspec.demo")


def test_signal(seconds: float = 3.0) -> torch.Tensor:
    """A log chirp (60 Hz -> 8 kHz), a 440 Hz tone with harmonics, and clicks every 0.5 s."""
    t = torch.arange(int(seconds * SAMPLE_RATE), dtype=torch.float64) / SAMPLE_RATE
    f0, f1 = 60.0, 8000.0
    rate = math.log(f1 / f0) / seconds
    chirp = torch.sin(2 * math.pi * f0 * (torch.exp(rate * t) - 1) / rate)
    tone = sum(0.3 / k * torch.sin(2 * math.pi * 440.0 * k * t) for k in (1, 2, 3))
    clicks = torch.zeros_like(t)
    clicks[:: SAMPLE_RATE // 2] = 1.0
    return (0.5 * chirp + tone + clicks).float()


def main() -> None:
    """Write the PNGs, report the learnable path's agreement, then print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="demo_output", help="folder for the PNG files")
    parser.add_argument("--no-benchmark", action="store_true", help="skip the benchmark table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.out)
    signal = test_signal()
    common = {"n_fft": 2048, "hop_length": 256}
    to_db = adaspec.AmplitudeToDB("power", top_db=80.0, ref="max")

    stft = adaspec.STFT(**common, sample_rate=SAMPLE_RATE, output="power")
    mel = adaspec.MelSpectrogram(
        sample_rate=SAMPLE_RATE, **common, n_mels=128, norm="slaney", mel_scale="slaney"
    )
    learnable = adaspec.STFT(
        **common, sample_rate=SAMPLE_RATE, output="power", learn_window=True, learn_kernels=True
    )

    fixed_power = stft(signal)
    learnable_power = learnable(signal)
    difference = ((learnable_power - fixed_power).abs().max() / fixed_power.abs().max()).item()
    images = {
        "stft.png": (to_db(fixed_power), stft.frequencies, "STFT power (dB), FFT path"),
        "mel.png": (to_db(mel(signal)), None, "Mel spectrogram, 128 Slaney bands (dB)"),
        "learnable_stft.png": (
            to_db(learnable_power),
            learnable.frequencies,
            "Learnable STFT (dense path, dB)",
        ),
    }
    for name, (values, frequencies, title) in images.items():
        path = save_spectrogram(values, out / name, sample_rate=SAMPLE_RATE, hop_length=256,
                                frequencies=frequencies, title=title)  # fmt: skip
        log.info("wrote %s", path)
    log.info(
        "learnable (dense) vs fixed (FFT) path at initialisation: max relative difference %.2e", difference
    )
    if not args.no_benchmark:
        bench = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_fourier.py"
        subprocess.run([sys.executable, str(bench), "--quick"], check=True)


if __name__ == "__main__":
    main()
