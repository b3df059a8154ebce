"""Feldman-Zhang scores as a grid on the engine: cells are models on random halves of one pool with
injected wrong labels; collect adds every example's score (preset fz)."""

import dataclasses

import numpy as np
import pytest
import torch

import benign
from benign.empirical.training import TrainConfig, prepare_data
from benign.grids.presets import preset_dict
from benign.plots.auto import pick_kinds, plot_result

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_share_of_the_pool_is_trained_on_and_the_pool_is_kept_whole():
    cfg = TrainConfig(subset=40, test_subset=20, labels="noise:0.25", train_share=0.5, device="cpu")
    halves = []
    for seed in (0, 1):
        data = prepare_data(dataclasses.replace(cfg, seed=seed), "cpu")
        assert len(data.train) == 20 and len(data.pool) == 40 and int(data.in_training.sum()) == 20
        torch.testing.assert_close(data.labels, data.pool_labels[data.in_training])
        torch.testing.assert_close(data.train_index, data.pool_index[data.in_training])
        halves.append(data.in_training)
    assert not torch.equal(*halves)  # the seed draws the half; the pool and its labels stay
    with pytest.raises(ValueError, match="train share"):
        dataclasses.replace(cfg, train_share=0.0).validate()


def test_the_fz_preset_scores_every_example_of_the_pool(tmp_path):
    raw = preset_dict("fz", "tiny")
    ds = benign.grid(raw, tmp_path / "fz", workers=0)
    n = raw["subset"]
    assert ds.sizes["example"] == n and ds.sizes["seed"] == raw["seeds"]
    assert ds["fz_score"].dims == ("example",) and ds["fz_stderr"].dims == ("example",)
    inside = ds["in_training"].values
    assert np.all(inside.sum(1) == n // 2)
    # one pool: the same examples and wrong labels in every model
    assert np.all(ds["example_index"].values == ds["example_index"].values[0])
    assert np.all(ds["example_mislabelled"].values == ds["example_mislabelled"].values[0])
    assert ds["example_mislabelled"].values[0].sum() > 0
    both = (inside > 0.5).any(0) & (inside < 0.5).any(0)
    assert np.isfinite(ds["fz_score"].values[both]).all() and np.isnan(ds["fz_score"].values[~both]).all()
    assert pick_kinds(ds)[0] == "scores"
    path = plot_result(ds, tmp_path / "fz.png")[0]
    assert path.stat().st_size > 10_000


def test_the_sslmem_preset_trains_simclr_models_and_scores_the_injected_outliers(tmp_path):
    raw = preset_dict("sslmem", "tiny")
    ds = benign.grid(raw, tmp_path / "ssl", workers=0)
    n = raw["subset"]
    outlier = ds["example_outlier"].values
    assert np.all(outlier == outlier[0]) and outlier[0].sum() == round(0.05 * n)
    assert ds["sslmem_score"].dims == ("example",) and "fz_score" not in ds  # no labels predicted
    assert np.isnan(ds["train_accuracy_final"].values).all()  # a contrastive head fits no labels
    assert np.all(ds["example_alignment"].values >= 0) and np.all(ds["example_alignment"].values <= 4)
    # LayerMem: the same estimator at every layer of the layer axis; at the embedding it is SSLMem
    assert ds["layermem_score"].dims == ("example", "layer")
    names = list(ds["layer_name"].values)
    assert names == ["layer1", "layer2", "layer3", "layer4", "embedding", "projector_hidden", "output"]
    at_embedding = ds["layermem_score"].isel(layer=names.index("embedding"))
    np.testing.assert_allclose(at_embedding.values, ds["sslmem_score"].values)
    # UnitMem: every live unit of a layer selects one of the cell's training examples, the top decile
    # of them by UnitMem ceil(10%); held-out examples none; the output (negative activations) no UnitMem
    units, top = (
        ds[v].transpose("seed", "example", "layer").values
        for v in ("example_layer_units", "example_layer_top_units")
    )
    held_out = ds["in_training"].values < 0.5
    assert np.isnan(units[..., names.index("output")]).all()
    encoder = [names.index(n) for n in ("layer1", "layer2", "layer3", "layer4")]
    assert (units[held_out][:, encoder] == 0).all() and (top[held_out][:, encoder] == 0).all()
    live = units[..., encoder].sum(1)  # (seed, layer): at most the layer's width
    np.testing.assert_array_equal(top[..., encoder].sum(1), -(-live // 10))
    assert pick_kinds(ds) == ("scores", "layermem", "unitsel")
    paths = plot_result(ds, tmp_path / "ssl.png")
    assert [p.name for p in paths] == ["ssl.png", "ssl-layermem.png", "ssl-unitsel.png"]
    assert all(p.is_file() for p in paths)


def test_outliers_replace_a_share_of_the_subset_by_another_datasets_images(tmp_path):
    cfg = TrainConfig(subset=40, test_subset=20, outliers=0.25, device="cpu")
    data = prepare_data(cfg, "cpu")
    clean = prepare_data(dataclasses.replace(cfg, outliers=0.0), "cpu")
    assert int(data.outlier.sum()) == 10
    changed = (data.train.images != clean.train.images).flatten(1).any(1)
    assert torch.equal(changed, data.outlier)
    torch.testing.assert_close(data.labels, clean.labels)  # the labels stay
    small = tmp_path / "small.npz"
    x, y = np.zeros((4, 8, 8), np.uint8), np.array([0, 1, 0, 1])
    np.savez(small, x_train=x, y_train=y, x_test=x, y_test=y)
    with pytest.raises(ValueError, match=r"outlier images of npz:.* are \(1, 8, 8\)"):
        prepare_data(dataclasses.replace(cfg, outlier_dataset=f"npz:{small}"), "cpu")
