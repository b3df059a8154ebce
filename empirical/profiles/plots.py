"""Figures 1-4 of the paper and appendix C (t-SNE map, activation maximisation)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from benign.empirical.profiles import actmax  # noqa: E402
from benign.empirical.profiles.binomial import THRESHOLDS, align_epochs, binomial_curve, closest_epochs  # noqa: E402
from benign.empirical.profiles.modes import mode_names  # noqa: E402
from benign.empirical.profiles.summary import coins_per_network, done, profiles  # noqa: E402
from benign.empirical.profiles.tsne import tsne  # noqa: E402


def _methods(ds):
    out = []
    for code, name in zip(ds["method"].values, mode_names(ds["method"].values)):
        if done(ds, code).shape[0]:
            out.append((code, name))
    if not out:
        raise ValueError("the result holds no finished network")
    return out


def _rank(k):
    return np.arange(k) / max(k - 1, 1)


def figure1(ds, path):
    """Sorted p_t(x) at every epoch, one panel per method."""
    ms = _methods(ds)
    fig, axes = plt.subplots(1, len(ms), figsize=(3.2 * len(ms), 3), squeeze=False, sharey=True)
    epochs = ds["epoch"].values
    cmap = plt.get_cmap("viridis")
    for ax, (code, name) in zip(axes[0], ms):
        p, _ = profiles(ds, code)
        for t, _e in enumerate(epochs):
            ax.plot(_rank(p.shape[1]), np.sort(p[t]), color=cmap(t / max(len(epochs) - 1, 1)), lw=1)
        ax.set_title(f"{name} (t_max={epochs[-1]})")
        ax.set_xlabel("examples (sorted)")
    axes[0, 0].set_ylabel("p_t(x)")
    return _save(fig, path)


def figure2(ds, path, draws_seed=0):
    """Profiles (solid) against sorted binomial noise: Bin(N)/N dotted (the paper's comparison) and,
    for p_t(x), Bin(N M)/(N M) dashed (exact for independent coins); p_t(x) left, p_t(x~) right."""
    ms = _methods(ds)
    epochs = ds["epoch"].values
    pick = np.unique(np.linspace(0, len(epochs) - 1, min(4, len(epochs))).round().astype(int))
    rng = np.random.default_rng(draws_seed)
    fig, axes = plt.subplots(len(ms), 2, figsize=(7, 2.6 * len(ms)), squeeze=False, sharey=True)
    for row, (code, name) in enumerate(ms):
        n = done(ds, code).shape[0]
        p, pf = profiles(ds, code)
        for col, curves in enumerate((p, pf[:, 0])):
            ax = axes[row, col]
            for j, t in enumerate(pick):
                c = f"C{j}"
                s = np.sort(curves[t])
                ax.plot(_rank(s.size), s, color=c, lw=1.2, label=f"epoch {epochs[t]}")
                ax.plot(_rank(s.size), binomial_curve(s.mean(), n, s.size, rng), color=c, ls=":", lw=1.2)
                if col == 0:
                    nm = n * coins_per_network(ds, code)
                    ax.plot(
                        _rank(s.size), binomial_curve(s.mean(), nm, s.size, rng), color=c, ls="--", lw=0.8
                    )
            ax.set_title(f"{name}: " + ("p_t(x)" if col == 0 else "p_t(x~), fixed augmentation"), fontsize=9)
        axes[row, 0].set_ylabel("share recognising")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(
        "solid: profile; dotted: Bin(N)/N (the paper's); dashed: Bin(NM)/(NM) (exact for independent coins)",
        fontsize=8,
    )
    return _save(fig, path)


def figure3(ds, path):
    """Profiles of all methods at the epochs where mean p_t is closest to 0.25 / 0.5 / 0.75; a method
    whose recorded epochs do not reach a threshold has no curve in that panel (named there)."""
    ms = _methods(ds)
    epochs = ds["epoch"].values
    fig, axes = plt.subplots(
        2, len(THRESHOLDS), figsize=(3.3 * len(THRESHOLDS), 6), squeeze=False, sharey=True
    )
    missing = {}
    for code, name in ms:
        p, pf = profiles(ds, code)
        for row, (curves, means) in enumerate(((p, p.mean(1)), (pf[:, 0], pf[:, 0].mean(1)))):
            for col, e in enumerate(align_epochs(means, epochs)):
                if e is None:  # the method does not reach this mean p_t: no curve, named in the panel
                    missing.setdefault((row, col), []).append(name)
                    continue
                t = int(np.where(epochs == e)[0][0])
                s = np.sort(curves[t])
                axes[row, col].plot(_rank(s.size), s, lw=1.2, label=f"{name} ({e})")
    for col, q in enumerate(THRESHOLDS):
        axes[0, col].set_title(f"mean p_t ~ {q}")
        for row in range(2):
            ax = axes[row, col]
            if ax.lines:
                ax.legend(fontsize=7)
            if (row, col) in missing:
                ax.text(
                    0.02,
                    0.98,
                    "not reached: " + ", ".join(missing[row, col]),
                    transform=ax.transAxes,
                    fontsize=7,
                    va="top",
                    color="C3",
                )
    axes[0, 0].set_ylabel("p_t(x)")
    axes[1, 0].set_ylabel("p_t(x~)")
    return _save(fig, path)


def figure4(ds, path, every: int | None = None):
    """p_t(x~) of each of the M augmentations (dots) around p_t(x) (line), examples sorted by p_t(x),
    at the epoch where mean p_t is closest to 0.5."""
    ms = _methods(ds)
    epochs = ds["epoch"].values
    fig, axes = plt.subplots(1, len(ms), figsize=(3.2 * len(ms), 3), squeeze=False, sharey=True)
    for ax, (code, name) in zip(axes[0], ms):
        p, pf = profiles(ds, code)
        e = closest_epochs(p.mean(1), epochs, (0.5,))[0]
        t = int(np.where(epochs == e)[0][0])
        order = np.argsort(p[t])
        step = every or max(1, len(order) // 40)
        idx = np.arange(0, len(order), step)
        for m in range(pf.shape[1]):
            ax.scatter(idx, pf[t, m, order[idx]], s=6, alpha=0.5, color="C0")
        ax.plot(np.arange(len(order)), p[t, order], color="k", lw=1.2)
        ax.set_title(f"{name} (epoch {e})", fontsize=9)
        ax.set_xlabel("examples sorted by p_t(x)")
    axes[0, 0].set_ylabel("p_t(x~)")
    return _save(fig, path)


def tsne_figure(ds, path, seed: int = 0):
    ms = [(c, n) for c, n in _methods(ds) if np.isfinite(ds["embedding"].sel({"method": c}).values).all()]
    fig, axes = plt.subplots(1, len(ms), figsize=(3.2 * len(ms), 3.2), squeeze=False)
    labels = ds["true_label"].values
    for ax, (code, name) in zip(axes[0], ms):
        y = tsne(ds["embedding"].sel({"method": code}).values, seed=seed)
        ax.scatter(y[:, 0], y[:, 1], c=labels, cmap="tab10", s=4)
        ax.set_title(name)
        ax.set_xticks([]), ax.set_yticks([])
    return _save(fig, path)


def actmax_figure(ds, path):
    ms = [(c, n) for c, n in _methods(ds) if np.isfinite(ds["actmax"].sel({"method": c}).values).all()]
    blocks, units = ds.sizes["block"], ds.sizes["unit"]
    fig, axes = plt.subplots(blocks, len(ms), figsize=(1.4 * units * len(ms), 1.5 * blocks), squeeze=False)
    for col, (code, name) in enumerate(ms):
        imgs = actmax.display(ds["actmax"].sel({"method": code}).values)  # (block, unit, C, H, W)
        for b in range(blocks):
            tiles = [np.moveaxis(imgs[b, u], 0, -1) for u in range(units)]
            strip = np.concatenate(tiles, axis=1)
            ax = axes[b, col]
            ax.imshow(strip[..., 0] if strip.shape[-1] == 1 else strip, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if b == 0:
                ax.set_title(name)
            if col == 0:
                ax.set_ylabel(f"block {b + 1}")
    return _save(fig, path)


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(ds: xr.Dataset, out_dir) -> list[Path]:
    out_dir = Path(out_dir)
    paths = [
        figure1(ds, out_dir / "fig1_profiles.png"),
        figure2(ds, out_dir / "fig2_binomial.png"),
        figure3(ds, out_dir / "fig3_aligned.png"),
        figure4(ds, out_dir / "fig4_augmentations.png"),
    ]
    if "embedding" in ds:
        paths.append(tsne_figure(ds, out_dir / "appC1_tsne.png"))
    if "actmax" in ds:
        paths.append(actmax_figure(ds, out_dir / "appC2_actmax.png"))
    return paths
