"""``import adaspec`` is light: the command line parses its arguments, prints its help and answers Ctrl-C
before torch is loaded, and the front-ends are imported when first used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import adaspec

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_the_command_line_starts_without_torch() -> None:
    """Every command imported torch (2-3 s here) before its arguments were even read."""
    result = _run(
        """
        import contextlib, io, sys
        import adaspec.cli
        args = adaspec.cli.parse_arguments(["train", "c.yaml", "optim.lr=0.1"])
        with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
            adaspec.cli.main(["--version"])
        print(out.getvalue().strip(), sorted(m for m in ("torch", "numpy") if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"adaspec {adaspec.__version__} []"


def test_ctrl_c_while_torch_loads_is_one_line() -> None:
    """A Ctrl-C in a command's first seconds (while torch loads) printed Python's traceback."""
    result = _run(
        """
        import sys

        class CtrlC:  # a Ctrl-C that lands while torch is being imported
            def find_spec(self, name, path=None, target=None):
                if name == "torch":
                    raise KeyboardInterrupt
                return None

        import adaspec.cli
        sys.meta_path.insert(0, CtrlC())
        sys.exit(adaspec.cli.main(["spectrogram", "missing.wav"]))
        """
    )
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == "adaspec: interrupted"


def test_the_front_ends_and_sub_packages_are_there_when_used() -> None:
    result = _run(
        """
        import sys
        import adaspec
        assert "torch" not in sys.modules
        from adaspec import STFT, MelSpectrogram
        assert adaspec.STFT is STFT and adaspec.frontends.MelSpectrogram is MelSpectrogram
        assert adaspec.ops.__name__ == "adaspec.ops" and "LEAF" in dir(adaspec)
        """
    )
    assert result.returncode == 0, result.stderr
    names = [name for name in adaspec.__all__ if name != "__version__"]
    assert all(getattr(adaspec, name) is getattr(adaspec.frontends, name) for name in names)


def test_the_front_ends_import_without_torch_dynamo() -> None:
    """``torch._dynamo`` takes 1.5 s to import; a decorator at a module's top level made every
    ``import adaspec.frontends`` pay it (the CWT's compile-time spectra hook)."""
    result = _run(
        """
        import sys
        import adaspec.frontends, adaspec.ops, adaspec.models
        print("torch._dynamo" in sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
