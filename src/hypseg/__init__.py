"""hypseg: unsupervised 3D segmentation with hyperbolic patch representations.

The user's API (:mod:`hypseg.api`), imported on first use so that ``import hypseg`` stays light:
:func:`load_volume`, :func:`train`, :func:`load_model`, :func:`segment`, :func:`save_labels`.
"""

__version__ = "0.1.0"
__all__ = ["load_volume", "train", "load_model", "segment", "save_labels"]


def __getattr__(name: str):
    if name in __all__:
        from hypseg import api

        return getattr(api, name)
    raise AttributeError(f"module 'hypseg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
