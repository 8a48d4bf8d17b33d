"""Plots of embeddings, segmentations and training runs, written as PNG files.

* :func:`plot_poincare_disk`, :func:`plot_poincare_panels` — voxel embeddings on the Poincare disk,
  coloured by true class or by cluster, with the cluster centres and the boundary circle.
* :func:`plot_slices` — axial, coronal and sagittal slices with one label-overlay row per level.
* :func:`plot_training_curves` — loss terms of a run's ``log.jsonl``, train and val.
* :func:`plot_dice_table` — per-level DICE beside the paper's numbers.
* :func:`poincare_disk_figure` — the figure of :func:`plot_poincare_disk`, unsaved (for a GUI to draw).
* :func:`value_colors` — the colour of each cluster by its value, the same in every plot and in napari;
  :func:`label_colors` colours any labels by rank.

Every function takes arrays (never file names of volumes: reading files is :mod:`hypseg.io`'s job and
the command line's), writes a PNG atomically and returns its path. matplotlib is imported inside the
functions and drawn on an Agg canvas without touching pyplot's global state.
"""

from hypseg.plotting._colors import label_colors, value_colors
from hypseg.plotting.curves import plot_training_curves
from hypseg.plotting.dice import PAPER_DICE, plot_dice_table
from hypseg.plotting.poincare import plot_poincare_disk, plot_poincare_panels, poincare_disk_figure
from hypseg.plotting.slices import plot_slices

__all__ = [
    "PAPER_DICE", "label_colors", "plot_dice_table", "plot_poincare_disk", "plot_poincare_panels", "plot_slices",
    "plot_training_curves", "poincare_disk_figure", "value_colors",
]
