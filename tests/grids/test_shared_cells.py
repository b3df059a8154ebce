"""A training cell's key names exactly what decides its results: noise 0 / 1 are the clean / random
labels, and a change of anything trained or probed is another cell; where it runs is not."""

import numpy as np

from benign.grids import spec as grid_spec
from benign.grids.shared_cells import canonical_labels, cell_key, load_cell, save_cell


def params(**over) -> dict:
    spec = grid_spec.preset("table2", "tiny")
    return {**spec.cell_params({"setting": 2}), **over}  # the clean setting


def test_noise_0_and_1_are_the_clean_and_random_cells():
    assert canonical_labels("noise:0") == "clean" and canonical_labels("noise:1") == "random"
    assert canonical_labels("noise:0.5") == "noise:0.5" and canonical_labels("classes:3") == "classes:3"
    clean = cell_key(params(), 0)
    assert cell_key(params(labels="random", label_noise=0.0), 0) == clean
    assert cell_key(params(label_noise=1.0), 0) == cell_key(params(labels="random"), 0)
    assert cell_key(params(label_noise=0.5), 0) != clean


def test_as_many_random_classes_as_the_dataset_has_are_the_random_labels():
    """Figure 9's 10-class cells on Fashion-MNIST are table 2's random-label cells: the same labels."""
    from benign.empirical.labels import make_labels

    assert canonical_labels("classes:10", 10) == "random" and canonical_labels("classes:5", 10) == "classes:5"
    assert cell_key(params(label_classes=10), 0) == cell_key(params(labels="random"), 0)
    assert cell_key(params(label_classes=5), 0) != cell_key(params(labels="random"), 0)
    clean = np.arange(40) % 10
    import torch

    same = (
        make_labels(torch.from_numpy(clean), "classes:10", 10, 3),
        make_labels(torch.from_numpy(clean), "random", 10, 3),
    )
    assert torch.equal(*same)


def test_what_is_trained_or_probed_changes_the_key_and_where_it_runs_does_not():
    clean = cell_key(params(), 0)
    for other in (
        cell_key(params(), 1),
        cell_key(params(lr=1e-2), 0),
        cell_key(params(eval_every=0), 0),  # another learning curve
        cell_key(params(linear_probe=False), 0),
        cell_key(params(epochs=0, steps=5, eval_every=0), 0),
    ):
        assert other != clean
    assert cell_key(params(data_root="/elsewhere", download=True, checkpoint_every=7), 0) == clean


def test_a_cell_round_trips(tmp_path):
    results = {"knn_final": 0.5, "knn_accuracy": np.array([0.1, np.nan]), "bank_fit": 1.0}
    save_cell(tmp_path, "k", results)
    back = load_cell(tmp_path, "k")
    assert back["knn_final"] == 0.5 and isinstance(back["knn_final"], float)
    np.testing.assert_array_equal(back["knn_accuracy"], results["knn_accuracy"])
    assert load_cell(tmp_path, "other") is None and not list(tmp_path.glob("*.tmp"))
