"""A named grid for every table and figure of the paper, at four scales.

full   the paper's axes and training protocol (CIFAR-10/100, TinyImageNet, ResNet18/VGG11 on a GPU;
       table 6: projector 65536, Adam 3e-4, batch 256, MSE, SimCLR augmentation + mixup);
cpu    Definition 4.1's regime on a 2-core CPU for the presets in CPU_PRESETS: Fashion-MNIST, 250
       images, 3000 Adam steps, so that every random-label network fits at least 99% of its labels
       (a memorization) and augmentation makes it benign; a cell that falls short of the fit is
       marked "not memorised" wherever it is shown (plots/memorization.py);
small  the same axes, thinned, on Fashion-MNIST with the small CNN: each preset runs on a 2-core
       CPU in minutes (budgets far below the paper's thousands of epochs: the picture, not the numbers);
tiny   a smoke test in seconds (tests, and checking a cluster before a long run).

A preset is the raw form a TOML file takes (see grids/spec.py): parameters, lists for swept ones,
`seeds`, and `setting`, a list of named groups of parameters (table 2's random / random+DA / ...).
"""

from __future__ import annotations

SCALES = ("small", "full", "tiny", "cpu")

# What each scale is, and where it departs from the paper's protocol (table 6): `benign grid show`
# prints it above a preset, docs/training-protocol.md gives every value and its source.
SCALE_NOTES = {
    "full": "the paper's protocol (table 6) and axes, on GPUs",
    "cpu": "Definition 4.1's regime on a 2-core CPU: every random label fitted. Departs from table 6: "
    "250 Fashion-MNIST images (not the whole split), a small CNN with a 4096-wide projector (not "
    "ResNet18 with 65536), lr 1e-3 (table 6: 4e-3, the authors' code 3e-4), no mixup, 3000 steps "
    "with a linear cooldown over the last 20% (the paper: a constant rate for 5000 epochs)",
    "small": "the axes thinned, minutes on a CPU: the direction of each effect, not memorization itself",
    "tiny": "a smoke test in seconds",
}

# --- figure 14: the toy ------------------------------------------------------------------------------
FIG14_FULL_N = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 125, 150, 200]
FIG14_FULL_B = [*range(1, 11), 12, 14, 16, 18, 20, 24, 28, 32, 48, 64, 128, 256, 512, 1024]

FIG14 = {
    "small": {"seeds": 3},  # the toy grid defaults: 12 x 12 x 3, the `make demo` grid
    "cpu": {"seeds": 3},  # the same: the toy's regime is reached in minutes on a CPU
    "full": {"n": FIG14_FULL_N, "B": FIG14_FULL_B, "seeds": 3},
    "tiny": {"n": [5, 50], "B": [1, 64], "steps": 100, "n_probe": 200, "n_test": 200, "seeds": 1},
}

# --- figure 14 as a family over K: a toy whose projector sets its capacity ---------------------------
# Trained prototypes in d = 12 (d1 = 4 signal, 8 noise coordinates), K from 20 up, so K >> d: a
# prototype can settle on a training point of its label, and C_t grows roughly in proportion to K
# instead of being the encoder's share (about d). The encoder learns at lr 0.001 and the prototypes
# 10x faster (0.01): the prototypes memorise and the slow encoder loses the noise coordinates
# without bending the signal ones as much. Measured on this grid (docs/toy.md, "Figure 14 over K"):
# C_t = 17, 28, 53 for K = 20, 40, 80; cells with n*B > 10 C_t gain +0.12..+0.17 over
# initialisation, every one of the 8 seeds > 0 and each K > 5 s.e. In d = 8 the same rates give
# C_t = 14, 24, 51 but a seed whose initial probe is near the probe of W without its noise columns
# (0.76 against 0.79) has no room to gain: K = 20 fails on seeds 4-7. 8 seeds, because the d = 8
# choice passed on seeds 0-3 and not on 4-7. Centre scale 0.6 keeps the initial probe at 0.37-0.62.
FIG14K_TOY = {
    "d": 12,
    "d1": 4,
    "centre_scale": 0.6,
    "train_prototypes": True,
    "lr": 0.001,
    "prototype_lr_ratio": 10.0,
}
FIG14K = {
    "small": {
        **FIG14K_TOY,
        "n": [5, 10, 20, 40, 80, 160],
        "B": [1, 2, 4, 16, 64, 256],
        "K": [20, 40, 80],
        "seeds": 8,  # "beats initialisation" in every seed and as a mean above 2 s.e.
    },
    "full": {**FIG14K_TOY, "n": FIG14_FULL_N, "B": FIG14_FULL_B, "K": [10, 20, 40, 80, 160, 320], "seeds": 3},
    "tiny": {
        **FIG14K_TOY,
        "n": [5, 20],
        "B": [1, 8],
        "K": [10, 40],
        "steps": 60,
        "n_probe": 100,
        "n_test": 100,
        "capacity_R": 2,
        "seeds": 1,
    },
}

# --- training runs ----------------------------------------------------------------------------------
# Base of every training preset per scale; a preset overrides what its figure needs.
BASE = {
    "full": {
        "kind": "train",
        "dataset": "cifar10",
        "arch": "resnet18",
        "projector_width": 65536,
        "augment": "simclr",
        "mixup": "xy",
        "epochs": 5000,
        "eval_every": 50,
    },
    # 512 balanced images: 2 steps an epoch, so 40 epochs (80 Adam steps) take seconds per cell.
    "small": {
        "kind": "train",
        "dataset": "fashion-mnist",
        "subset": 512,
        "test_subset": 1000,
        "arch": "small_cnn",
        "cnn_width": 16,
        "projector_width": 1024,
        "augment": "simclr",
        "mixup": "off",
        "lr": 1e-3,
        "epochs": 40,
        "eval_every": 5,
    },
    # Definition 4.1 met on every seed (theory/memorization_kind.py): 250 balanced images, so that one
    # batch (256) is the whole subset and an epoch is one Adam step; the authors' probe (20-NN on the
    # whole clean training split). Chosen from learning curves on 2 seeds (docs/cpu-scale.md):
    # random + DA fits 0.99 of its random labels by step 2000 and probes +0.056..+0.070 over
    # initialisation; with 1000 images it fitted half its labels in 2000 steps (no memorization).
    # At a constant rate a few labels keep flipping (seed 1: 1.000 at step 2500, 0.988 at 3000); a
    # linear cooldown over the last 20% settles the fit (1.000 on both seeds at 2750 and 3000).
    # Departs from table 6 in the subset (the paper trains on the whole split), the network (a small
    # CNN, projector 4096, not ResNet18 with 65536), lr 1e-3 (paper 4e-3 / code 3e-4), no mixup and
    # the cooldown (the paper keeps the rate constant for 5000 epochs).
    "cpu": {
        "kind": "train",
        "dataset": "fashion-mnist",
        "subset": 250,
        "test_subset": 2000,
        "arch": "small_cnn",
        "cnn_width": 32,
        "projector_width": 4096,
        "augment": "simclr",
        "mixup": "off",
        # bf16 autocast of the forward pass where the CPU has bf16 units (about 2x the float32 step on
        # an Intel AMX CPU); on one without (AVX2) bf16 is emulated, 10x slower, and auto keeps float32
        "precision": "auto",
        "lr": 1e-3,
        "cooldown": 0.2,
        "epochs": 3000,  # = steps: every random-label cell fits >= 99% of its labels by then
        "eval_every": 1000,
    },
    "tiny": {
        "kind": "train",
        "dataset": "fashion-mnist",
        "subset": 64,
        "test_subset": 100,
        "arch": "small_cnn",
        "cnn_width": 4,
        "projector_width": 32,
        "batch_size": 32,
        "augment": "simclr",
        "mixup": "off",
        "epochs": 2,
        "eval_every": 1,
        # seconds, not minutes: the authors' whole-split reference embeds 60k images at every probe
        "probe_reference": "subset",
    },
}

# Tables and figures drawn from the final probe alone: at cpu a probe of the whole training split costs
# about 15 s on one thread (62k images, batch norm folded), and these presets read the final probe
# only, so their cells probe only at initialisation and at the end.
FINAL_PROBE_ONLY = {"cpu": {"eval_every": 0}}
# Figure 3 reads how fast the labels are fitted: a dense curve of the training accuracy, whose k-NN
# probe (the curve's other half) is fitted on the training subset to keep 40 probes cheap.
# At cpu both label kinds are fitted within about 50 steps: 100 steps, a point every 2.
FIG3_CURVE = {"cpu": {"epochs": 100, "eval_every": 2, "probe_reference": "subset"}}
# Figure 7 at cpu: the two random-label settings (the claim compares them), probed layer by layer at
# initialisation, a third, two thirds and the end; table 1 and figure 4 at cpu are its cells.
FIG7_CPU = {"layer_probes": True}

# Table 2's settings: DA = the base augmentation (and mixup where the scale uses it); none without.
NO_DA = {"augment": "none", "mixup": "off"}
RANDOM, RANDOM_DA = {"name": "random", "labels": "random", **NO_DA}, {"name": "random+DA", "labels": "random"}
CLEAN, CLEAN_DA = {"name": "clean", "labels": "clean", **NO_DA}, {"name": "clean+DA", "labels": "clean"}
# Table 3: B = 50 other images of the same true class as the "augmentations" of a 1000-image subset
# (at cpu the scale's 250-image subset, so that four of its settings are table 2's cells).
RANDOM_IID = {"name": "random+iid DA", "labels": "random", "iid": 50, **NO_DA}
CLEAN_IID = {"name": "clean+iid DA", "labels": "clean", "iid": 50, **NO_DA}
TABLE2_SETTINGS = [RANDOM, RANDOM_DA, CLEAN, CLEAN_DA]
RANDOM_LABELS_NO_DA = {k: v for k, v in RANDOM.items() if k != "name"}
TABLE3_SETTINGS = [RANDOM, RANDOM_IID, CLEAN, CLEAN_IID, CLEAN_DA, RANDOM_DA]

FIG6_B = {
    "full": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
    "cpu": [1, 8, 64],  # 12 cells with 2 seeds
    "small": [1, 2, 4, 8, 16, 32, 64, 128],
    "tiny": [1, 4],
}
# At cpu a third of table 2's budget (1000 steps): its random+DA run has most of its margin over
# initialisation by step 1000 (+0.047..+0.062 on 2 seeds), and the 12 cells fit a quarter hour.
FIG6_BUDGET = {"cpu": {"epochs": 1000}}
FIG8_WIDTH = {
    "full": [1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 393216, 524288],
    "cpu": [1024, 4096, 16384],
    "small": [64, 256, 1024, 4096, 16384],
    "tiny": [8, 32],
}
# 0 = one class per sample ("Per sample", Dosovitskiy et al.)
FIG9_CLASSES = {
    "full": [2, 5, 10, 50, 100, 200, 500, 1000, 2000, 5000, 0],
    "cpu": [2, 10, 0],
    "small": [2, 5, 10, 50, 100, 0],
    "tiny": [2, 0],
}
FIG11_NOISE = {
    "full": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0],
    "cpu": [0.0, 0.5, 1.0],
    "small": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
    "tiny": [0.0, 1.0],
}
# Figure 12's strengths 1..7, read as RandAugment magnitudes (the paper does not give the scale).
FIG12_LEVEL = {"full": [1, 2, 3, 4, 5, 6, 7], "cpu": [1, 4, 7], "small": [1, 3, 5, 7], "tiny": [1, 7]}
FIG13_NOISE = {
    "full": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
    # the ends of the paper's axis, the claim's two points: exactly table 2's 8 cells (a TOML grid with
    # these parameters adds noise 0.5)
    "cpu": [0.0, 1.0],
    "small": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
    "tiny": [0.0, 1.0],
}


# The n x B grid of a real network (figure 14's question on real data): training subset n x bank of B
# fixed augmentations, a random label per image (its B augmentations share it: bank_labels = image).
# Every cell of a scale trains the same t steps, so that the capacity C_t read off the B = 1 column
# (`bank_fit` = 1 under every seed) is the capacity at the budget every cell had: at cpu a step budget
# (batch 256, t = 500: a cell costs a quarter of a table 2 cell whatever its n), at small and tiny a
# batch that holds the largest n (one step an epoch, t = epochs). At full scale (batch 256) t grows
# with n. cpu: table 2's random+DA run (n = 1000, fresh augmentations) probes +0.04 over
# initialisation at 500 steps while fitting a fifth of its labels, and its random run without DA fits
# all of them by step 1000, so C_t(500) lies near n = 1000 and the cells n * B >> C_t are B = 16, 64.
NB = {
    "full": {"subset": [500, 1000, 2000, 5000, 10000, 25000, 50000], "bank": [1, 2, 4, 8, 16, 32, 64, 128]},
    "cpu": {"subset": [125, 250, 500, 1000], "bank": [1, 4, 16, 64]},
    "small": {"subset": [32, 64, 128, 256, 512], "bank": [1, 4, 16, 64], "batch_size": 512},
    "tiny": {"subset": [16, 32], "bank": [1, 4], "batch_size": 32},
}
NB_BUDGET = {
    "full": {"epochs": 1000, "eval_every": 100},
    # 32 cells: 47 min on 2 AVX2 cores; C_t at t = 500 steps of the constant rate (no cooldown: a fit
    # within t at the rate the cells train with, as appendix D.1 reads)
    "cpu": {"epochs": 0, "steps": 500, "eval_every": 0, "cooldown": 0.0},
    "small": {"epochs": 150, "eval_every": 50},
    "tiny": {"epochs": 3, "eval_every": 0},
}


# --- Feldman & Zhang's memorization scores (NeurIPS 2020), on a pool with injected wrong labels -------
# m models (the seeds), each on a random half of a pool of n images of which 20% carry a random label;
# every example scored with and without it (grids/train_cells.feldman_zhang_scores). No augmentation
# and a budget that fits every training label (at cpu: 125 images, one batch a step, 99% of random
# labels fitted by step ~40, figure 3), so that a model trained on an example predicts its label.
FZ = {
    "full": {"subset": 10000, "seeds": 64, "epochs": 200, "eval_every": 0},
    "cpu": {"subset": 250, "seeds": 32, "epochs": 0, "steps": 150, "eval_every": 0},
    "small": {"subset": 250, "seeds": 16, "epochs": 0, "steps": 100, "eval_every": 0},
    "tiny": {"subset": 40, "test_subset": 40, "seeds": 4, "epochs": 2, "eval_every": 0},
}
FZ_NOISE = 0.2  # share of the pool relabelled at random (a tenth of those keep their class by chance)

# --- SSLMem (Wang et al., ICLR 2024) of SimCLR encoders, on a pool with injected outlier images ----
# m SimCLR models (the seeds; NT-Xent on two views, the training core's loss = "simclr"), each on a
# random half of a pool of which 5% are images of scikit-learn's digits among Fashion-MNIST: nothing
# else in the pool resembles an outlier, so its views align under a model that trained on it and not
# under one that did not. At cpu one step a batch of the 125 images' 250 views.
SSLMEM = {
    "full": {"subset": 10000, "seeds": 32, "epochs": 200, "eval_every": 0},
    # 64 encoders of 300 steps, each example's alignment averaged over 64 pairs of views. Noise limits
    # the known answer, not the budget (8 encoders of 1500 steps: AUROC 0.584; 32 on a pool of 64, 600
    # steps: 0.624). Of it, the views drawn: the same 16 encoders give 0.680 with 8 pairs, 0.755 with
    # 64, 0.765 with 256 (the score's standard error 0.0131, 0.0099, 0.0095); the rest is the encoders',
    # which falls as 1 / sqrt(m): 64 encoders x 64 pairs give AUROC 0.840 (stderr 0.0052) in 22 min on
    # two workers (docs/memorization-scores.md)
    "cpu": {"subset": 250, "seeds": 64, "epochs": 0, "steps": 300, "eval_every": 0, "view_pairs": 64},
    "small": {"subset": 250, "seeds": 8, "epochs": 0, "steps": 150, "eval_every": 0},
    "tiny": {"subset": 40, "test_subset": 40, "seeds": 4, "epochs": 2, "eval_every": 0},
}


# --- LayerMem (Wang et al., NeurIPS 2024) of table 2's random + DA network --------------------------
# m networks (the seeds) trained as table 2's random + DA cell, each on a random half of its pool (at
# cpu 125 of the 250 images, their random labels fixed by the grid), every example's views compared
# at every layer under the networks that trained on it and those that did not: where in the network
# is an example memorised? (beside figure 4's layer-wise probe and UnitMem, docs/memorization-scores.md)
LAYERMEM = {
    "full": {"seeds": 16},
    "cpu": {"seeds": 8},  # 3000 steps on 125 images: about 4 min a network on one core
    "small": {"seeds": 8},
    "tiny": {"seeds": 4, "subset": 40, "test_subset": 40},
}


def _train(scale: str, **over) -> dict:
    return {**BASE[scale], **over}


def _fig7(scale: str, settings: list[dict]) -> dict:
    """Figure 7's cells at `scale` with the given settings: table 1 and figure 4 at cpu are its cells."""
    return _train(scale, setting=settings, **FIG7_CPU, seeds=_seeds(scale))


def _seeds(scale: str, full: int = 1, small: int = 1) -> int:
    return {"full": full, "small": small, "cpu": 2, "tiny": 1}[scale]


def train_preset(name: str, scale: str) -> dict:
    s = scale
    if name in ("table2", "table4"):  # table 4 is table 2's runs probed linearly: the same cells
        axes = (
            {"dataset": ["cifar10", "cifar100", "tinyimagenet"], "arch": ["resnet18", "vgg11"]}
            if s == "full"
            else {}
        )
        # at cpu probed at the end only, as figure 13, whose cells at noise 0 and 1 these are (a report
        # trains them once: grids/shared_cells.py)
        return _train(
            s, **axes, setting=TABLE2_SETTINGS, seeds=_seeds(s, 2, 2), **FINAL_PROBE_ONLY.get(s, {})
        )
    if name == "table1":  # layer-wise probes of a random-label run without augmentation
        if s == "cpu":
            return _fig7(s, [RANDOM])
        return _train(s, **RANDOM_LABELS_NO_DA, layer_probes=True, seeds=_seeds(s))
    if name == "table3":
        return _train(
            s,
            subset={"tiny": 64, "cpu": BASE["cpu"]["subset"]}.get(s, 1000),
            setting=TABLE3_SETTINGS,
            **({"iid": 4} if s == "tiny" else {}),
            seeds=_seeds(s, 2, 2),
            **FINAL_PROBE_ONLY.get(s, {}),
        )
    if name == "fig3":  # training loss and fit, clean against random labels, no augmentation
        return _train(
            s, setting=[RANDOM, CLEAN], linear_probe=False, seeds=_seeds(s), **FIG3_CURVE.get(s, {})
        )
    if name == "fig4":  # layer-wise probes of a random+DA run (and its training loss)
        if s == "cpu":
            return _fig7(s, [RANDOM_DA])
        return _train(s, labels="random", layer_probes=True, seeds=_seeds(s, 1, 2))
    if name == "fig6":  # B fixed augmentations, label-preserving or random per augmentation; no mixup
        return _train(
            s,
            labels="random",
            mixup="off",
            bank=FIG6_B[s],
            bank_labels=["image", "random"],
            seeds=_seeds(s),
            **FINAL_PROBE_ONLY.get(s, {}),
            **FIG6_BUDGET.get(s, {}),
        )
    if name == "fig7":  # normalized invariance per layer over epochs, four settings (two at cpu)
        if s == "cpu":
            return _fig7(s, [RANDOM, RANDOM_DA])
        return _train(s, setting=[CLEAN, CLEAN_DA, RANDOM, RANDOM_DA], layer_probes=True, seeds=_seeds(s))
    # figures 8 and 9 draw the final probe against the width / the classes: at cpu probed at the end
    # only, so that figure 8's width-4096 cells are table 2's random + DA cells (trained once)
    if name == "fig8":
        widths = FIG8_WIDTH[s]
        return _train(
            s, labels="random", projector_width=widths, seeds=_seeds(s), **FINAL_PROBE_ONLY.get(s, {})
        )
    if name == "fig9":
        return _train(s, label_classes=FIG9_CLASSES[s], seeds=_seeds(s), **FINAL_PROBE_ONLY.get(s, {}))
    if name == "fig10":  # transfer of the embedding to other datasets, against label noise, with / without DA
        # small: Fashion-MNIST -> MNIST (1 channel; MNIST must be on disk or --download given); cpu,
        # offline: trained on Fashion-MNIST's classes 0-4, probed on its held-out classes 5-9 and on
        # scikit-learn's digits (both on every machine)
        transfer = {"full": "cifar100,stl10", "small": "mnist", "tiny": "mnist"}.get(
            s, "fashion-mnist:5-9,digits"
        )
        return _train(
            s,
            **({"dataset": "fashion-mnist:0-4"} if s == "cpu" else {}),
            label_noise=FIG13_NOISE[s],
            setting=[{"name": "no augmentations", **NO_DA}, {"name": "augmentations"}],
            transfer=transfer,
            transfer_subset={"full": 0, "small": 2000, "cpu": 0, "tiny": 100}[s],
            seeds=_seeds(s),
        )
    if name == "fig11":
        axes = {"dataset": ["cifar10", "tinyimagenet"]} if s == "full" else {}
        return _train(s, **axes, label_noise=FIG11_NOISE[s], seeds=_seeds(s))
    if name == "fig12":  # online RandAugment only, random labels
        return _train(s, labels="random", mixup="off", randaugment=FIG12_LEVEL[s], seeds=_seeds(s))
    if name == "fig13":
        with_da = {"name": "with augmentations"}
        return _train(
            s,
            label_noise=FIG13_NOISE[s],
            setting=[{"name": "without augmentations", **NO_DA}, with_da],
            seeds=_seeds(s),
            **FINAL_PROBE_ONLY.get(s, {}),
        )
    if name == "nb":
        return _train(
            s,
            labels="random",
            bank_labels="image",
            mixup="off",
            linear_probe=False,
            **NB[s],
            **NB_BUDGET[s],
            seeds={"full": 2, "cpu": 2, "small": 2, "tiny": 1}[s],
        )
    if name == "fz":
        return _train(
            s,
            train_share=0.5,
            label_noise=FZ_NOISE,
            **NO_DA,
            linear_probe=False,
            probe_reference="subset",
            **FZ[s],
        )
    if name == "sslmem":
        return _train(
            s,
            loss="simclr",
            labels="clean",
            train_share=0.5,
            outliers=0.05,
            outlier_dataset="digits" if s != "full" else "cifar100",  # classes CIFAR-10 lacks
            mixup="off",
            linear_probe=False,
            probe_reference="subset",
            **SSLMEM[s],
        )
    if name == "layermem":
        return _train(
            s,
            labels="random",
            train_share=0.5,
            linear_probe=False,
            probe_reference="subset",
            **LAYERMEM[s],
        )
    raise KeyError(name)


PRESETS = (
    "table1",
    "table2",
    "table3",
    "table4",
    "fig3",
    "fig4",
    "fig6",
    "fig7",
    "fig8",
    "fig9",
    "fig10",
    "fig11",
    "fig12",
    "fig13",
    "fig14",
    "fig14k",
    "nb",
    "fz",
    "sslmem",
    "layermem",
    "memscore",
    "memscore-mlp",
    "corruption",
    "profiles",
)
MEMSCORE_PRESETS = ("memscore", "memscore-mlp", "corruption")  # kind memscore (grids/presets/memscore.py)
# The presets with a cpu version, in the order a report runs them (figure 14 over K, fig14k, is the
# toy's family over K, at small).
CPU_PRESETS = (
    "table2",
    "table4",
    "fig13",
    "fig14",
    "fig7",
    "table1",
    "fig4",
    "table3",
    "fig3",
    "fig6",
    "fig11",
    "fig8",
    "fig9",
    "fig12",
    "fig10",
    "nb",
    "fz",
    "sslmem",
    "layermem",
    "memscore",
    "memscore-mlp",
    "corruption",
    "profiles",
)


def preset_dict(name: str, scale: str) -> dict:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid: {', '.join(SCALES)}")
    if name not in presets_at(scale):
        raise ValueError(
            f"preset {name} has no {scale} version; presets with one: {', '.join(presets_at(scale))}"
        )
    if name in ("fig14", "fig14k"):
        return dict({"fig14": FIG14, "fig14k": FIG14K}[name][scale])
    if name == "profiles":
        from benign.grids.presets.profiles import PRESETS as PROFILES
        from benign.grids.presets.profiles import grid_preset

        if scale not in PROFILES:  # a scale taken away (a test); every scale has one today
            raise ValueError(
                f"preset profiles has no {scale} version; scales with one: {', '.join(PROFILES)}"
            )
        return grid_preset(scale)
    if name in MEMSCORE_PRESETS:
        from benign.grids.presets.memscore import grid_preset

        return grid_preset(name, scale)
    return train_preset(name, scale)


def presets_at(scale: str) -> tuple[str, ...]:
    """The presets that have a version at `scale`."""
    return CPU_PRESETS if scale == "cpu" else PRESETS
