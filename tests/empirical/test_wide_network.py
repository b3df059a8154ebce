"""The wide network (N copies as grouped convolutions) equals N single networks: features, training
steps (parameters, batch-norm buffers and losses, float64), and the evaluation of every copy."""

import dataclasses

import pytest
import torch

from benign.empirical.augment import parse_augmentation
from benign.empirical.networks import LAYERS, build_network
from benign.empirical.training import (
    TrainConfig,
    build_model,
    epoch_batches,
    evaluate,
    load_checkpoint,
    make_batch,
    prepare_data,
    train,
)
from benign.empirical.wide_network import WideNetwork
from benign.empirical.wide_training import _loss, check_shared, memorised_share, train_wide, wide_evaluate
from tests.empirical.fixtures import write_mnist_like

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def fmnist(tmp_path_factory):
    root = tmp_path_factory.mktemp("wide")
    write_mnist_like(root, "FashionMNIST", n_train=80, n_test=30)
    return root


def _cfgs(root, **kw):
    base = dict(
        data_root=str(root),
        subset=20,
        arch="small_cnn",
        cnn_width=4,
        projector_width=16,
        batch_size=8,
        steps=5,  # 3 steps an epoch (the last batch of 4): crosses an epoch
        device="cpu",
        lr=1e-2,
    )
    runs = [
        dict(seed=0, label_seed=0, labels="random", augment="simclr"),
        dict(seed=1, label_seed=5, labels="clean", augment="none", mixup="xy"),
        dict(seed=2, label_seed=2, labels="noise:0.5", augment="simclr", bank=3, bank_labels="random"),
    ]
    return [TrainConfig(**{**base, **r, **kw}) for r in runs]


def _single(cfg, steps, dtype):
    """The step of empirical.training.train, for one run alone."""
    data = prepare_data(cfg, "cpu")
    model = build_model(cfg, data, "cpu").to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
    aug = parse_augmentation(cfg.augment)
    spe = len(epoch_batches(len(data.train), cfg.batch_size, cfg.seed, 0, "cpu"))
    losses = []
    model.train()
    for step in range(steps):
        epoch, pos = divmod(step, spe)
        batch = epoch_batches(len(data.train), cfg.batch_size, cfg.seed, epoch, "cpu")[pos]
        x, t = make_batch(cfg, data, aug, batch, step, "cpu")
        loss = _loss(cfg.loss, model(x.to(dtype)), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, torch.tensor(losses, dtype=torch.float64)


def _assert_same(a: torch.nn.Module, b: torch.nn.Module, rtol, atol):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.allclose(sa[k].double(), sb[k].double(), rtol=rtol, atol=atol), k


def test_wide_training_equals_single_runs_float64(fmnist):
    cfgs = _cfgs(fmnist)
    run = train_wide(cfgs, dtype=torch.float64)
    assert run.step == 5 and run.losses.shape == (5, 3)
    for i, cfg in enumerate(cfgs):
        model, losses = _single(cfg, 5, torch.float64)
        assert torch.allclose(run.losses[:, i].double(), losses, rtol=1e-10, atol=1e-12)
        _assert_same(run.network(i), model, rtol=1e-9, atol=1e-11)
    # the copies really trained apart: different parameters after the same number of steps
    assert not torch.allclose(run.network(0).layer1[0].weight, run.network(1).layer1[0].weight)


def test_wide_training_equals_benign_train_float32(fmnist, tmp_path):
    """Against `empirical.training.train` itself (float32, so float tolerance)."""
    cfgs = _cfgs(fmnist, steps=3)
    run = train_wide(cfgs)
    for i, cfg in enumerate(cfgs):
        res = train(dataclasses.replace(cfg, out=str(tmp_path / f"r{i}")), resume=False)
        model = build_model(cfg, res["data"], "cpu")
        model.load_state_dict(load_checkpoint(res["checkpoint"])["model"])
        _assert_same(run.network(i), model, rtol=1e-3, atol=1e-4)  # Adam steps are lr = 1e-2


@pytest.mark.parametrize("pool", ["flatten", "avg"])
def test_wide_features_are_the_copies_features(pool):
    nets = []
    for s in range(3):
        torch.manual_seed(s)
        nets.append(build_network("resnet18", 5, 3, 12, init="authors").double().eval())
    wide = WideNetwork(nets).double().eval()
    x = torch.randn(4, 3, 3, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        own = wide.features(x, LAYERS, pool=pool)
        shared = wide.features(x[:, 0], LAYERS, pool=pool)
        for n, net in enumerate(nets):
            f, g = net.features(x[:, n], LAYERS, pool=pool), net.features(x[:, 0], LAYERS, pool=pool)
            for name in LAYERS:
                assert torch.allclose(own[name][:, n], f[name], rtol=1e-9, atol=1e-11), name
                assert torch.allclose(shared[name][:, n], g[name], rtol=1e-9, atol=1e-11), name
        assert torch.allclose(wide(x)[:, 1], nets[1](x[:, 1]), rtol=1e-9, atol=1e-11)


def test_wide_evaluation_and_memorisation(fmnist):
    cfgs = _cfgs(fmnist, steps=2)
    run = train_wide(cfgs)
    rows = wide_evaluate(run, k=5)
    for i in range(3):
        single = evaluate(run.network(i), run.data[i], k=5)
        assert rows[i]["train_accuracy"] == pytest.approx(single["train_accuracy"], abs=1e-12)
        assert rows[i]["knn_accuracy"] == pytest.approx(single["knn_accuracy"], abs=0.04)
    same_bank = [dataclasses.replace(c, bank=2, bank_labels="image") for c in cfgs]
    share = memorised_share(train_wide(same_bank), same_bank)
    assert share.shape == (3,) and bool(((share >= 0) & (share <= 1)).all())


def test_runs_that_cannot_share_a_network(fmnist):
    a, b, _ = _cfgs(fmnist)
    with pytest.raises(ValueError, match="subset"):
        check_shared([a, dataclasses.replace(b, subset=30)])
    with pytest.raises(ValueError, match="label classes"):
        train_wide([a, dataclasses.replace(b, labels="classes:3")])
