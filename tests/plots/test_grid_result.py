"""plots/grid_result.py: what every picture of a grid shares."""

import matplotlib
import numpy as np

from benign.plots.grid_result import relative_luminance, text_colour


def test_numbers_on_heatmap_cells_take_the_contrasting_colour():
    """WCAG: black on light cells, white on dark ones, whichever has the higher contrast ratio."""
    viridis = matplotlib.colormaps["viridis"]
    assert text_colour(viridis(1.0)) == "black" and text_colour(viridis(0.0)) == "white"
    assert text_colour((1, 1, 1)) == "black" and text_colour((0, 0, 0)) == "white"
    for x in np.linspace(0, 1, 21):
        lum = relative_luminance(viridis(x))
        other = 0.0 if text_colour(viridis(x)) == "black" else 1.0
        ratio = (max(lum, other) + 0.05) / (min(lum, other) + 0.05)
        assert ratio >= 4.5  # WCAG AA for the whole colour map
