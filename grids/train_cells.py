"""Training cells of a grid (tables 2-4, figures 4, 6-9, 11-13): parameters, and one cell's run.

A cell is one `benign train` run (empirical/training.py) in its own folder under the grid
directory, so a cell interrupted mid-training resumes from its last checkpoint, bit for bit. Its
learning curve (every `eval_every` epochs, epoch 0 = initialisation) and its final probes come back
to the driver, which writes them into the grid file.

Parameters beyond `benign train`'s options, numeric so that they can be swept (figures 9, 11-13):
  label_noise   fraction of labels made random (labels = noise:<f>);
  label_classes number of random classes C' (labels = classes:<C'>; 0 = one class per sample);
  randaugment   RandAugment magnitude, the only augmentation (augment = randaugment:<level>);
  layer_probes  k-NN (clean and random labels) and normalized invariance of every layer at every
                evaluation (figures 4 and 7); costs about one more evaluation pass per layer;
  linear_probe  a linear probe of the embedding after training and at initialisation (table 4);
  transfer      datasets, comma-separated, on which the embedding is k-NN probed after training and
                at initialisation (figure 10): fitted on a balanced `transfer_subset` of the target's
                training split (0 = all), scored on its test split (`test_subset` of it, 0 = all);
  view_pairs    pairs of augmented views each pool example's alignment is averaged over (SSLMem,
                LayerMem; grids with train_share < 1).
The model seed and the label seed of a cell are both its `seed`.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import xarray as xr

from benign.empirical.training import TrainConfig
from benign.store.cell_grid import DONE

RUNTIME_FIELDS = (
    "out",
    "seed",
    "label_seed",
    "data_root",
    "download",
    "compile",
    "checkpoint_every",
)
TRAIN_DEFAULTS = {
    **{f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name not in RUNTIME_FIELDS},
    "label_noise": None,
    "label_classes": None,
    "randaugment": None,
    "layer_probes": False,
    "linear_probe": True,
    "transfer": "",
    "transfer_subset": 0,
    "view_pairs": 8,
}
# Parameters added after grids were run with this engine: at these values they compute what a grid
# without them computed, so a grid directory or a shared cell from before them is the same grid or
# cell (grids/engine.open_grid, grids/shared_cells.cell_key).
ADDED_LATER = {
    "cooldown": 0.0,
    "image_size": 0,
    "train_share": 1.0,
    "outliers": 0.0,
    "outlier_dataset": "digits",
    "simclr_dim": 128,
    "view_pairs": 8,
}
# Swept budgets would give each cell its own curve axis; the budget is one per grid.
TRAIN_NOT_SWEPT = (
    "epochs",
    "steps",
    "eval_every",
    "device",
    "layer_probes",
    "linear_probe",
    "transfer",
    "train_share",
)

EPOCH_VARIABLES = {
    "train_loss": {"long_name": "mean training loss over the epoch's augmented batches", "units": "1"},
    "train_accuracy": {"long_name": "accuracy on the training labels, clean images", "units": "1"},
    "knn_accuracy": {"long_name": "k-NN probe of the embedding, clean labels, test accuracy", "units": "1"},
}
FINAL_VARIABLES = {
    "knn_final": {
        "long_name": "k-NN probe of the embedding after training, clean test accuracy",
        "units": "1",
    },
    "knn_init": {
        "long_name": "k-NN probe of the embedding at initialisation, clean test accuracy",
        "units": "1",
    },
    "linear_final": {
        "long_name": "linear probe of the embedding after training, clean test accuracy",
        "units": "1",
    },
    "linear_init": {
        "long_name": "linear probe of the embedding at initialisation, clean test accuracy",
        "units": "1",
    },
    "train_accuracy_final": {
        "long_name": "accuracy on the training labels after training (clean images)",
        "units": "1",
    },
    "train_time": {"long_name": "wall time of the training steps", "units": "s"},
    "random_label_share": {
        "long_name": "share of the training labels drawn at random (0: clean labels)",
        "units": "1",
        "comment": "Definition 4.1: a cell with random labels is a memorization only if "
        "train_accuracy_final >= 0.99 (theory/memorization_kind.py)",
    },
}
TRANSFER_VARIABLES = {
    "knn_transfer": {
        "long_name": "k-NN probe of the embedding on the target dataset after training, test accuracy",
        "units": "1",
    },
    "knn_transfer_init": {
        "long_name": "k-NN probe of the embedding on the target dataset at initialisation",
        "units": "1",
    },
}
# With train_share < 1 (Feldman & Zhang's estimator): every example of the pool, scored after training.
EXAMPLE_VARIABLES = {
    "in_training": {
        "long_name": "1 if the cell's model trained on the example, 0 if it was held out",
        "units": "1",
    },
    "example_correct": {
        "long_name": "1 if the trained model predicts the example's training label (clean image)",
        "units": "1",
    },
    "example_mislabelled": {
        "long_name": "1 if the example's training label differs from its true label",
        "units": "1",
    },
    "example_index": {"long_name": "index of the example in the dataset's training split", "units": "1"},
    "example_alignment": {
        "long_name": "alignment loss: squared distance of the normalised embeddings of two augmented views, "
        "mean over 8 pairs (SSLMem's, Wang et al. 2024)",
        "units": "1",
    },
    "example_outlier": {"long_name": "1 if the example was injected from the outlier dataset", "units": "1"},
}
# LayerMem's input (Wang et al., NeurIPS 2024): the same alignment at every layer of the grid's layer axis.
EXAMPLE_LAYER_VARIABLES = {
    "example_layer_alignment": {
        "long_name": "alignment loss at each layer: squared distance of the normalised representations "
        "(convolutional maps averaged) of two augmented views, mean over 8 pairs",
        "units": "1",
    },
    # UnitMem (theory.unit_memorization.unit_selections) over the cell's training examples of the pool,
    # each unit's activation averaged over the same views; 0 for an example the cell held out, NaN at
    # a layer with negative activations
    "example_layer_units": {
        "long_name": "number of the layer's live units whose selective example (largest mean activation "
        "over the cell's training examples) is this example",
        "units": "1",
    },
    "example_layer_top_units": {
        "long_name": "number of the layer's top decile of units by UnitMem whose selective example is "
        "this example",
        "units": "1",
    },
    "example_layer_unit_mem": {
        "long_name": "largest UnitMem of a unit of the layer whose selective example this is (0 if none)",
        "units": "1",
    },
}
# With a bank (figure 6, the n x B grid): memorisation as in appendix D.1, on the training inputs.
BANK_VARIABLES = {
    "bank_fit": {
        "long_name": "share of the n x B fixed augmentations predicted as their labels after training",
        "units": "1",
    },
}
# An n x B grid (preset nb): the capacity C_t read off its B = 1 column at collect (grids/engine.py).
NB_CAPACITY_METHOD = (
    "read off the grid's B = 1 column: a training subset of n images counts as memorised when every seed "
    "(each its own random labelling and initialisation) fitted all n images (bank_fit = 1) within the "
    "cell's training budget (t = the grid's steps under a step budget; else its epochs, t = epochs steps "
    "when the batch holds the largest n); "
    "cells not done end the bracket at what is known"
)
NB_CAPACITY_VARIABLES = {
    "capacity_lower": {
        "long_name": "capacity C_t, lower end: largest n of the grid memorised, every smaller n too "
        "(0: not even the smallest)",
        "units": "1",
        "comment": NB_CAPACITY_METHOD,
    },
    "capacity_upper": {
        "long_name": "capacity C_t, upper end: the next n of the grid, where a seed failed "
        "(NaN: none failed, or not known yet)",
        "units": "1",
        "comment": NB_CAPACITY_METHOD,
    },
}
LAYER_VARIABLES = {
    "knn_clean": {"long_name": "k-NN probe of the layer, clean labels, test accuracy", "units": "1"},
    "knn_noisy": {
        "long_name": "k-NN probe of the layer, training labels, leave-one-out training accuracy",
        "units": "1",
    },
    "invariance": {
        "long_name": "mean normalized invariance I (eq. 2) of the layer under the run's augmentation",
        "units": "1",
    },
}


def train_config(params: dict, seed: int, out: str) -> TrainConfig:
    """The TrainConfig of one cell; ValueError on a bad combination."""
    check_budget(params)
    p = {k: v for k, v in params.items() if k in TRAIN_DEFAULTS}
    if p.get("label_noise") is not None:
        p["labels"] = f"noise:{float(p['label_noise']):g}"
    if p.get("label_classes") is not None:
        c = int(p["label_classes"])
        p["labels"] = "per-sample" if c == 0 else f"classes:{c}"
    if p.get("randaugment") is not None:
        p["augment"] = f"randaugment:{int(p['randaugment'])}"
    from benign.empirical.datasets import parse_name

    for target in transfer_targets(p):
        try:
            parse_name(target)
        except ValueError as e:
            raise ValueError(f"transfer dataset: {e}") from None
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    # the pool's labels are the grid's when cells train on shares of it: fixed, the seed varies the rest
    label_seed = 0 if p.get("train_share", 1.0) < 1.0 else seed
    cfg = TrainConfig(
        **{k: v for k, v in p.items() if k in fields}, seed=seed, label_seed=label_seed, out=out
    )
    cfg.validate()
    return cfg


def probed_layers(params: dict) -> tuple[str, ...]:
    """The layer axis of a grid with layer probes: the same for every architecture it sweeps."""
    from benign.empirical.networks import layer_names

    archs = params.get("arch", "small_cnn")
    names = {layer_names(a) for a in (archs if isinstance(archs, list) else [archs])}
    if len(names) > 1:
        raise ValueError("layer probes need every swept architecture to have the same probed layers")
    return names.pop()


def transfer_targets(params: dict) -> list[str]:
    return [t.strip() for t in params.get("transfer", "").split(",") if t.strip()]


def eval_epochs(params: dict) -> list[float]:
    """The epochs at which a cell's learning curve is recorded (0 = initialisation)."""
    epochs, every = params["epochs"], params["eval_every"]
    points = {0, epochs} | (set(range(every, epochs + 1, every)) if every else set())
    return [float(e) for e in sorted(points)]


def curve_axis(params: dict) -> tuple[str, list[float]]:
    """The dimension of a cell's learning curve and its points: `epoch` under an epoch budget, `step`
    (0 and t) under a step budget, where cells with different n share t steps but not their epochs."""
    if params.get("steps"):
        return "step", [0.0, float(params["steps"])]
    return "epoch", eval_epochs(params)


def check_budget(params: dict) -> None:
    """A grid under a step budget probes at initialisation and at the end only; ValueError otherwise
    (and on fewer than one pair of views)."""
    if params.get("view_pairs", 8) < 1:
        raise ValueError(f"view_pairs must be >= 1, got {params['view_pairs']}")
    if params.get("steps") and params.get("eval_every"):
        raise ValueError(
            "a step budget (steps > 0) records the learning curve at steps 0 and t only: set eval_every = 0"
        )


def variables(params: dict) -> dict[str, dict]:
    """name -> attrs, with `dims` (the dimensions after the cell's own) for the grid file."""
    axis = curve_axis(params)[0]
    out = {k: {**a, "dims": (axis,)} for k, a in EPOCH_VARIABLES.items()}
    out.update({k: {**a, "dims": ()} for k, a in FINAL_VARIABLES.items()})
    if params.get("layer_probes"):
        out.update({k: {**a, "dims": (axis, "layer")} for k, a in LAYER_VARIABLES.items()})
    if has_bank(params):
        out.update({k: {**a, "dims": ()} for k, a in BANK_VARIABLES.items()})
    if transfer_targets(params):
        out.update({k: {**a, "dims": ("target",)} for k, a in TRANSFER_VARIABLES.items()})
    if scores_examples(params):
        out.update({k: {**a, "dims": ("example",)} for k, a in EXAMPLE_VARIABLES.items()})
        out.update({k: {**a, "dims": ("example", "layer")} for k, a in EXAMPLE_LAYER_VARIABLES.items()})
    return out


def layout(params: dict) -> tuple[dict, dict, dict]:
    """(variables, extra coordinates, labels of extra dimensions) of a training grid's file: the learning
    curve's axis, the probed layers, the pool's examples and the transfer targets where the grid has them."""
    extra, labels = dict([curve_axis(params)]), {}
    if params.get("layer_probes") or scores_examples(params):  # layer probes, LayerMem
        names = probed_layers(params)
        extra["layer"] = list(range(len(names)))
        labels["layer"] = list(names)
    if scores_examples(params):
        extra["example"] = list(range(pool_size(params)))
    targets = transfer_targets(params)
    if targets:
        extra["target"] = list(range(len(targets)))
        labels["target"] = targets
    return variables(params), extra, labels


def scores_examples(params: dict) -> bool:
    """A grid whose cells train on a share of the pool and score every example of it (train_share < 1)."""
    return params.get("train_share", 1.0) < 1.0


def pool_size(params: dict) -> int:
    """The examples axis of a grid with train_share < 1: its subset, one size for every cell."""
    if not isinstance(params.get("subset"), int) or params["subset"] < 2:
        raise ValueError("train_share < 1 needs one subset size (the pool every example of which is scored)")
    return params["subset"]


def nb_capacity(ds: xr.Dataset) -> xr.Dataset:
    """capacity_lower / capacity_upper of an n x B grid (dims n, B, seed and any other swept ones) from
    its B = 1 column (NB_CAPACITY_METHOD), over the dimensions other than n, B and seed."""
    if 1 not in ds["B"].values:
        raise ValueError("the grid has no B = 1 column to read the capacity C_t from")
    fit = ds["bank_fit"].where(ds["status"] == DONE).sel(B=1).sortby("n")
    known = fit.notnull().all("seed")
    fitted = known & (fit >= 1.0).all("seed")
    ns = fit["n"].values.astype(float)

    def bracket(fitted: np.ndarray, failed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.cumprod(fitted, axis=-1).sum(axis=-1)  # how many n from the smallest are memorised
        at = np.minimum(k, len(ns) - 1)
        stops_at_failure = (k < len(ns)) & np.take_along_axis(failed, at[..., None], axis=-1)[..., 0]
        return np.where(k > 0, ns[np.maximum(k - 1, 0)], 0.0), np.where(stops_at_failure, ns[at], np.nan)

    lower, upper = xr.apply_ufunc(
        bracket, fitted, known & ~fitted, input_core_dims=[["n"], ["n"]], output_core_dims=[[], []]
    )
    return xr.Dataset(
        {
            name: (value.dims, value.values, attrs)
            for (name, attrs), value in zip(NB_CAPACITY_VARIABLES.items(), (lower, upper))
        }
    )


SSLMEM_VARIABLES = {
    "sslmem_score": {
        "long_name": "SSLMem: alignment loss of the example's views under the grid's models (seeds) "
        "trained without it minus under those trained with it",
        "units": "1",
    },
    "sslmem_stderr": {"long_name": "standard error of sslmem_score", "units": "1"},
}
LAYERMEM_VARIABLES = {
    "layermem_score": {
        "long_name": "LayerMem: SSLMem at each layer, from the alignment of the layer's representations",
        "units": "1",
    },
    "layermem_stderr": {"long_name": "standard error of layermem_score", "units": "1"},
}
FZ_VARIABLES = {
    "fz_score": {
        "long_name": "Feldman-Zhang memorization: accuracy on the example's training label when trained "
        "with it minus when trained without it, over the grid's models (seeds)",
        "units": "1",
    },
    "fz_stderr": {"long_name": "standard error of fz_score", "units": "1"},
}


def feldman_zhang_scores(ds: xr.Dataset) -> xr.Dataset:
    """Per example, over the done cells of the seed dimension (the models) and per value of every other
    dimension (theory.memorization_scores.feldman_zhang): fz_score and fz_stderr from the labels
    predicted (supervised models), sslmem_score and sslmem_stderr from the views' alignment
    (SSLMem = the Feldman-Zhang difference of minus the alignment loss)."""
    from benign.theory.memorization_scores import feldman_zhang

    def scores(outcome: xr.DataArray, names: dict) -> xr.Dataset:
        inside, outcome = xr.broadcast(ds["in_training"].fillna(0.0), outcome)  # per layer, if any
        score, se = xr.apply_ufunc(
            feldman_zhang,
            inside,
            outcome,
            ds["status"] == DONE,
            input_core_dims=[["seed", "example"], ["seed", "example"], ["seed"]],
            output_core_dims=[["example"], ["example"]],
        )
        dims = [d for d in outcome.dims if d != "seed"]  # as the outcome's: (example[, layer])
        return xr.Dataset(
            {n: (dims, v.transpose(*dims).values, a) for (n, a), v in zip(names.items(), (score, se))}
        )

    correct = ds["example_correct"]
    out = xr.Dataset() if bool(correct.isnull().all()) else scores(correct.fillna(0.0), FZ_VARIABLES)
    if "example_alignment" in ds:
        out.update(scores(-ds["example_alignment"].fillna(0.0), SSLMEM_VARIABLES))
    if "example_layer_alignment" in ds:
        out.update(scores(-ds["example_layer_alignment"].fillna(0.0), LAYERMEM_VARIABLES))
    return out


def has_bank(params: dict) -> bool:
    bank = params.get("bank", 0)
    return any(b > 0 for b in (bank if isinstance(bank, list) else [bank]))


def cell_folder(cell: dict) -> str:
    """A folder name that says which cell it is: setting=1_label_noise=0.2_seed=0."""
    return "_".join(f"{k}={re.sub(r'[^0-9A-Za-z.+-]', '-', str(v))}" for k, v in cell.items())


def run_train_cell(params: dict, cell: dict, folder: str, init_probes: str = "") -> dict:
    """Worker side: train (or resume) one cell in `folder`; its variables as arrays. init_probes: the
    folder of k-NN probes at initialisation that the grid's cells share (empirical.training.evaluate)."""
    from benign.empirical.augment import parse_augmentation
    from benign.empirical.labels import random_share
    from benign.empirical.probing import probe_model
    from benign.empirical.training import build_model, embed_all, train
    from benign.probes.linear_probe import LinearProbe

    cfg = train_config(params, seed=cell["seed"], out=folder)

    def layer_probes(model, data) -> dict:
        was_training = model.training
        res = probe_model(
            model,
            data,
            parse_augmentation(cfg.augment),
            k=cfg.knn_k,
            linear=False,
            seed=cfg.seed,
            pool=cfg.probe_pool,
        )
        model.train(was_training)
        return {k: [float(x) for x in res[k]] for k in LAYER_VARIABLES}

    run = train(
        cfg,
        resume=True,
        extra_eval=layer_probes if params.get("layer_probes") else None,
        init_probes=init_probes or None,
    )
    history, data, model = run["history"], run["data"], run["model"]
    axis, epochs = curve_axis(params)
    by_epoch = {float(row[axis]): row for row in history}
    out = {
        k: np.array([by_epoch.get(e, {}).get(k, np.nan) for e in epochs], dtype=float)
        for k in EPOCH_VARIABLES
    }
    if params.get("layer_probes"):
        nan = [np.nan] * len(model.layer_names)
        out.update(
            {
                k: np.array([by_epoch.get(e, {}).get(k, nan) for e in epochs], dtype=float)
                for k in LAYER_VARIABLES
            }
        )
    last, first = history[-1], history[0]
    out.update(
        knn_final=last["knn_accuracy"],
        knn_init=first["knn_accuracy"],
        train_accuracy_final=last["train_accuracy"],
        train_time=last["wall_time"],
        random_label_share=random_share(cfg.labels),
        linear_final=np.nan,
        linear_init=np.nan,
    )
    if has_bank(params):
        from benign.empirical.wide_training import memorised_share_of

        out["bank_fit"] = memorised_share_of(model, cfg, data)
    device = data.train.images.device
    initial = build_model(cfg, data, device)
    if transfer_targets(params):
        out["knn_transfer"], out["knn_transfer_init"] = (
            np.array(
                [
                    transfer_knn(net, data, cfg, t, params.get("transfer_subset", 0))
                    for t in transfer_targets(params)
                ]
            )
            for net in (model, initial)
        )
    if data.pool is not None:
        out.update(pool_scores(model, data, cfg, params.get("view_pairs", 8)))
    if params.get("linear_probe", True):
        # fitted on the k-NN probes' reference (the whole clean training split by default, true labels)
        ref = data.probe_reference
        for key, net in (("linear_final", model), ("linear_init", initial)):
            tr = embed_all(net, ref.images, data.train)["embedding"]
            te = embed_all(net, data.test.images, data.train)["embedding"]
            probe = LinearProbe(data.train.num_classes, max_iter=100).fit(tr, ref.labels)
            out[key] = float(probe.score(te, data.test.labels))
    return out


def pool_scores(model, data, cfg: TrainConfig, view_pairs: int = 8) -> dict[str, np.ndarray]:
    """EXAMPLE_VARIABLES of every example of the pool (a run with train_share < 1): whether the run
    trained on it, whether it predicts its training label (NaN for a contrastive head, which predicts
    none), and the alignment of its views under the run's augmentation (SimCLR's when it has none),
    averaged over `view_pairs` pairs of views, at every layer; and which of its training examples each
    layer's units select (UnitMem, `unit_selections`), under the views the network trained on (the
    same views; the images themselves for a run without augmentation)."""
    import torch

    from benign.empirical.augment import parse_augmentation
    from benign.empirical.networks import layer_names
    from benign.empirical.probing import view_statistics
    from benign.empirical.training import embed_all, projector_output
    from benign.theory.unit_memorization import unit_selections

    pool, n = data.pool, len(data.pool)
    correct = np.full(n, np.nan)
    if cfg.loss != "simclr":
        pred = projector_output(model, embed_all(model, pool.images, data.train)["embedding"]).argmax(1)
        correct = (pred == data.pool_labels).double().cpu().numpy()
    view_aug = parse_augmentation(cfg.augment if cfg.augment != "none" else "simclr")
    layers = layer_names(cfg.arch)
    alignment, means = view_statistics(
        model, pool.images, data.train, view_aug, pairs=view_pairs, seed=cfg.subset_seed, layers=layers
    )
    if cfg.augment == "none":  # UnitMem's views are those the network trained on: the images themselves
        _, means = view_statistics(
            model, pool.images, data.train, parse_augmentation("none"), 1, layers=layers
        )
    trained = data.in_training.bool()
    selections = np.full((3, n, len(layers)), np.nan)
    for j, name in enumerate(layers):
        if means[name] is not None and int(trained.sum()) >= 2:
            selections[:, :, j] = 0.0
            picked = unit_selections(means[name][trained])
            selections[:, trained.cpu().numpy(), j] = torch.stack(picked).cpu().numpy()
    return {
        "in_training": data.in_training.double().cpu().numpy(),
        "example_correct": correct,
        "example_mislabelled": (data.pool_labels != pool.labels).double().cpu().numpy(),
        "example_index": data.pool_index.double().cpu().numpy(),
        "example_alignment": alignment[:, layers.index("embedding")].cpu().numpy(),
        "example_layer_alignment": alignment.cpu().numpy(),
        "example_layer_units": selections[0],
        "example_layer_top_units": selections[1],
        "example_layer_unit_mem": selections[2],
        "example_outlier": np.zeros(n)
        if data.pool_outlier is None
        else data.pool_outlier.double().cpu().numpy(),
    }


def transfer_knn(model, data, cfg: TrainConfig, target: str, reference_size: int) -> float:
    """k-NN probe of the embedding on another dataset (figure 10), under the training data's normalisation."""
    from benign.empirical.datasets import load_dataset
    from benign.empirical.training import embed_all
    from benign.probes.knn_probe import knn_accuracy

    device = data.train.images.device
    ref, test = (
        load_dataset(target, cfg.data_root, train=train, device=device, download=cfg.download)
        for train in (True, False)
    )
    if ref.channels != data.train.channels:
        raise ValueError(
            f"cannot transfer from {cfg.dataset} ({data.train.channels} channels) to {target} "
            f"({ref.channels} channels)"
        )
    ref, test = (
        _balanced(ref, reference_size, cfg.subset_seed + 2),
        _balanced(test, cfg.test_subset, cfg.subset_seed + 3),
    )
    r = embed_all(model, ref.images, data.train)["embedding"]
    t = embed_all(model, test.images, data.train)["embedding"]
    return knn_accuracy(r, ref.labels, t, test.labels, ref.num_classes, k=cfg.knn_k)


def _balanced(split, size: int, seed: int):
    """A class-balanced subset of `size` images of a split (all of it for 0)."""
    from benign.empirical.datasets import subset_indices

    if not size or size >= len(split):
        return split
    idx = subset_indices(split.labels, size, seed, split.num_classes).to(split.images.device)
    return dataclasses.replace(split, images=split.images[idx], labels=split.labels[idx])
