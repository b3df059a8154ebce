"""Probes as the authors ran them: the k-NN reference (whole clean split or the training subset),
flattened layer probes streamed over reference batches, and the convolution initialisation."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from benign.empirical.datasets import normalize
from benign.empirical.networks import LAYERS, build_network
from benign.empirical.probing import knn_leave_one_out, streamed_knn
from benign.empirical.training import TrainConfig, build_model, evaluate, prepare_data
from tests.empirical.fixtures import write_mnist_like


def brute_knn_accuracy(ref, ref_labels, queries, query_labels, num_classes, k=20, exclude_self=False):
    """Plain numpy 20-NN: uniform votes, Euclidean distance on L2-normalised rows, ties to the smallest
    class (the authors' probe), by a full sort of the distance matrix."""
    r = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    d = ((q[:, None, :] - r[None, :, :]) ** 2).sum(-1)
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    k = min(k, len(r) - int(exclude_self))
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    votes = np.zeros((len(q), num_classes))
    np.add.at(votes, (np.arange(len(q))[:, None], ref_labels[nearest]), 1)
    return float((votes.argmax(1) == query_labels).mean())


@pytest.fixture(scope="module")
def fmnist(tmp_path_factory):
    root = tmp_path_factory.mktemp("probing")
    write_mnist_like(root, "FashionMNIST", n_train=120, n_test=40)
    return root


def _cfg(root, **kw):
    base = dict(
        data_root=str(root),
        subset=30,
        arch="small_cnn",
        cnn_width=4,
        projector_width=16,
        device="cpu",
        augment="none",
    )
    return TrainConfig(**{**base, **kw})


def _embed(model, images, stats, name="embedding", pool="flatten"):
    model.eval()
    with torch.no_grad():
        return model.features(normalize(images, stats), (name,), pool=pool)[name].double().numpy()


@pytest.mark.parametrize("reference", ["full", "subset"])
def test_reference_of_the_knn_probe(fmnist, reference):
    """evaluate's k-NN is a brute-force 20-NN fitted on the whole clean split (full) or the 30 training
    images (subset) with their true labels, scored on the test set."""
    cfg = _cfg(fmnist, probe_reference=reference)
    data = prepare_data(cfg, "cpu")
    model = build_model(cfg, data, "cpu")
    ref = data.probe_reference
    assert len(ref) == (120 if reference == "full" else 30)
    assert torch.equal(ref.labels, data.train.labels) == (reference == "subset")
    got = evaluate(model, data, k=20)["knn_accuracy"]
    want = brute_knn_accuracy(
        _embed(model, ref.images, data.train),
        ref.labels.numpy(),
        _embed(model, data.test.images, data.train),
        data.test.labels.numpy(),
        10,
    )
    assert got == pytest.approx(want, abs=1e-12)


def test_full_and_subset_references_differ_and_keep_train_accuracy(fmnist):
    """The training accuracy (the random labels on clean images) does not depend on the reference."""
    runs = {}
    for reference in ("full", "subset"):
        cfg = _cfg(fmnist, probe_reference=reference, subset=40, labels="random")
        data = prepare_data(cfg, "cpu")
        runs[reference] = evaluate(build_model(cfg, data, "cpu"), data, k=5)
    assert runs["full"]["train_accuracy"] == runs["subset"]["train_accuracy"]


@pytest.mark.parametrize("pool", ["flatten", "avg"])
def test_streamed_layer_probes_equal_brute_force(fmnist, pool):
    """Every layer, flattened or pooled, streamed in batches of 7 reference images and chunks of a few
    queries, equals a brute-force 20-NN on the materialised features; leave-one-out likewise."""
    cfg = _cfg(fmnist)
    data = prepare_data(cfg, "cpu")
    model = build_model(cfg, data, "cpu")
    ref, test = data.probe_reference, data.test
    got = streamed_knn(
        model, ref.images, ref.labels, test.images, test.labels, data.train, LAYERS, 10,
        pool=pool, batch_size=7, max_query_bytes=20_000,
    )  # fmt: skip
    loo = streamed_knn(
        model, data.train.images, data.labels, data.train.images, data.labels, data.train, LAYERS,
        data.label_width, pool=pool, batch_size=8, exclude_self=True,
    )  # fmt: skip
    for name in LAYERS:
        r, q = (
            _embed(model, ref.images, data.train, name, pool),
            _embed(model, test.images, data.train, name, pool),
        )
        if pool == "flatten" and name.startswith("layer"):
            assert r.shape[1] > 4 * cfg.cnn_width  # a flattened map, not a pooled vector
        want = brute_knn_accuracy(r, ref.labels.numpy(), q, test.labels.numpy(), 10)
        assert got[name] == pytest.approx(want, abs=1e-12), name
        t = _embed(model, data.train.images, data.train, name, pool)
        want_loo = brute_knn_accuracy(t, data.labels.numpy(), t, data.labels.numpy(), 10, exclude_self=True)
        assert loo[name] == pytest.approx(want_loo, abs=1e-12), name
        assert loo[name] == pytest.approx(knn_leave_one_out(torch.from_numpy(t), data.labels, 10), abs=1e-12)


@given(
    n_ref=st.integers(2, 40),
    n_q=st.integers(1, 20),
    k=st.integers(1, 25),
    batch=st.integers(1, 16),
    seed=st.integers(0, 2**16),
)
def test_streamed_topk_merge_is_the_whole_matrix_knn(n_ref, n_q, k, batch, seed):
    """The running top-k merge over reference batches equals the k-NN of the whole matrix (an identity
    network on flat inputs, so the features are the inputs)."""

    class Flat(torch.nn.Module):
        def features(self, x, names, pool="flatten"):
            return {n: x.flatten(1).double() for n in names}

    class Stats:
        mean, std = (0.0,), (1.0,)

    g = torch.Generator().manual_seed(seed)
    ref = torch.randn(n_ref, 1, 2, 3, generator=g, dtype=torch.float64)
    q = torch.randn(n_q, 1, 2, 3, generator=g, dtype=torch.float64)
    rl, ql = torch.randint(0, 3, (n_ref,), generator=g), torch.randint(0, 3, (n_q,), generator=g)
    got = streamed_knn(Flat(), ref, rl, q, ql, Stats, ("x",), 3, k=k, batch_size=batch, max_query_bytes=100)
    want = brute_knn_accuracy(ref.flatten(1).numpy(), rl.numpy(), q.flatten(1).numpy(), ql.numpy(), 3, k=k)
    assert got["x"] == pytest.approx(want, abs=1e-12)


def _conv_stds(net):
    out = []
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d) and m.weight.numel() >= 20_000:
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            out.append((m.weight.std().item(), m.weight.mean().item(), fan_in, fan_out, m.weight.numel()))
    return out


def test_authors_init_is_kaiming_normal_fan_out():
    """std of every conv weight = sqrt(2 / fan_out) (within 4 standard errors of a sample std), mean 0,
    normal (kurtosis 3); PyTorch's default: uniform with std sqrt(1 / (3 fan_in))."""
    torch.manual_seed(0)
    authors = build_network("resnet18", 10, 3, 16, init="authors")
    stds = _conv_stds(authors)
    assert len(stds) >= 10
    for std, mean, _fan_in, fan_out, n in stds:
        want = math.sqrt(2 / fan_out)
        assert abs(std - want) < 4 * want / math.sqrt(2 * n) + 1e-4 * want
        assert abs(mean) < 4 * want / math.sqrt(n)
    w = authors.layer4[0].conv1.weight.detach().flatten().double()
    kurtosis = ((w - w.mean()) ** 4).mean() / w.var() ** 2
    assert kurtosis.item() == pytest.approx(3.0, abs=0.05)
    torch.manual_seed(0)
    for std, _mean, fan_in, _fan_out, n in _conv_stds(build_network("resnet18", 10, 3, 16, init="pytorch")):
        want = math.sqrt(1 / (3 * fan_in))
        assert abs(std - want) < 4 * want / math.sqrt(n) + 1e-4 * want


def test_init_option_reaches_the_model_and_is_checked(fmnist):
    cfg = _cfg(fmnist, init="authors")
    data = prepare_data(cfg, "cpu")
    a = build_model(cfg, data, "cpu")
    b = build_model(_cfg(fmnist, init="pytorch"), data, "cpu")
    conv_a, conv_b = a.layer3[0].weight, b.layer3[0].weight
    fan_out = conv_a.shape[0] * 9
    assert conv_a.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.15)
    assert conv_b.std().item() < 0.8 * conv_a.std().item()
    for bad in (dict(init="xavier"), dict(probe_reference="test"), dict(probe_pool="max")):
        with pytest.raises(ValueError):
            _cfg(fmnist, **bad).validate()


@pytest.mark.parametrize("reference,pool", [("full", "flatten"), ("subset", "avg")])
def test_probe_checkpoint_uses_the_reference_and_pool_asked_for(fmnist, tmp_path, reference, pool):
    """`benign probe`'s engine: the embedding's k-NN probe is the learning curve's under the same
    reference, and the layer maps are flattened or pooled as asked."""
    from benign.empirical.probing import probe_checkpoint
    from benign.empirical.training import train

    cfg = _cfg(fmnist, steps=2, out=str(tmp_path / "run"), probe_reference=reference)
    res = train(cfg, resume=False)
    ds = probe_checkpoint(tmp_path / "run", device="cpu", k=20, linear=False, reference=reference, pool=pool)
    emb = list(ds.layer_name.values).index("embedding")
    assert ds.knn_clean.values[emb] == pytest.approx(res["history"][-1]["knn_accuracy"], abs=1e-12)
    assert ds.knn_clean_init.values[emb] == pytest.approx(res["history"][0]["knn_accuracy"], abs=1e-12)
    assert ("whole training split" in ds.knn_clean.attrs["long_name"]) == (reference == "full")
    assert pool in ds.knn_clean.attrs["long_name"]
    with pytest.raises(ValueError, match="probe pool"):
        probe_checkpoint(tmp_path / "run", device="cpu", linear=False, pool="max")
