"""A training cell reproduces to the last digit: a tiny table 2 cell rerun here gives the numbers it
gave when it was stored (float32 on one thread, the kernels of this kind of machine; accuracies are
ratios of counts and must match exactly, losses to float32's last digit). A change to the training
core that moves them changes what every shipped result means: update the numbers only on purpose,
and say so in the commit."""

import pytest
import torch

from benign.grids.presets import preset_dict
from benign.grids.spec import from_dict
from benign.grids.train_cells import run_train_cell

STORED = {  # setting: (train_loss per epoch, k-NN per epoch, training labels fitted per epoch, final linear)
    0: (
        [0.10836518928408623, 0.1076112687587738],
        [0.31, 0.28, 0.34],
        [0.140625, 0.046875, 0.078125],
        0.3,
    ),
    1: (
        [0.10991307348012924, 0.10798152163624763],
        [0.31, 0.3, 0.27],
        [0.140625, 0.046875, 0.078125],
        0.3,
    ),
}


@pytest.mark.parametrize("setting", sorted(STORED))
def test_a_tiny_table2_cell_gives_its_stored_numbers(tmp_path, setting, one_torch_thread):
    assert torch.get_num_threads() == 1
    raw = {**preset_dict("table2", "tiny"), "precision": "float32"}
    spec = from_dict(raw, "table2")
    cell = {"setting": setting, "seed": 0}
    out = run_train_cell(spec.cell_params(cell), cell, str(tmp_path / "cell"))
    loss, knn, fit, linear = STORED[setting]
    assert out["train_loss"][1:].tolist() == pytest.approx(loss, rel=1e-6, abs=0)
    assert out["knn_accuracy"].tolist() == knn
    assert out["train_accuracy"].tolist() == fit
    assert out["linear_final"] == linear and out["knn_final"] == knn[-1]
