"""Classical unsupervised segmentations we compare with, behind one interface (:class:`Baseline`).

=================  ==========================================================================
name               method
=================  ==========================================================================
``kmeans``         k-means on voxel intensities (:class:`IntensityKMeans`)
``gmm``            Gaussian mixture on voxel intensities (:class:`GaussianMixtureBaseline`)
``multi_otsu``     multi-Otsu thresholds (:class:`MultiOtsu`)
``slic``           SLIC supervoxels + k-means on their mean/std (:class:`SlicKMeans`)
``patch_pca``      PCA of p^3 patches + k-means (:class:`PatchPCAKMeans`)
``filter_bank``    multi-scale ilastik-style filter bank + k-means (:class:`FilterBankKMeans`)
=================  ==========================================================================

``BASELINES[name](**params)`` (or :func:`make_baseline`) builds one; an unknown name raises
``ValueError`` listing the choices. ``baseline.segment(volume, n_clusters, mask=None, random_state=0)``
returns an int32 label map of the volume's shape (label convention: :mod:`hypseg.baselines._base`).
:func:`evaluate_baseline` scores a baseline per level with the paper's matched DICE.
"""

from ._base import LABEL_DTYPE, Baseline
from .evaluate import DEFAULT_CLUSTERS, BaselineEvaluation, evaluate_baseline
from .filter_bank import FilterBankKMeans, filter_bank_features
from .intensity import GaussianMixtureBaseline, IntensityKMeans
from .otsu import MultiOtsu
from .patch_pca import PatchPCAKMeans
from .registry import BASELINES, make_baseline
from .slic import SlicKMeans

__all__ = [
    "BASELINES",
    "DEFAULT_CLUSTERS",
    "LABEL_DTYPE",
    "Baseline",
    "BaselineEvaluation",
    "FilterBankKMeans",
    "GaussianMixtureBaseline",
    "IntensityKMeans",
    "MultiOtsu",
    "PatchPCAKMeans",
    "SlicKMeans",
    "evaluate_baseline",
    "filter_bank_features",
    "make_baseline",
]
