"""Layer-wise probing of a trained checkpoint and of the same network at initialisation (figure 4, tables 1, 4).

For every named representation (layer1..layer4, embedding, projector_hidden, output):
  knn_clean   K-NN fitted on clean training embeddings with clean labels, scored on the clean test set;
  knn_noisy   K-NN with the training labels (random): leave-one-out on the training set, each image
              predicted by the training labels of its K nearest *other* training images. High only
              where the representation groups images by their random label (the projector, fig. 4);
  linear      a linear probe (theory.probes.LinearProbe) on clean labels, test accuracy;
  invariance  mean normalized invariance I (eq. 2) under the run's augmentation on training images.
The same four at initialisation (rebuilt from the run's seed) end in `_init`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import xarray as xr

from empirical.augment import Augmentation, parse_augmentation
from empirical.datasets import normalize
from empirical.networks import LAYERS
from empirical.training import (
    build_model,
    config_from_checkpoint,
    embed_all,
    load_checkpoint,
    prepare_data,
    resolve_device,
)
from store.provenance import provenance_attrs
from theory.invariance import normalized_invariance
from theory.probes import LinearProbe, knn_accuracy


def knn_leave_one_out(features: torch.Tensor, labels: torch.Tensor, num_classes: int, k: int = 20) -> float:
    """Accuracy of predicting each row's label from its k nearest other rows (theory.probes, uniform
    votes on L2-normalised features, the row itself excluded)."""
    x = features.float()
    return knn_accuracy(x, labels, x, labels, num_classes, k=k, exclude_self=True)


def probe_model(
    model,
    data,
    aug: Augmentation,
    layers=LAYERS,
    k: int = 20,
    linear: bool = True,
    invariance_images: int = 256,
    pairs: int = 4,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    model.eval()
    tr = embed_all(model, data.train.images, data.train, layers)
    te = embed_all(model, data.test.images, data.train, layers)
    out = {key: np.full(len(layers), np.nan) for key in ("knn_clean", "knn_noisy", "linear", "invariance")}
    inv_aug = aug if not aug.is_identity else parse_augmentation("simclr")
    g = torch.Generator(device=data.train.images.device)
    x_inv = data.train.images[: min(invariance_images, len(data.train))]
    for i, name in enumerate(layers):
        out["knn_clean"][i] = knn_accuracy(
            tr[name], data.train.labels, te[name], data.test.labels, data.train.num_classes, k=k
        )
        out["knn_noisy"][i] = knn_leave_one_out(tr[name], data.labels, data.label_width, k=k)
        if linear:
            probe = LinearProbe(data.train.num_classes, max_iter=100).fit(tr[name], data.train.labels)
            out["linear"][i] = probe.score(te[name], data.test.labels)
        g.manual_seed(seed)
        with torch.no_grad():
            q = lambda x, name=name: model.features(normalize(x, data.train), (name,))[name]
            inv = normalized_invariance(q, x_inv, lambda x: aug_float(inv_aug, x, g), pairs=pairs)
        out["invariance"][i] = float(inv.double().nanmean())
    return out


def aug_float(aug: Augmentation, x, g):
    return aug(x, generator=g)


def probe_checkpoint(
    path, device="auto", k: int = 20, linear: bool = True, data_root=None, invariance_images: int = 256
) -> xr.Dataset:
    if k < 1 or invariance_images < 2:
        raise ValueError(f"k must be >= 1 and invariance_images >= 2, got {k} and {invariance_images}")
    ckpt = load_checkpoint(path)
    cfg = config_from_checkpoint(ckpt)
    if data_root is not None:
        cfg = dataclasses.replace(cfg, data_root=data_root)
    dev = resolve_device(device)
    data = prepare_data(cfg, dev)
    if not torch.equal(ckpt["labels"].to(dev), data.labels):
        raise ValueError(f"{path}: the training labels rebuilt from its config differ from the saved ones")
    data.labels = ckpt["labels"].to(dev)
    aug = parse_augmentation(cfg.augment)
    init = build_model(cfg, data, dev)
    trained = build_model(cfg, data, dev)
    try:
        trained.load_state_dict(ckpt["model"])
    except RuntimeError:
        raise ValueError(f"{path} holds weights that do not fit a {cfg.arch} for {cfg.dataset}") from None
    kw = dict(k=k, linear=linear, invariance_images=invariance_images, seed=cfg.seed)
    res = probe_model(trained, data, aug, **kw)
    res_init = probe_model(init, data, aug, **kw)
    meta = {
        "knn_clean": (f"{k}-NN probe, clean training labels, clean test accuracy", "1"),
        "knn_noisy": (f"{k}-NN probe, training (random) labels, leave-one-out training accuracy", "1"),
        "linear": ("linear probe (logistic regression), clean test accuracy", "1"),
        "invariance": ("mean normalized invariance I (eq. 2) under the run's augmentation", "1"),
    }
    data_vars = {}
    for key, (long_name, units) in meta.items():
        data_vars[key] = xr.Variable("layer", res[key], {"long_name": long_name, "units": units})
        data_vars[f"{key}_init"] = xr.Variable(
            "layer", res_init[key], {"long_name": long_name + ", at initialisation", "units": units}
        )
    ds = xr.Dataset(
        data_vars,
        coords={"layer": np.arange(len(LAYERS)), "layer_name": ("layer", np.array(LAYERS, dtype=object))},
    )
    ds["layer"].attrs = {"long_name": "probed representation (see layer_name)", "units": "1"}
    ds.attrs = provenance_attrs(
        "layer-wise probing", {**dataclasses.asdict(cfg), "probe_k": k, "checkpoint_step": ckpt["step"]}
    )
    return ds
