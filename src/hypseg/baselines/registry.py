"""The registry of baselines: name -> factory (:data:`BASELINES`, :func:`make_baseline`)."""

from __future__ import annotations

from typing import Callable

from hypseg.errors import UserError

from ._base import Baseline
from .filter_bank import FilterBankKMeans
from .intensity import GaussianMixtureBaseline, IntensityKMeans
from .otsu import MultiOtsu
from .patch_pca import PatchPCAKMeans
from .slic import SlicKMeans

__all__ = ["BASELINES", "make_baseline"]


class _Registry(dict):
    """A dict whose lookup of an unknown name raises :class:`~hypseg.errors.UserError` listing the choices."""

    def __missing__(self, name: object) -> Callable[..., Baseline]:
        raise UserError(f"unknown baseline {name!r}; choose one of: {', '.join(sorted(self))}")


#: name -> factory (the class); ``BASELINES[name](**hyper_parameters)`` builds one
BASELINES: dict[str, Callable[..., Baseline]] = _Registry(
    {
        cls.name: cls
        for cls in (IntensityKMeans, GaussianMixtureBaseline, MultiOtsu, SlicKMeans, PatchPCAKMeans, FilterBankKMeans)
    }
)


def make_baseline(name: str, **params: object) -> Baseline:
    """Build the baseline registered as ``name`` with the given hyper-parameters.

    Parameters
    ----------
    name : str
        A key of :data:`BASELINES`.
    **params
        Keyword arguments of that baseline's constructor.

    Returns
    -------
    Baseline

    Raises
    ------
    UserError
        If ``name`` is not registered; the message lists the choices.

    Examples
    --------
    >>> make_baseline("kmeans").name
    'kmeans'
    >>> make_baseline("watershed")
    Traceback (most recent call last):
    ...
    hypseg.errors.UserError: unknown baseline 'watershed'; choose one of: filter_bank, gmm, kmeans, multi_otsu, patch_pca, slic
    """
    return BASELINES[name](**params)
