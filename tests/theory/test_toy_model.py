import pytest
import torch

from benign.theory.gaussian_mixture import PROBE, TRAIN, GaussianMixture
from benign.theory.toy_grid import ProbeSetup, run_toy_cells
from benign.theory.toy_model import BatchedToy, ToyTraining

MX = GaussianMixture(C=5, d=12, d1=4)


def test_points_are_nested_in_n_and_banks_nested_in_B():
    x10, z10 = MX.points(0, torch.arange(10))
    x5, z5 = MX.points(0, torch.arange(5))
    assert torch.equal(x10[:5], x5) and torch.equal(z10[:5], z5)
    a = MX.augmentation_bank(0, 70, 130)
    b = MX.augmentation_bank(0, 5, 4)
    assert torch.equal(a[:5, :4], b)
    assert (a[:, 0] == 0).all() and a[:, 1:].std() > 0.9  # augmentation 0 is the identity
    assert not torch.equal(MX.augmentation_bank(1, 5, 4), b)
    flat = a[:, 1:].reshape(-1, a.shape[-1])
    assert torch.unique(flat, dim=0).shape[0] == flat.shape[0]  # no two augmentations alike
    assert not torch.equal(MX.points(0, torch.arange(5), PROBE)[0], x5)


def test_mixture_statistics_follow_appendix_e():
    x, z = MX.points(1, torch.arange(40_000), dtype=torch.float64)
    mu = MX.centres(torch.tensor(1)).double()
    signal = x[:, :4] - mu[z]
    assert abs(signal.var() - MX.sigma**2 / 10) < 0.01  # Sigma1 = sigma^2 / 10
    assert abs(x[:, 4:].var() - MX.sigma**2) < 0.03  # Sigma2 = sigma^2
    assert abs(x[:, 4:].mean()) < 0.02
    counts = torch.bincount(z, minlength=5) / 40_000
    assert (counts - 0.2).abs().max() < 0.01
    aug = MX.augment(x, torch.Generator().manual_seed(0)) - x
    assert (aug[:, :4] == 0).all() and abs(aug[:, 4:].var() - 1) < 0.03  # Sigma3 = sigma^2, signal untouched


def test_random_labels_noise_and_classes():
    idx = torch.arange(5000)
    clean = MX.classes(0, idx, TRAIN)
    assert torch.equal(MX.random_labels(0, idx, noise=0.0), clean)
    lab = MX.random_labels(0, idx, noise=1.0)
    assert 0.15 < (lab == clean).double().mean() < 0.25  # uniform labels agree with the class 1/C of the time
    half = MX.random_labels(0, idx, noise=0.5)
    assert 0.55 < (half == clean).double().mean() < 0.65
    assert MX.random_labels(0, idx, num_labels=1000).max() > 900  # C' may exceed C


def test_invalid_mixture_is_refused():
    with pytest.raises(ValueError):
        GaussianMixture(d=4, d1=4)
    with pytest.raises(ValueError):
        BatchedToy(MX, ToyTraining(steps=1)).fit([0], [1], [0])


def test_batched_training_equals_one_cell_at_a_time():
    tr = ToyTraining(K=8, steps=40, lr=0.02, batch_size=32, train_prototypes=True)
    cells = [(5, 1, 0), (9, 4, 1), (3, 16, 2)]
    n, B, s = zip(*cells)
    batched = BatchedToy(MX, tr, dtype=torch.float64).fit(n, B, s)
    for m, c in enumerate(cells):
        alone = BatchedToy(MX, tr, dtype=torch.float64).fit(*([v] for v in c))
        torch.testing.assert_close(batched.W_[m], alone.W_[0], rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(batched.V_[m], alone.V_[0], rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(
            batched.loss_curve_[:, m], alone.loss_curve_[:, 0].float(), rtol=1e-6, atol=1e-7
        )


def test_augmentation_zero_is_the_identity_and_minibatches_stay_in_the_cell():
    toy = BatchedToy(MX, ToyTraining(K=8, steps=0, batch_size=64)).fit([4, 6], [1, 3], [0, 0])
    x, _ = toy.batch(0)
    clean = toy.x_train_
    # B = 1: every row of cell 0 is one of its 4 clean points.
    assert all(any(torch.equal(row, clean[0, i]) for i in range(4)) for row in x[0])
    # Cell 1 uses only its first 6 points (signal coordinates are never augmented).
    signal = x[1, :, :4]
    assert all(any(torch.equal(row, clean[1, i, :4]) for i in range(6)) for row in signal)


def test_small_cell_is_memorised_and_large_B_learns_invariance():
    tr = ToyTraining(K=16, steps=400)
    toy = BatchedToy(GaussianMixture(), tr).fit([5, 5], [1, 256], [0, 0])
    mem = toy.memorisation()
    assert mem["mem_frac"][0] == 1.0 and mem["aug_mem_frac"][0] == 1.0
    init = toy.noise_energy(initial=True)
    assert abs(init[0] - 36 / 40) < 0.05  # a random W spreads its energy evenly
    after = toy.noise_energy()
    assert after[1] < 0.1 * init[1]  # with 256 augmentations the noise coordinates are dropped


def test_grid_cells_report_every_variable_in_range():
    res = run_toy_cells(
        GaussianMixture(),
        ToyTraining(K=16, steps=50),
        [{"n": 5, "B": 2, "seed": 0}, {"n": 8, "B": 1, "seed": 1}],
        ProbeSetup(n_probe=100, n_test=100),
    )
    for r in res:
        assert set(r) == {
            "knn_acc",
            "knn_acc_init",
            "mem_frac",
            "aug_mem_frac",
            "final_loss",
            "noise_energy",
            "invariance",
        }
        assert all(
            0 <= r[k] <= 1 for k in ("knn_acc", "knn_acc_init", "mem_frac", "aug_mem_frac", "noise_energy")
        )
        assert r["final_loss"] >= 0 and r["invariance"] >= 0


def test_a_cells_results_do_not_depend_on_its_batch_mates():
    mx, tr, probe = GaussianMixture(), ToyTraining(K=16, steps=30), ProbeSetup(n_probe=80, n_test=80)
    cell = {"n": 6, "B": 3, "seed": 1}
    alone = run_toy_cells(mx, tr, [cell], probe)[0]
    together = run_toy_cells(mx, tr, [{"n": 4, "B": 2, "seed": 0}, cell], probe)[1]
    for k in alone:
        assert abs(alone[k] - together[k]) < 1e-5, k


def test_prototype_lr_ratio_scales_the_prototypes_steps_only():
    # Adam's first step moves every parameter by about its learning rate, whatever the gradient's scale
    def first_step(ratio):
        tr = ToyTraining(
            K=8, steps=1, lr=0.01, batch_size=32, train_prototypes=True, prototype_lr_ratio=ratio
        )
        toy = BatchedToy(MX, tr).fit([10], [4], [0])
        V0 = BatchedToy(MX, ToyTraining(K=8, steps=0, train_prototypes=True)).fit([10], [4], [0]).V_
        return (toy.W_ - toy.W_init_).abs().max().item(), (toy.V_ - V0).abs().max().item()

    w1, v1 = first_step(1.0)
    w10, v10 = first_step(10.0)
    assert w10 == pytest.approx(w1) and w1 == pytest.approx(0.01, rel=1e-3)
    assert v1 == pytest.approx(0.01, rel=1e-3) and v10 == pytest.approx(0.1, rel=1e-3)
    with pytest.raises(ValueError, match="prototype_lr_ratio"):
        ToyTraining(prototype_lr_ratio=0.0)
