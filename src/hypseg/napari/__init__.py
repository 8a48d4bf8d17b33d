"""hypseg's napari plugin (the optional extra ``hypseg[napari]``), declared in ``napari.yaml``.

- :mod:`hypseg.napari._reader`: a ``hypseg segment`` output folder as layers: the image, one labels
  layer per level (``k=2``, ``k=4``, ...) placed by the input's voxel size and affine, the level-1
  object with containment, and each child's parent cluster when the levels were nested;
- :mod:`hypseg.napari._writer`: a labels layer as a label map in any format the command line writes;
- :mod:`hypseg.napari._sample`: a synthetic hierarchical volume with its three levels of truth;
- :mod:`hypseg.napari._widget`: train or load a model, segment the current image, and show the
  embedding on the Poincaré disk beside the viewer (the Qt-free work is :mod:`hypseg.napari._jobs`).

napari reads the manifest without importing anything here; each module is imported when its
contribution is first used. Nothing in the rest of hypseg imports this package.
"""
