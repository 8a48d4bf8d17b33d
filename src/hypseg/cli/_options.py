"""Options that several commands take alike: how a 4-D input is read (``train`` and ``segment``)."""

from __future__ import annotations

import typer

CHANNEL = typer.Option(None, "--channel", min=0, help="The channel of 4-D inputs to use (0..C-1); a single-channel 4-D input needs none.")
CHANNEL_AXIS = typer.Option(None, "--channel-axis", min=0, max=3, help="The channel axis of 4-D inputs: 0 for CZYX, 1 for ZCYX, 3 for ZYXC (default: the one their format names, else the first or last axis much shorter than the others).")
