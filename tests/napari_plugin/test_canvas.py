"""A real canvas under a virtual screen: the docs' screenshot script, quickly, must draw the levels.

With ``QT_QPA_PLATFORM=offscreen`` napari's canvas cannot start (vispy's OpenGL query fails), so this
test runs ``docs/napari_screenshot.py --quick`` in its own process under ``xvfb-run``: a napari window
with the sample data, the widget from the plugin's manifest, a model trained in it, the levels
segmented and the window's picture taken.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "napari_screenshot.py"


@pytest.mark.skipif(shutil.which("xvfb-run") is None,
                    reason="xvfb-run is not installed: the canvas needs a virtual screen (Debian: apt-get install xvfb; "
                           "`make test` installs it when run as root)")
def test_the_window_shows_the_image_its_levels_and_the_widget(tmp_path):
    from PIL import Image

    env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}  # a real screen this time
    out = tmp_path / "window.png"
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, str(SCRIPT), "--quick",
                          "--out", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["layers"] == [["synthetic", [50, 50, 50]], ["k=2", [50, 50, 50]], ["k=4", [50, 50, 50]], ["k=8", [50, 50, 50]]]
    assert report["status"] == "segmented synthetic: layers k=2, k=4, k=8"
    picture = np.asarray(Image.open(out).convert("RGB"))
    assert picture.shape == (880, 1500, 3) and list(picture.shape) == report["picture"][:2] + [3]
    canvas = picture[100:700, 350:950]  # the grid of the image and the three levels
    assert len(np.unique(canvas.reshape(-1, 3), axis=0)) > 50  # drawn: grey levels and label colours, not one fill
