"""The package's layers import downward only (design.md, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import hypseg

PACKAGE = Path(hypseg.__file__).parent

#: layer -> the hypseg layers it may import (besides itself and :data:`BOTTOM`). ``cli`` and ``api``
#: sit on top; the benchmarks live outside the package (``benchmarks/`` of the checkout).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "progress": set(),
    "_words": set(),
    "_malloc": set(),
    "device": set(),
    "config": set(),
    "geometry": {"config"},
    "io": {"config"},
    "metrics": set(),
    "distributions": {"geometry"},
    "layers": {"geometry"},
    "clustering": {"geometry", "config"},
    "data": {"io", "config"},
    "models": {"layers", "distributions", "geometry", "config"},
    "losses": {"geometry", "distributions"},
    "training": {"models", "losses", "data", "io", "config", "geometry"},
    "inference": {"models", "clustering", "io", "config", "data", "geometry", "metrics"},
    "baselines": {"metrics", "io", "data"},
    "plotting": {"geometry", "metrics"},
    "cli": {"*"},
    "api": {"*"},
    # the napari plugin (an optional extra) sits on the API; nothing imports it (see below)
    "napari": {"api", "config", "data", "inference", "io", "models", "plotting", "training"},
}
#: Modules below every layer: each layer may import them, and they import nothing from hypseg.
BOTTOM = {"errors", "progress", "_words", "_malloc"}
#: Third-party packages confined to some layers.
CONFINED = {"geoopt": {"geometry", "training"}}


def _layer_of(path: Path, root: Path = PACKAGE) -> str:
    """``geometry`` for ``hypseg/geometry/math.py``, ``config`` for ``hypseg/config.py``, '' for the top."""
    relative = path.relative_to(root)
    if len(relative.parts) == 1:
        return "" if relative.name == "__init__.py" else relative.stem
    return relative.parts[0]


def _imports(path: Path, root: Path = PACKAGE) -> set[str]:
    """Absolute module names imported anywhere in the file (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package_parts = ("hypseg",) + path.relative_to(root).parent.parts
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package_parts[: len(package_parts) - node.level + 1])
                names.add(f"{base}.{node.module}" if node.module else base)
            else:
                names.add(node.module)
    return names


def _violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        layer = _layer_of(path, root)
        if not layer:
            continue
        allowed = ALLOWED.get(layer, set())
        for name in _imports(path, root):
            top, _, rest = name.partition(".")
            target = rest.split(".")[0]
            importable = allowed | (BOTTOM if layer not in BOTTOM else set())
            if top == "hypseg" and target and target != layer and "*" not in allowed and target not in importable:
                found.append(f"{path.relative_to(root)} imports {name}")
            elif top in CONFINED and layer not in CONFINED[top]:
                found.append(f"{path.relative_to(root)} imports {top}, confined to {sorted(CONFINED[top])}")
    return found


def test_every_layer_is_in_the_table():
    layers = {_layer_of(path) for path in PACKAGE.rglob("*.py")} - {""}
    assert layers <= set(ALLOWED), f"layers missing from the table: {layers - set(ALLOWED)}"


def test_layers_import_downward_only():
    violations = _violations(PACKAGE)
    assert not violations, "\n".join(violations)


def test_nothing_in_the_library_imports_the_command_line():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if _layer_of(path) not in ("cli", "") and any(n.startswith("hypseg.cli") for n in _imports(path))
    ]
    assert not offenders


def test_nothing_in_the_package_imports_the_napari_plugin():
    """napari loads ``hypseg.napari`` through its manifest; the rest of hypseg never does (it is an extra)."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if _layer_of(path) != "napari" and any(n.startswith("hypseg.napari") for n in _imports(path))
    ]
    assert not offenders


def test_nothing_in_the_package_imports_the_benchmarks():
    """The benchmarks package of the checkout sits outside hypseg; only ``hypseg bench`` loads it, by its path."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(n == "benchmarks" or n.startswith(("benchmarks.", "hypseg.benchmarking")) for n in _imports(path))
    ]
    assert not offenders


def test_the_checker_catches_upward_and_confined_imports(tmp_path):
    """Guard against a layering test that cannot fail: a fake package with three violations."""
    (tmp_path / "geometry").mkdir()
    (tmp_path / "geometry" / "bad.py").write_text("from hypseg.models import HVAE\nfrom ..layers import x\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "worse.py").write_text(
        "import geoopt\nfrom hypseg.io import load_volume\nfrom . import sampler\nfrom hypseg.errors import UserError\n"
    )
    (tmp_path / "errors.py").write_text("from hypseg.config import Config\n")
    assert sorted(_violations(tmp_path)) == [
        "data/worse.py imports geoopt, confined to ['geometry', 'training']",
        "errors.py imports hypseg.config",
        "geometry/bad.py imports hypseg.layers",
        "geometry/bad.py imports hypseg.models",
    ]
