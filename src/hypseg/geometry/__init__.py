"""Poincare-ball geometry: math as functions (:mod:`.math`) and a thin :class:`PoincareBall`.

This is the only layer that imports geoopt (besides the optimiser in ``hypseg.training``).
"""

from hypseg.geometry.ball import PoincareBall
from hypseg.geometry.constants import BALL_EPS, TANGENT_CLIP, ball_eps, min_norm
from hypseg.geometry.math import (
    cdist,
    check_curvature,
    check_points,
    clip_tangent,
    dist,
    dist0,
    expmap,
    expmap0,
    gyroplane,
    lambda_x,
    logmap,
    logmap0,
    mobius_add,
    project,
    transp0,
    transp0back,
)

__all__ = [
    "PoincareBall",
    "BALL_EPS",
    "TANGENT_CLIP",
    "ball_eps",
    "min_norm",
    "cdist",
    "check_curvature",
    "check_points",
    "clip_tangent",
    "dist",
    "dist0",
    "expmap",
    "expmap0",
    "gyroplane",
    "lambda_x",
    "logmap",
    "logmap0",
    "mobius_add",
    "project",
    "transp0",
    "transp0back",
]
