"""Figure 14 on the toy: train a batch of cells (n, B, seed) on random labels and measure each.

Per cell: k-NN accuracy for the clean class of unseen test points after training and at
initialisation (the reference that separates benign from malign memorization), the fraction
memorised of the n original points and of the n*B augmented ones, the final training loss,
W's energy on the noise coordinates, and the normalized invariance (eq. 2) of the encoder.

The k-NN probe is fitted on a separate labelled reference set of `n_probe` clean points (with
their true classes) and scored on `n_test` unseen points: with n as small as 5 the training points
alone could not fit a 20-NN probe, and the question is the quality of the representation W.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from benign.probes.knn_probe import knn_accuracy
from benign.theory import counter_random as cr
from benign.theory.gaussian_mixture import PROBE, TEST, GaussianMixture
from benign.theory.invariance import invariance_from_embeddings
from benign.theory.toy_model import BatchedToy, ToyTraining

VARIABLES = {
    "knn_acc": {
        "long_name": "k-NN probe accuracy on unseen test points (clean classes), after training",
        "units": "1",
    },
    "knn_acc_init": {"long_name": "k-NN probe accuracy at initialisation", "units": "1"},
    "mem_frac": {
        "long_name": "fraction of the n original points predicted as their random label",
        "units": "1",
    },
    "aug_mem_frac": {
        "long_name": "fraction of the n*B augmented points predicted as their random label",
        "units": "1",
    },
    "final_loss": {"long_name": "MSE over the n*B augmented training points after training", "units": "1"},
    "noise_energy": {"long_name": "share of |W|_F^2 on the noise coordinates", "units": "1"},
    "invariance": {
        "long_name": "normalized invariance I(x; W, T) of the encoder (eq. 2), mean over test points",
        "units": "1",
    },
}


@dataclass(frozen=True)
class ProbeSetup:
    n_probe: int = 1000  # labelled clean reference points of the k-NN probe
    n_test: int = 1000  # unseen test points it is scored on
    k: int = 20  # neighbours (the paper's K = 20)
    vote: str = "uniform"  # the authors' uniform vote on L2-normalised features
    invariance_pairs: int = 4

    def to_dict(self) -> dict:
        return asdict(self)


def run_toy_cells(
    mixture: GaussianMixture,
    training: ToyTraining,
    cells: list[dict],
    probe: ProbeSetup = ProbeSetup(),
    device="cpu",
    progress=None,
) -> list[dict]:
    """Train the cells [{n, B, seed}] as one batched computation; return one dict of VARIABLES per cell."""
    if not cells:
        return []
    n = [c["n"] for c in cells]
    B = [c["B"] for c in cells]
    seed = [c["seed"] for c in cells]
    toy = BatchedToy(mixture, training, device=device).fit(n, B, seed, progress=progress)
    mem = toy.memorisation()
    noise = toy.noise_energy()
    results = []
    gen = torch.Generator(device=device)
    for m, s in enumerate(seed):
        # The invariance's augmentations are a function of the cell alone, not of its batch-mates.
        gen.manual_seed(int(cr.hash_keys(s, n[m], B[m], 0x1A7)))
        s = torch.tensor(s)
        xp, zp = mixture.points(s, torch.arange(probe.n_probe), PROBE)
        xt, zt = mixture.points(s, torch.arange(probe.n_test), TEST)
        xp, zp, xt, zt = xp.to(device), zp.to(device), xt.to(device), zt.to(device)
        acc = {}
        for key, initial in (("knn_acc", False), ("knn_acc_init", True)):
            W = (toy.W_init_ if initial else toy.W_)[m].detach()
            acc[key] = knn_accuracy(xp @ W.T, zp, xt @ W.T, zt, mixture.C, k=probe.k, vote=probe.vote)
        W = toy.W_[m].detach()
        views = [
            torch.stack([mixture.augment(xt, gen) @ W.T for _ in range(probe.invariance_pairs)])
            for _ in range(2)
        ]
        inv = invariance_from_embeddings(views[0], views[1], xt @ W.T).mean().item()
        results.append(
            {
                **acc,
                "mem_frac": mem["mem_frac"][m].item(),
                "aug_mem_frac": mem["aug_mem_frac"][m].item(),
                "final_loss": mem["final_loss"][m].item(),
                "noise_energy": noise[m].item(),
                "invariance": inv,
            }
        )
    return results
