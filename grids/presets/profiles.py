"""Named settings of `benign profiles run --scale S`: scale -> ProfileConfig fields."""

# small: Fashion-MNIST on a CPU in minutes; N, M, K and the epochs are reduced (stated in the
# report). Adam for every mode at lr 2e-3 (SGD at the paper's 3e-4 barely moves in a few epochs; 5e-3
# memorised more slowly in a trial). K = the whole training subset = 128 images and batch 16: random
# labels with augmentation and SimCLR memorise per gradient step, so few images and small batches
# give them the most steps per CPU second; batch 16 also makes SimCLR's recognition a choice among
# 31 in-batch candidates. Trials (2 networks, 60 epochs) reached mean p_t 0.48 (random_aug) and 0.30
# (SimCLR) this way, against 0.37 / 0.14 with 256 images and batch 64. full: section 3 (ResNet-18,
# CIFAR-10, N = 30, M = 10, K = 1000, batch 256, lr 3e-4, wd 1e-4, Adam for SimCLR, SGD momentum 0.9
# otherwise; the epoch budget is not stated in the paper: 100 here).
PRESETS = {
    "small": dict(
        dataset="fashion-mnist",
        networks=6,
        augmentations=4,
        epochs=80,
        examples=128,
        train_size=128,
        arch="small_cnn",
        cnn_width=16,
        projector_width=256,
        batch_size=16,
        lr=2e-3,
        simclr_lr=2e-3,
        optimizer="adam",
        simclr_optimizer="adam",
    ),
    "full": dict(
        dataset="cifar10",
        networks=30,
        augmentations=10,
        epochs=100,
        examples=1000,
        train_size=0,
        arch="resnet18",
        cnn_width=32,
        projector_width=512,
        batch_size=256,
        lr=3e-4,
        simclr_lr=3e-4,
        optimizer="sgd",
        simclr_optimizer="adam",
    ),
}
# cpu: the small preset's data and optimiser with the budget of about an hour on a 2-core CPU
# (--workers 2 --max-batch 2), N = 4 networks (N*M = 16 trials per image). Measured with this
# preset at 160 epochs (10 min): random_aug reached mean p_t 0.75 at epoch 100, SimCLR only 0.39
# (0.23 at 40, 0.31 at 80). 500 epochs (4000 steps, 20 min) take the three other modes to 0.75 and
# SimCLR to 0.54 (0.5 at epoch 317); its 0.75 is out of an hour's reach (docs/companions.md extrapolates
# the budget it would need).
PRESETS["cpu"] = {**PRESETS["small"], "networks": 4, "epochs": 500}
# tiny: seconds (tests of the report that runs the companions)
PRESETS["tiny"] = {
    **PRESETS["small"],
    "networks": 2,
    "augmentations": 2,
    "epochs": 2,
    "examples": 32,
    "train_size": 64,
    "cnn_width": 4,
    "projector_width": 16,
}


def grid_preset(scale: str) -> dict:
    """The preset at `scale` as a grid of kind profiles: a (method, seed) cell per network, blocks of
    two networks (the local workers of a report share the machine; the shipped cpu file was made so)."""
    p = dict(PRESETS[scale])
    networks = p.pop("networks")
    return {"kind": "profiles", **p, "block": 2, "seeds": list(range(networks))}
