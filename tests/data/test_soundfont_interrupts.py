"""A Ctrl-C that comes while the render pool forks its workers stops the render: it is held until the
workers exist, instead of being raised inside Python's fork hooks, where Python printed "Exception
ignored" and the render went on to write a complete dataset."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.data.soundfont_files import write_sf2
from tests.data.test_soundfont import needs_fluidsynth

# libc's raise() through ctypes (which, unlike os.kill, does not run Python's handler at once) from a fork
# hook, before the first worker's fork: Python runs the SIGINT handler inside the fork hooks, as when a
# terminal sends it then.
_CTRL_C_DURING_THE_POOLS_FORK = textwrap.dedent(
    """
    import ctypes, os, signal, sys
    from pathlib import Path
    from adaspec.data.soundfont import RenderSpec, render_dataset

    armed = []
    def ctrl_c_in_parent():
        if armed:
            armed.clear()
            getattr(ctypes.CDLL(None), "raise")(signal.SIGINT)
    os.register_at_fork(before=ctrl_c_in_parent)

    font, out = Path(sys.argv[1]), Path(sys.argv[2])
    spec = RenderSpec(pitches=(60, 72), velocities=(80,))
    armed.append(True)
    try:
        render_dataset([font], out, spec, workers=2, programs=[0, 40], splits={"testfont": "train"},
                       progress=False)
    except KeyboardInterrupt:
        print("interrupted")
    else:
        print("rendered")
    """
)


@needs_fluidsynth
def test_a_ctrl_c_while_the_render_pool_forks_stops_the_render(tmp_path: Path) -> None:
    font = write_sf2(tmp_path / "fonts" / "testfont.sf2", {0: (0, 127), 40: (60, 72)})
    out = tmp_path / "out"
    command = [sys.executable, "-c", _CTRL_C_DURING_THE_POOLS_FORK, str(font), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "interrupted", result
    assert "Exception ignored" not in result.stderr, result.stderr
    assert not (out / "manifest.csv").exists()
    assert [p.name for p in out.rglob("*") if p.name.endswith(".tmp")] == []
