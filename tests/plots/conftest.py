import pytest

import benign.plots.grid_result


@pytest.fixture(autouse=True)
def small_pictures(monkeypatch):
    """Pictures at low resolution: these tests check what is drawn, not how sharp (saves seconds)."""
    monkeypatch.setattr(benign.plots.grid_result, "DPI", 30)
