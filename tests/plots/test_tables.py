"""Tables 2-4: the Markdown holds mean ± std over seeds in %, computed here independently."""

import numpy as np

from benign.plots.tables import markdown_table
from tests.plots.synthetic_results import PAPER_GRIDS, SETTINGS


def parse(markdown):
    rows = [line.strip("|").split("|") for line in markdown.splitlines() if line.startswith("|")]
    header, body = rows[0], rows[2:]
    return [h.strip() for h in header], {r[0].strip(): [c.strip() for c in r[1:]] for r in body}


def expected(values):
    values = np.asarray(values, dtype=float)
    return f"{100 * values.mean():.1f} ± {100 * values.std(ddof=1):.1f}"


def test_table3_rows_are_settings_and_initialisation():
    ds = PAPER_GRIDS["table3"]()
    header, rows = parse(markdown_table(ds))
    assert list(rows) == [*SETTINGS, "initialisation"]
    assert header == ["setting", "k-NN accuracy (%)"]
    for i, setting in enumerate(SETTINGS):
        assert rows[setting] == [expected(ds.knn_final.values[i])]
    assert rows["initialisation"] == [expected(ds.knn_init.values.mean(axis=0))]


def test_table2_has_one_column_per_architecture():
    ds = PAPER_GRIDS["table2"]()
    header, rows = parse(markdown_table(ds))
    assert header == ["setting", "resnet18", "vgg11"]
    assert rows["clean+DA"] == [expected(ds.knn_final.values[3, 0]), expected(ds.knn_final.values[3, 1])]


def test_table4_is_linear_probing():
    ds = PAPER_GRIDS["table4"]()
    text = markdown_table(ds)
    assert "linear" in text
    _, rows = parse(text)
    assert rows["random+DA"] == [expected(ds.linear_final.values[1])]
    assert rows["initialisation"] == [expected(ds.linear_init.values.mean(axis=0))]


def test_cells_not_done_are_left_out_and_one_seed_has_no_spread():
    ds = PAPER_GRIDS["table3"]()
    ds["status"][0, :2] = 0
    ds["status"][1, :] = 0
    _, rows = parse(markdown_table(ds))
    assert rows["random"] == [f"{100 * ds.knn_final.values[0, 2]:.1f}"]
    assert rows["random+DA"] == ["–"]
