"""Length units: one ASCII name per unit, and voxel sizes brought to one unit (OME gives each axis its own)."""

from __future__ import annotations

from typing import Sequence

from hypseg.errors import UserError

#: hypseg's name of a length unit (ASCII, as NIfTI and ImageJ spell it) by the spellings of OME-XML
#: (``PhysicalSizeXUnit`` symbols), OME-NGFF (UDUNITS-2 names), ImageJ and nibabel
NAMES = {
    "pm": "pm", "picometer": "pm",
    "Å": "angstrom", "angstrom": "angstrom",
    "nm": "nm", "nanometer": "nm",
    "µm": "micron", "μm": "micron", "\\u00B5m": "micron", "um": "micron", "micron": "micron", "micrometer": "micron",
    "mm": "mm", "millimeter": "mm",
    "cm": "cm", "centimeter": "cm",
    "m": "meter", "meter": "meter",
}  # fmt: skip

#: metres per unit, by hypseg's name
METRES = {"pm": 1e-12, "angstrom": 1e-10, "nm": 1e-9, "micron": 1e-6, "mm": 1e-3, "cm": 1e-2, "meter": 1.0}


def unit_name(unit: str | None) -> str:
    """hypseg's name of ``unit`` (``"micron"`` for ``"µm"``); an unknown unit keeps its spelling, None is ``"unknown"``.

    >>> unit_name("µm"), unit_name("micrometer"), unit_name("parsec"), unit_name(None)
    ('micron', 'micron', 'parsec', 'unknown')
    """
    return "unknown" if unit is None else NAMES.get(str(unit), str(unit))


def one_unit(units: Sequence[str | None]) -> tuple[list[float], str]:
    """Factors that bring lengths given in ``units`` (one per axis, None: unstated) to one unit, and its name.

    Axes that agree keep their unit (factors 1), and an axis whose unit is unstated takes the one the others
    agree on. Axes that differ are converted to the unit of the last (x) axis, which must then be known for
    every axis: a volume holds one unit (``Volume.metadata["unit"]``), and nm along z with um along x would
    otherwise skew its geometry.

    >>> one_unit(["nm", "µm", "µm"]), one_unit([None, "µm", "µm"])
    (([0.001, 1.0, 1.0], 'micron'), ([1.0, 1.0, 1.0], 'micron'))
    """
    names = [unit_name(u) for u in units]
    stated = {name for name, unit in zip(names, units) if unit is not None}
    if len(stated) <= 1:
        return [1.0] * len(names), (stated.pop() if stated else "unknown")
    unknown = [n for n in names if n not in METRES]
    if unknown:
        raise UserError(f"its axes have lengths in units {', '.join(names)}, and {unknown[0]} cannot be converted")
    return [METRES[n] / METRES[names[-1]] for n in names], names[-1]
