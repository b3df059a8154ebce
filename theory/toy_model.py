"""Linear encoder + kernel projector (appendix E), M independent models trained as one computation.

A cell of figure 14 is (n, B, seed): n training points with random labels, each with a fixed bank
of B augmentations (the first being the identity), so the effective training set has n*B points. All cells of a batch share one
leading model axis: W (M, d, d), V (M, K, d), prototype labels L (M, K, C'). A step draws, for every
cell, `batch_size` (point, augmentation) pairs from that cell's own n*B set, so cells of different
sizes need no padding inside a step. Minibatch indices, initial weights and labels are counter-based
functions of the cell's seed, which makes a cell's training identical whether it runs alone or in
a batch (up to floating-point summation order), and independent of which other cells share the batch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from benign.theory import counter_random as cr
from benign.theory.gaussian_mixture import MODEL, GaussianMixture
from benign.theory.kernel_projector import balanced_prototype_labels, kernel_projector, squared_distances
from benign.theory.training_loop import fit

_STEP_STREAM = 0x57E9


@dataclass(frozen=True)
class ToyTraining:
    # Prototypes. K raises the capacity C_t only when the prototypes train: a trained prototype can
    # sit on one point of its label, so C_t grows with K beyond the encoder's share (about d): roughly
    # in proportion once K >> d (d = 8, one lr: C_t / K ~ 0.65 for K = 20..80, levelling off near
    # 50-60 at K = 160; prototypes 10x faster than W: 14, 24, 51, 74 for K = 20..160), and far less
    # when K is not far above d (d = 16: about +10 per factor 4 in K). With fixed prototypes the
    # encoder sets it: a linear W puts any n <= d points on prototypes of their labels, and more
    # fixed prototypes make the inverse-distance projector harder, not easier, to fit exactly, so
    # C_t falls with K
    # (docs/toy.md, "Capacity: when K sets it and when d does"; theory.capacity bounds the hard limit).
    K: int = 32
    steps: int = 1000  # the budget t of appendix D.1
    lr: float = 0.01  # Adam, betas (0.9, 0.999) as in table 6
    # The trained prototypes' learning rate is lr * prototype_lr_ratio (the encoder's stays lr). With
    # prototypes 10x faster than W the prototypes do the memorising and the slow encoder mostly loses
    # the noise coordinates, instead of bending the signal ones to fit the random labels: the benign
    # side of figure 14 with K setting C_t (docs/toy.md, "Figure 14 over K"; the fig14k preset).
    prototype_lr_ratio: float = 1.0
    batch_size: int = 256  # (point, augmentation) pairs per cell and step
    # Fixed prototypes leave all learning to the encoder W; trained ones let V chase the random
    # labels and W bend the signal subspace, which hides the benign effect (docs/toy.md).
    train_prototypes: bool = False
    label_classes: int | None = None  # C' random classes; None = C
    label_noise: float = 1.0  # fraction of labels replaced by random ones (1 = all random)

    def __post_init__(self):
        if self.K < 1 or self.steps < 0 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError("need K >= 1, steps >= 0, batch_size >= 1, lr > 0")
        if not self.prototype_lr_ratio > 0:
            raise ValueError(f"prototype_lr_ratio must be positive, got {self.prototype_lr_ratio}")
        if not 0.0 <= self.label_noise <= 1.0 or (self.label_classes is not None and self.label_classes < 1):
            raise ValueError("need 0 <= label_noise <= 1 and label_classes >= 1")

    def to_dict(self) -> dict:
        return asdict(self)


def _as_long(v, device) -> Tensor:
    return torch.as_tensor(v, dtype=torch.long, device=device).reshape(-1)


class BatchedToy:
    """Trains M toy models on random labels with MSE; scikit-learn style (fit returns self).

    Learned attributes: W_ (M, d, d), V_ (M, K, d), W_init_, prototype_labels_ (M, K, C'),
    loss_curve_ (steps, M) of the minibatch losses.
    """

    def __init__(
        self,
        mixture: GaussianMixture,
        training: ToyTraining,
        device: str | torch.device = "cpu",
        dtype=torch.float32,
    ):
        self.mixture = mixture
        self.training = training
        self.device = torch.device(device)
        self.dtype = dtype

    # --- data of a batch of cells -------------------------------------------------------------
    def _setup(self, n, B, seed, data_seed=None):
        mx, tr, dev = self.mixture, self.training, self.device
        self.n_, self.B_, self.seed_ = _as_long(n, dev), _as_long(B, dev), _as_long(seed, dev)
        self.data_seed_ = self.seed_ if data_seed is None else _as_long(data_seed, dev)
        if not (self.n_.shape == self.B_.shape == self.seed_.shape == self.data_seed_.shape):
            raise ValueError("n, B, seed (and data_seed) must have one entry per cell")
        if (self.n_ < 1).any() or (self.B_ < 1).any():
            raise ValueError("n and B must be positive")
        self.num_labels_ = tr.label_classes or mx.C
        n_max = int(self.n_.max())
        # Points and banks depend on (data seed, index) only: draw them once per distinct data seed.
        seeds, self.seed_slot_ = torch.unique(self.data_seed_, return_inverse=True)
        index = torch.arange(n_max)
        x, z = mx.points(seeds[:, None].cpu(), index, dtype=self.dtype)
        slot = self.seed_slot_.cpu()
        self.x_train_, self.z_train_ = x[slot].to(dev), z[slot].to(dev)
        # Labels are the cell's own (its seed): with a shared data seed, one set of points, many labellings.
        labels = mx.random_labels(
            self.seed_[:, None].cpu(), index, self.num_labels_, tr.label_noise, clean=z[slot]
        )
        self.labels_ = labels.to(dev)
        self.targets_ = torch.nn.functional.one_hot(self.labels_, self.num_labels_).to(self.dtype)
        # One dense bank per distinct data seed, (S, n_max, B_max, d - d1): cells of a data seed share it.
        self.B_max_ = int(self.B_.max())
        self.bank_ = torch.zeros(len(seeds), n_max, self.B_max_, mx.d - mx.d1, dtype=self.dtype)
        for slot, s in enumerate(seeds.tolist()):
            mine = self.data_seed_ == s
            n_s, B_s = int(self.n_[mine].max()), int(self.B_[mine].max())
            self.bank_[slot, :n_s, :B_s] = mx.augmentation_bank(s, n_s, B_s, dtype=self.dtype)
        self.bank_ = self.bank_.to(dev)
        golden = (math.sqrt(5) - 1) / 2
        self._weyl = torch.remainder(
            torch.arange(tr.batch_size, device=dev, dtype=torch.float64) * golden, 1.0
        )

    def _rows(self, m, i, b):
        """Flat indices into the bank (viewed as (-1, d - d1)) of cell(s) m, point i, augmentation b."""
        n_max = self.x_train_.shape[1]
        return (self.seed_slot_[m] * n_max + i) * self.B_max_ + b

    def _init_params(self):
        mx, tr, dev = self.mixture, self.training, self.device
        seed = self.seed_.cpu()[:, None, None]
        r = torch.arange(mx.d)
        W = cr.normal(seed, MODEL, 0, r[:, None], r, dtype=self.dtype) / math.sqrt(mx.d)
        # Prototypes start at the scale of h = W x: Var(h_j) = E|x|^2 / d.
        ex2 = mx.d1 * (mx.sigma**2 / 10 + mx.centre_scale**2) + (mx.d - mx.d1) * mx.sigma**2
        V = math.sqrt(ex2 / mx.d) * cr.normal(
            seed, MODEL, 1, torch.arange(tr.K)[:, None], r, dtype=self.dtype
        )
        self.W_init_ = W.to(dev)
        self.W_ = W.clone().to(dev).requires_grad_(True)
        self.V_ = V.to(dev).requires_grad_(tr.train_prototypes)
        self.prototype_labels_ = balanced_prototype_labels(tr.K, self.num_labels_, self.seed_.cpu()).to(
            dev, self.dtype
        )

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        """The minibatch of `step` for every cell: inputs (M, m, d), one-hot targets (M, m, C').

        Rows r of the cell's n*B set are drawn by a randomly shifted Weyl sequence,
        r_j = floor(nB * frac(u + j * phi)) with u = hash(seed, step): a stratified sample that costs
        one hash per cell and step (hashing every row was half the step's time).
        """
        m = self.training.batch_size
        u = cr.uniform(self.seed_, _STEP_STREAM, step, dtype=torch.float64, device=self.device)
        frac = torch.remainder(u[:, None] + self._weyl[:m], 1.0)
        size = self.n_ * self.B_
        r = torch.minimum((frac * size[:, None]).long(), size[:, None] - 1)
        i, b = r // self.B_[:, None], r % self.B_[:, None]
        M, n_max, d = self.x_train_.shape
        cell = torch.arange(M, device=self.device)[:, None]
        x = self.x_train_.reshape(-1, d)[cell * n_max + i]
        x[..., self.mixture.d1 :] += self.bank_.reshape(-1, d - self.mixture.d1)[self._rows(cell, i, b)]
        y = self.targets_.reshape(M * n_max, -1)[cell * n_max + i]
        return x, y

    def forward(self, x: Tensor, W: Tensor | None = None) -> Tensor:
        """Projector outputs (M, m, C') for inputs (M, m, d)."""
        W = self.W_ if W is None else W
        return kernel_projector(x @ W.transpose(1, 2), self.V_, self.prototype_labels_)

    def fit(self, n, B, seed, progress=None, data_seed=None) -> BatchedToy:
        """Train the cells (n[m], B[m], seed[m]). The seed sets the random labels, the initialisation
        and the minibatches; `data_seed` (default: the seed) sets the points and their augmentation
        bank, so cells with one data seed and different seeds are labellings of the same points
        (definition D.1, theory.capacity)."""
        self._setup(n, B, seed, data_seed)
        self._init_params()
        tr = self.training
        groups = [{"params": [self.W_]}]
        if tr.train_prototypes:
            groups.append({"params": [self.V_], "lr": tr.lr * tr.prototype_lr_ratio})
        opt = torch.optim.Adam(groups, lr=tr.lr, betas=(0.9, 0.999))
        curve = torch.empty(self.training.steps, len(self.n_))

        def loss(batch: int, step: int) -> Tensor:  # one epoch of `steps` batches, each named by its step
            x, y = self.batch(step)
            # (M,) per-cell MSE; cells share no parameter, so their summed loss trains each on its own
            return (self.forward(x) - y).pow(2).sum(-1).mean(-1)

        def after_step(value: Tensor, batch: int, done: int, seconds: float) -> None:
            curve[batch] = value.cpu()
            if progress is not None:
                progress(done)

        steps = self.training.steps
        fit(opt, lambda epoch: range(steps), loss, steps, max(1, steps), after_step=after_step)
        self.loss_curve_ = curve
        return self

    # --- read-outs ----------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, x: Tensor, initial: bool = False) -> Tensor:
        W = self.W_init_ if initial else self.W_
        return x @ W.detach().transpose(-1, -2)

    @torch.no_grad()
    def memorisation(self, predict: str = "soft", chunk: int = 65536) -> dict[str, Tensor]:
        """Per cell: share of the n clean points and of the n*B augmented points predicted as their
        random label, and the full training loss over the n*B augmented points.

        predict: "soft", the arg-max of g_V (the trained model's own prediction), or "hard", the
        label of the nearest prototype (the limit whose capacity theory.capacity bounds).
        """
        if predict not in ("soft", "hard"):
            raise ValueError(f"predict must be 'soft' or 'hard', got {predict!r}")
        M, d1 = len(self.n_), self.mixture.d1
        mem, aug_mem, loss = torch.empty(M), torch.empty(M), torch.empty(M)
        W, V, L = self.W_.detach(), self.V_.detach(), self.prototype_labels_
        for m in range(M):
            n, B = int(self.n_[m]), int(self.B_[m])
            x, y = self.x_train_[m, :n], self.labels_[m, :n]
            label_of = lambda out, h, m=m: (
                out if predict == "soft" else L[m][squared_distances(h, V[m]).argmin(-1)]
            ).argmax(-1)
            h = x @ W[m].T
            mem[m] = (label_of(kernel_projector(h, V[m], L[m]), h) == y).double().mean()
            hits, total = 0, 0.0
            for start in range(0, n * B, chunk):
                rows = torch.arange(start, min(start + chunk, n * B), device=self.device)
                xa = x[rows // B].clone()
                xa[:, d1:] += self.bank_.reshape(-1, self.mixture.d - d1)[self._rows(m, rows // B, rows % B)]
                h = xa @ W[m].T
                out = kernel_projector(h, V[m], L[m])
                hits += int((label_of(out, h) == y[rows // B]).sum())
                total += float((out - self.targets_[m, rows // B]).pow(2).sum())
            aug_mem[m], loss[m] = hits / (n * B), total / (n * B)
        return {"mem_frac": mem, "aug_mem_frac": aug_mem, "final_loss": loss}

    @torch.no_grad()
    def noise_energy(self, initial: bool = False) -> Tensor:
        """Share of W's squared Frobenius norm on the noise coordinates, |W[:, d1:]|^2 / |W|^2 (M,)."""
        W = (self.W_init_ if initial else self.W_).detach()
        return (W[..., self.mixture.d1 :].pow(2).sum((-1, -2)) / W.pow(2).sum((-1, -2))).cpu()
