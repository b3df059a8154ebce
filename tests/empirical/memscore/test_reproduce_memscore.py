"""A turn-over dropout run reproduces to the last digit: a tiny run of each model (synthetic data, one
thread, float32) gives the numbers it gave when they were stored. Accuracies are ratios of counts and
must match exactly; losses, scores and gradient cosines to float32's last digits. These pin the
memscore loop before it moves onto the training core: update them only on purpose, and say so in the
commit."""

import pytest
import torch

from benign.empirical.memscore.experiment import RunConfig, run

TINY = dict(
    dataset="synthetic", n_train=120, n_test=30, corrupt_fraction=0.25, epochs=2, batch_size=32,
    grad_every=2, grad_chunk=8, influence_targets=3, show=2, device="cpu",
)  # fmt: skip
MODELS = {"mlp": dict(hidden=32, lr=0.1), "vgg11": dict(width=0.125, momentum=0.9, lr=0.01)}
STORED = {  # model: (train_loss per epoch, accuracy seen / muted / test per epoch, score sum, first cosines)
    "mlp": (
        [1.3728851477305095, 1.1277315378189088],
        [0.2833333333333333, 0.625, 0.6833333333333333],
        [0.2833333333333333, 0.5, 0.5666666666666667],
        [0.2666666805744171, 0.7666666507720947, 0.8333333134651184],
        26.91331347823143,
        [0.044370077550411224, 0.03539149463176727, 0.037110812962055206],
    ),
    "vgg11": (
        [1.3859995206197102, 1.3852244059244792],
        [0.2833333333333333, 0.30833333333333335, 0.3333333333333333],
        [0.20833333333333334, 0.21666666666666667, 0.225],
        [0.2666666805744171, 0.4333333373069763, 0.4333333373069763],
        0.4391978979110718,
        [0.005334561690688133, -0.001279378542676568, -0.0016059699701145291],
    ),
}


@pytest.mark.parametrize("model", sorted(STORED))
def test_a_tiny_memscore_run_gives_its_stored_numbers(model, one_torch_thread):
    assert torch.get_num_threads() == 1
    ds = run(RunConfig(model=model, **TINY, **MODELS[model]), log=lambda *a, **k: None)
    loss, seen, muted, test, score, cosine = STORED[model]
    assert ds["train_loss"].values[1:].tolist() == pytest.approx(loss, rel=1e-6, abs=0)
    assert ds["accuracy_seen"].values.tolist() == seen
    assert ds["accuracy_muted"].values.tolist() == muted
    assert ds["test_accuracy"].values.tolist() == test
    assert float(ds["score"].astype("float64").sum()) == pytest.approx(score, rel=1e-5)
    assert ds["cosine_easy"].values.tolist()[:3] == pytest.approx(cosine, rel=1e-4, abs=1e-6)
