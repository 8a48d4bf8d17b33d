"""Render ``docs/napari.png``: hypseg's napari widget beside the canvas, with the image and its three levels.

A real napari window on a virtual screen: the synthetic sample (File > Open Sample > hypseg), the
widget from the plugin's manifest (Plugins > Segment (hypseg)), a model trained in the widget's worker
thread, a segmentation at k = 2, 4, 8, and the canvas in a grid of the image and the three labels
layers. The test suite runs it with ``--quick`` (a tiny model, a few steps) to check that the canvas
draws; this command renders the picture of the docs (about two minutes on two CPU cores)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/napari_screenshot.py

It prints one JSON line: the layers' names and shapes, the widget's last message and the picture's size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

#: the window's size in pixels (the picture is the whole window, docks included)
WINDOW = (1500, 880)


def _wait(app, widget, timeout_s: float) -> None:
    """Turn the event loop until the widget's worker is done (or fail after ``timeout_s``)."""
    end = time.monotonic() + timeout_s
    while widget.busy:
        if time.monotonic() > end:
            raise TimeoutError(f"the widget was still busy after {timeout_s:.0f} s: {widget.status.value}")
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("napari.png"), help="the PNG to write")
    parser.add_argument("--quick", action="store_true", help="a tiny model trained 20 steps (a check, not the docs' picture)")
    args = parser.parse_args(argv)

    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(title="hypseg in napari")
    viewer.window.resize(*WINDOW)
    app = QApplication.instance()
    viewer.open_sample("hypseg", "synthetic")
    for name in ("truth level 1", "truth level 2", "truth level 3"):
        viewer.layers.remove(name)
    _, widget = viewer.window.add_plugin_dock_widget("hypseg", "Segment (hypseg)")
    with tempfile.TemporaryDirectory() as scratch:
        widget.recipe.value, widget.steps.value = ("smoke", 20) if args.quick else ("cpu", 300)
        widget.train_out.value = str(Path(scratch) / "model")
        widget.train_button.native.click()
        _wait(app, widget, timeout_s=900)
        widget.preset.value, widget.clusters.value, widget.own_patch_side.value = "default", "2 4 8", args.quick
        widget.segment_button.native.click()
        _wait(app, widget, timeout_s=900)
    grid = viewer.canvas.grid if hasattr(getattr(viewer, "canvas", None), "grid") else viewer.grid  # moved in napari 0.9
    grid.enabled, grid.shape = True, (2, 2)
    viewer.dims.set_point(0, viewer.layers["synthetic"].data.shape[0] // 2)
    viewer.reset_view()
    from qtpy.QtWidgets import QWidget

    for toast in viewer.window._qt_window.findChildren(QWidget):  # napari's own notices (the Qt backend's future)
        if type(toast).__name__ == "NapariQtNotification":
            toast.close()
    for _ in range(20):  # let the canvas draw the grid
        app.processEvents()
        time.sleep(0.02)
    picture = viewer.screenshot(canvas_only=False, flash=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.fromarray(picture).save(args.out, optimize=True)
    print(json.dumps({"layers": [[layer.name, list(layer.data.shape)] for layer in viewer.layers],
                      "status": widget.status.value, "picture": list(picture.shape)}))
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
