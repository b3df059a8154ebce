"""Layers point down only: cli -> api -> grids -> empirical -> theory -> probes, plots beside grids,
store at the bottom. Every `benign.X` import of every module (inside functions too) is checked."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAY_IMPORT = {
    "store": set(),
    "probes": {"store"},
    "theory": {"probes", "store"},
    "empirical": {"theory", "probes", "store"},
    "plots": {"theory", "probes", "store"},
    "grids": {"empirical", "plots", "theory", "probes", "store"},
    "api": {"grids", "empirical", "plots", "theory", "probes", "store"},
    "cli": {"api", "grids", "empirical", "plots", "theory", "probes", "store"},
}


def imported_layers(folder: Path) -> dict[str, set[str]]:
    """layer -> the files of `folder` that import it."""
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] if node.module != "benign" else [f"benign.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "benign" and len(parts) > 1:
                    found.setdefault(parts[1], set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_a_layer_imports_only_the_layers_below_it(layer):
    found = imported_layers(ROOT / layer)
    wrong = {
        other: files for other, files in found.items() if other != layer and other not in MAY_IMPORT[layer]
    }
    assert not wrong, f"{layer} may not import {sorted(wrong)}: {wrong}"


def test_every_top_level_package_folder_has_a_layer():
    import tomllib

    dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    assert set(dirs.values()) == set(MAY_IMPORT)
