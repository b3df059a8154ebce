"""Layer-wise probing of a trained checkpoint and of the same network at initialisation (figure 4, tables 1, 4).

For every named representation (layer1..layer4, embedding, projector_hidden, output):
  knn_clean   K-NN fitted on clean embeddings of the reference with true labels, scored on the clean
              test set. The reference is the whole clean training split (the authors' main.py fits its
              20-NN on all 50k CIFAR-10 training images, whatever subset was trained on), or the
              training images with `probe_reference = "subset"`;
  knn_noisy   K-NN with the training labels (random): leave-one-out on the training set, each image
              predicted by the training labels of its K nearest *other* training images. High only
              where the representation groups images by their random label (the projector, fig. 4);
  linear      a linear probe (probes.linear_probe.LinearProbe) fitted on the training images' clean labels,
              test accuracy;
  invariance  mean normalized invariance I (eq. 2) under the run's augmentation on training images;
  unit_mem    mean UnitMem over the layer's units (theory.unit_memorization; Wang et al. 2024, who
              find memorization spread through the encoder where the paper places it in the
              projector): `benign probe` computes it, grids with layer probes do not.
The same at initialisation (rebuilt from the run's seed) end in `_init`.

layer1..layer4 are probed flattened, as the paper says (section 4.2), or average-pooled (`pool="avg"`).
Flattened maps are large (ResNet18's layer1 on CIFAR: 65536 numbers an image, 13 GB for 50k images),
so the k-NN probes never hold the reference's features: `streamed_knn` embeds the reference a batch
at a time and merges each batch's neighbours into a running top-k per query (the same neighbours as
probes.knn_probe.knn_predict on the whole matrix); queries are embedded in chunks of bounded bytes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import xarray as xr

from benign.empirical.augment import Augmentation, parse_augmentation
from benign.empirical.datasets import ImageDataset, normalize
from benign.empirical.training import (
    build_model,
    config_from_checkpoint,
    embed_all,
    load_checkpoint,
    prepare_data,
    resolve_device,
)
from benign.probes.knn_probe import knn_accuracy
from benign.probes.linear_probe import LinearProbe
from benign.store.provenance import provenance_attrs
from benign.theory.invariance import normalized_invariance
from benign.theory.unit_memorization import unit_memorization


def knn_leave_one_out(features: torch.Tensor, labels: torch.Tensor, num_classes: int, k: int = 20) -> float:
    """Accuracy of predicting each row's label from its k nearest other rows (probes.knn_probe, uniform
    votes on L2-normalised features, the row itself excluded)."""
    x = features.float()
    return knn_accuracy(x, labels, x, labels, num_classes, k=k, exclude_self=True)


@torch.no_grad()
def streamed_knn(
    model,
    reference: torch.Tensor,
    reference_labels: torch.Tensor,
    queries: torch.Tensor,
    query_labels: torch.Tensor,
    stats: ImageDataset,
    names,
    num_classes: int,
    k: int = 20,
    pool: str = "flatten",
    batch_size: int = 512,
    max_query_bytes: int = 512 * 2**20,
    exclude_self: bool = False,
) -> dict[str, float]:
    """k-NN accuracy of every named representation, the reference never embedded whole.

    reference, queries: clean images (uint8 or float, normalised with `stats` a batch at a time).
    Votes as probes.knn_probe.knn_predict: uniform over the k nearest by Euclidean distance on
    L2-normalised features, ties to the smallest class. exclude_self: the queries are the reference
    (leave-one-out). Memory: the queries' features (at most about max_query_bytes; more queries are
    done in chunks, each streaming the reference again), one reference batch, (queries, k) top lists.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    if exclude_self and queries.shape != reference.shape:
        raise ValueError("exclude_self needs the reference images as queries")
    names = tuple(names)
    n_ref = reference.shape[0]
    k = min(k, n_ref - 1 if exclude_self else n_ref)
    if k < 1:
        raise ValueError("the reference has too few images for a k-NN probe")
    was_training = model.training
    model.eval()

    def embed(x):
        feats = model.features(normalize(x, stats), names, pool=pool)
        return {n: torch.nn.functional.normalize(feats[n].float(), dim=1) for n in names}

    per_query = sum(f.shape[1] for f in embed(queries[:1]).values()) * 4
    rows = max(1, max_query_bytes // per_query)
    ref_labels = reference_labels.to(reference.device).long()
    correct = dict.fromkeys(names, 0)
    for q0 in range(0, queries.shape[0], rows):
        q_imgs = queries[q0 : q0 + rows]
        qf = {n: torch.cat([f[n] for f in map(embed, q_imgs.split(batch_size))]) for n in names}
        nq = q_imgs.shape[0]
        top_s = {n: torch.full((nq, k), -float("inf"), device=reference.device) for n in names}
        top_l = {n: torch.zeros((nq, k), dtype=torch.long, device=reference.device) for n in names}
        for r0 in range(0, n_ref, batch_size):
            rf = embed(reference[r0 : r0 + batch_size])
            labels = ref_labels[r0 : r0 + batch_size].expand(nq, -1)
            for n in names:
                score = qf[n] @ rf[n].T
                if exclude_self:
                    qi = torch.arange(q0, q0 + nq, device=score.device)[:, None]
                    ri = torch.arange(r0, r0 + score.shape[1], device=score.device)[None, :]
                    score = score.masked_fill(qi == ri, -float("inf"))
                s, idx = torch.cat([top_s[n], score], 1).topk(k, dim=1)
                top_s[n], top_l[n] = s, torch.cat([top_l[n], labels], 1).gather(1, idx)
        truth = query_labels[q0 : q0 + nq].to(reference.device).long()
        for n in names:
            votes = torch.zeros(nq, num_classes, device=reference.device)
            votes.scatter_add_(1, top_l[n], torch.ones_like(top_s[n]))
            correct[n] += int((votes.argmax(1) == truth).sum())
    model.train(was_training)
    return {n: correct[n] / queries.shape[0] for n in names}


def probe_model(
    model,
    data,
    aug: Augmentation,
    layers=None,
    k: int = 20,
    linear: bool = True,
    invariance_images: int = 256,
    pairs: int = 4,
    seed: int = 0,
    pool: str = "flatten",
    unit_mem: bool = False,
    knn: bool = True,
) -> dict[str, np.ndarray]:
    """The four probes of every layer (module docstring; default: every one of model.layer_names), the
    k-NN probes streamed (`streamed_knn`; knn = False: NaN, the costly part on flattened maps); with
    unit_mem, the layers' UnitMem too (layer_unit_memorization)."""
    layers = tuple(model.layer_names if layers is None else layers)
    was_training = model.training
    model.eval()
    ref = data.probe_reference
    keys = ("knn_clean", "knn_noisy", "linear", "invariance") + (("unit_mem",) if unit_mem else ())
    out = {key: np.full(len(layers), np.nan) for key in keys}
    kw = dict(k=k, pool=pool)
    nan = dict.fromkeys(layers, np.nan)
    clean = (
        nan
        if not knn
        else streamed_knn(
            model,
            ref.images,
            ref.labels,
            data.test.images,
            data.test.labels,
            data.train,
            layers,
            data.train.num_classes,
            **kw,
        )
    )
    noisy = (
        nan
        if not knn
        else streamed_knn(
            model,
            data.train.images,
            data.labels,
            data.train.images,
            data.labels,
            data.train,
            layers,
            data.label_width,
            exclude_self=True,
            **kw,
        )
    )
    inv_aug = aug if not aug.is_identity else parse_augmentation("simclr")
    g = torch.Generator(device=data.train.images.device)
    x_inv = data.train.images[: min(invariance_images, len(data.train))]
    for i, name in enumerate(layers):
        out["knn_clean"][i], out["knn_noisy"][i] = clean[name], noisy[name]
        if linear:
            tr = embed_all(model, data.train.images, data.train, (name,), pool=pool)[name]
            te = embed_all(model, data.test.images, data.train, (name,), pool=pool)[name]
            probe = LinearProbe(data.train.num_classes, max_iter=100).fit(tr, data.train.labels)
            out["linear"][i] = probe.score(te, data.test.labels)
        g.manual_seed(seed)
        with torch.no_grad():
            q = lambda x, name=name: model.features(normalize(x, data.train), (name,), pool=pool)[name]
            inv = normalized_invariance(q, x_inv, lambda x: aug_float(inv_aug, x, g), pairs=pairs)
        out["invariance"][i] = float(inv.double().nanmean())
    if unit_mem:
        out["unit_mem"][:] = layer_unit_memorization(model, data, inv_aug, layers, seed=seed)
    model.train(was_training)
    return out


@torch.no_grad()
def layer_unit_memorization(
    model, data, aug: Augmentation, layers, views: int = 8, max_images: int = 1000, seed: int = 0
) -> np.ndarray:
    """Mean UnitMem (theory.unit_memorization) over the units of each layer, on the run's training
    images (at most max_images) under `views` augmentations each; a conv layer's units are its
    channels, averaged over the map. NaN for a layer with negative activations (the output layer)."""
    was_training = model.training
    model.eval()
    x = data.train.images[:max_images]
    g = torch.Generator(device=x.device)
    g.manual_seed(seed)
    acts = {n: [] for n in layers}
    for _ in range(views):
        for batch in x.split(256):
            feats = model.features(normalize(aug_float(aug, batch, g), data.train), tuple(layers), pool="avg")
            for n in layers:
                acts[n].append(feats[n].float())
    model.train(was_training)
    out = []
    for n in layers:
        a = torch.cat(acts[n]).view(views, x.shape[0], -1).transpose(0, 1)  # (n, N, units)
        out.append(float(unit_memorization(a).mean()) if bool((a >= 0).all()) else np.nan)
    return np.array(out)


def aug_float(aug: Augmentation, x, g):
    return aug(x, generator=g)


def probe_checkpoint(
    path,
    device="auto",
    k: int = 20,
    linear: bool = True,
    data_root=None,
    invariance_images: int = 256,
    reference: str | None = None,
    pool: str | None = None,
    knn: bool = True,
) -> xr.Dataset:
    """knn = False leaves the k-NN probes out (NaN). reference (full | subset) and pool (flatten |
    avg): the run's own (probe_reference, probe_pool) unless given."""
    if k < 1 or invariance_images < 2:
        raise ValueError(f"k must be >= 1 and invariance_images >= 2, got {k} and {invariance_images}")
    ckpt = load_checkpoint(path)
    cfg = config_from_checkpoint(ckpt)
    if data_root is not None:
        cfg = dataclasses.replace(cfg, data_root=data_root)
    cfg = dataclasses.replace(
        cfg, probe_reference=reference or cfg.probe_reference, probe_pool=pool or cfg.probe_pool
    )
    cfg.validate()
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
    kw = dict(
        k=k,
        linear=linear,
        invariance_images=invariance_images,
        seed=cfg.seed,
        pool=cfg.probe_pool,
        unit_mem=True,
        knn=knn,
    )
    names = trained.layer_names
    res = probe_model(trained, data, aug, **kw)
    res_init = probe_model(init, data, aug, **kw)
    meta = {
        "knn_clean": (
            f"{k}-NN probe fitted on the {'whole training split' if cfg.probe_reference == 'full' else 'training images'}"
            f" with true labels ({cfg.probe_pool} layer maps), clean test accuracy",
            "1",
        ),
        "knn_noisy": (f"{k}-NN probe, training (random) labels, leave-one-out training accuracy", "1"),
        "linear": ("linear probe (logistic regression), clean test accuracy", "1"),
        "invariance": ("mean normalized invariance I (eq. 2) under the run's augmentation", "1"),
        "unit_mem": (
            "mean UnitMem over the layer's units (Wang et al. 2024; channels averaged over the map), "
            "training images under 8 augmentations; NaN: negative activations",
            "1",
        ),
    }
    data_vars = {}
    for key, (long_name, units) in meta.items():
        data_vars[key] = xr.Variable("layer", res[key], {"long_name": long_name, "units": units})
        data_vars[f"{key}_init"] = xr.Variable(
            "layer", res_init[key], {"long_name": long_name + ", at initialisation", "units": units}
        )
    ds = xr.Dataset(
        data_vars,
        coords={"layer": np.arange(len(names)), "layer_name": ("layer", np.array(names, dtype=object))},
    )
    ds["layer"].attrs = {"long_name": "probed representation (see layer_name)", "units": "1"}
    ds.attrs = provenance_attrs(
        "layer-wise probing", {**dataclasses.asdict(cfg), "probe_k": k, "checkpoint_step": ckpt["step"]}
    )
    return ds


@torch.no_grad()
def view_statistics(
    model,
    images,
    stats,
    aug: Augmentation,
    pairs: int = 8,
    seed: int = 0,
    layers: tuple[str, ...] = ("embedding",),
) -> tuple[torch.Tensor, dict[str, torch.Tensor | None]]:
    """(alignment, means) from `pairs` pairs of augmented views of each image (eval mode; the same
    draws for every network given the seed), at each named layer; convolutional layers averaged over
    their map (pool='avg'), so that two crops of one image are compared channel by channel.

    alignment (n, len(layers)): SSLMem's alignment loss (Wang et al., ICLR 2024), the squared distance
    between the L2-normalised representations of two views, averaged over the pairs; at `embedding`
    SSLMem's, at every layer LayerMem's input (Wang et al., NeurIPS 2024). means[layer] (n, units):
    each unit's activation averaged over the image's 2 x pairs views (UnitMem's mu,
    theory.unit_memorization), None for a layer with a negative activation (UnitMem is defined after
    a ReLU)."""
    was_training = model.training
    model.eval()
    g = torch.Generator(device=images.device)
    g.manual_seed(seed)
    total = torch.zeros(images.shape[0], len(layers), dtype=torch.float64, device=images.device)
    sums: dict[str, torch.Tensor | None] = dict.fromkeys(layers)
    negative = dict.fromkeys(layers, False)
    for _ in range(pairs):
        for start in range(0, images.shape[0], 256):
            x = images[start : start + 256]
            a, b = (
                model.features(normalize(aug_float(aug, x, g), stats), layers, pool="avg") for _ in range(2)
            )
            for j, name in enumerate(layers):
                fa, fb = (f[name].float() for f in (a, b))
                na, nb = (torch.nn.functional.normalize(f, dim=1) for f in (fa, fb))
                total[start : start + x.shape[0], j] += (na - nb).pow(2).sum(1).double()
                negative[name] |= bool((fa < 0).any() or (fb < 0).any())
                if sums[name] is None:
                    sums[name] = torch.zeros(images.shape[0], fa.shape[1], device=images.device)
                sums[name][start : start + x.shape[0]] += fa + fb
    model.train(was_training)
    means = {n: None if negative[n] else sums[n] / (2 * pairs) for n in layers}
    return total / pairs, means
