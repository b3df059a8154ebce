"""Figures of companion paper 3 from a `memscore run` result (matplotlib, Agg backend).

- histogram: memorization scores, clean vs corrupted examples (figure 2);
- dynamics: training accuracy of the whole set and of the easy / difficult subsets (figures 3a, 5a/c,
  6), test accuracy of the whole test pool and of its easy / difficult subsets (figures 3b, 5b/d),
  and the seen vs muted halves (figure 9); with a control run trained without the difficult subset
  (`--train-subset not-difficult`), its difficult-subset curves dotted (figure 5's control);
- gradients: eq. 3 cosine within the subsets and eq. 4 contribution over training (figure 4);
- examples: per class, the lowest and the highest scores with (label, seen, muted) predictions
  (appendix C, figures 7, 8).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def histogram(ds: xr.Dataset, path: Path, bins: int = 60) -> Path:
    score = ds["score"].values
    trained = ds["trained"].values.astype(bool)
    corrupted = ds["corrupted"].values.astype(bool)
    fig, ax = plt.subplots(figsize=(6, 4))
    edges = np.histogram_bin_edges(score[trained], bins=bins)
    if corrupted.any():
        ax.hist(
            score[trained & ~corrupted],
            bins=edges,
            alpha=0.6,
            label=f"clean ({(trained & ~corrupted).sum()})",
        )
        ax.hist(
            score[trained & corrupted],
            bins=edges,
            alpha=0.6,
            color="C3",
            label=f"random labels ({(trained & corrupted).sum()})",
        )
        ax.legend()
    else:
        ax.hist(score[trained], bins=edges)
    ax.set_yscale("log")
    ax.set_xlabel("memorization score: loss(muted) - loss(seen) [nats]")
    ax.set_ylabel("examples")
    ax.set_title(f"{ds.attrs.get('dataset', '')}: memorization scores")
    return _save(fig, path)


def control_curves(ds: xr.Dataset, control: xr.Dataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Figure 5's control: accuracy of *this* run's difficult subsets (training pool, test pool) over
    the epochs of a run trained without them; examples matched by dataset index.
    Returns {"train" | "test": (epochs, accuracy)} for the pools both runs share."""
    out = {}
    for pool, mask, index, correct in (
        ("train", "in_difficult", "dataset_index", "correct_seen"),
        ("test", "in_test_difficult", "test_dataset_index", "test_correct"),
    ):
        if mask not in ds or correct not in control or index not in control:
            continue
        wanted = ds[index].values[ds[mask].values.astype(bool)]
        hit = np.isin(control[index].values, wanted)
        if hit.any():
            out[pool] = (control["epoch"].values, control[correct].values[:, hit].astype(float).mean(1))
    return out


def dynamics(ds: xr.Dataset, path: Path, control: xr.Dataset | None = None) -> Path:
    epoch = ds["epoch"].values
    cs = ds["correct_seen"].values.astype(float)
    trained = ds["trained"].values.astype(bool)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ax = axes[0]
    ax.plot(epoch, cs[:, trained].mean(1), "k", label=f"trained ({trained.sum()})")
    if "in_easy" in ds:
        for name, color in (("easy", "C0"), ("difficult", "C3")):
            m = ds[f"in_{name}"].values.astype(bool)
            ls = "-" if (m & trained).any() else "--"
            ax.plot(
                epoch,
                cs[:, m].mean(1),
                color=color,
                ls=ls,
                label=f"{name} ({m.sum()}{'' if ls == '-' else ', not trained on'})",
            )
    controls = control_curves(ds, control) if control is not None else {}
    if "train" in controls:
        ax.plot(*controls["train"], color="C3", ls=":", label="difficult, control: trained without them")
    ax.set(
        xlabel="epoch", ylabel="training accuracy (seen halves)", title="training dynamics", ylim=(0, 1.02)
    )
    ax.legend(fontsize=8)
    ax = axes[1]
    n_test = ds.sizes.get("test_example")
    ax.plot(epoch, ds["test_accuracy"].values, "k", label=f"test ({n_test})" if n_test else "test")
    if "in_test_easy" in ds:
        tc = ds["test_correct"].values.astype(float)
        for name, color in (("easy", "C0"), ("difficult", "C3")):
            m = ds[f"in_test_{name}"].values.astype(bool)
            ax.plot(epoch, tc[:, m].mean(1), color=color, label=f"{name} ({m.sum()})")
    if "test" in controls:
        ax.plot(*controls["test"], color="C3", ls=":", label="difficult, control: trained without them")
    ax.set(xlabel="epoch", ylabel="test accuracy (full network)", title="test dynamics", ylim=(0, 1.02))
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(epoch, ds["accuracy_seen"].values, label="seen (un-muted) halves")
    ax.plot(epoch, ds["accuracy_muted"].values, label="muted halves")
    ax.set(xlabel="epoch", ylabel="training accuracy", title="sub-networks (figure 9)", ylim=(0, 1.02))
    ax.legend(fontsize=8)
    title = ds.attrs.get("subsets", "")
    if "in_test_easy" in ds:
        title += f"\ntest: {ds.attrs.get('test_subsets', '')}"
    fig.suptitle(title, fontsize=9, y=1.0 + 0.04 * (title.count("\n") + 1))
    return _save(fig, path)


def gradients(ds: xr.Dataset, path: Path) -> Path:
    if "grad_step" not in ds.dims:
        raise ValueError(
            "this result has no per-example gradient statistics (run with subsets and --grad-every > 0)"
        )
    x = ds["grad_epoch"].values
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, color in (("easy", "C0"), ("difficult", "C3")):
        axes[0].plot(x, ds[f"cosine_{name}"].values, color=color, label=name)
        axes[1].plot(x, ds[f"contribution_{name}"].values, color=color, label=name)
    axes[1].plot(x, ds["contribution_all"].values, "k", label="all")
    axes[0].set(xlabel="epoch", ylabel="mean pairwise cosine (eq. 3)", title="gradient similarity")
    axes[1].set(
        xlabel="epoch", ylabel="mean (v_i . g)/||g|| (eq. 4)", title="contribution to the batch gradient"
    )
    for ax in axes:
        ax.legend(fontsize=8)
    return _save(fig, path)


def example_grid(ds: xr.Dataset, path: Path, kind: int) -> Path:
    """kind 0: lowest scores per class, 1: highest. Columns are classes."""
    sel = ds["showcase_kind"].values == kind
    if not sel.any():
        raise ValueError("this result has no showcased examples (run with --show > 0)")
    ex = ds["showcase_example"].values[sel]
    imgs = ds["showcase_image"].values[sel]
    labels = ds["label"].values[ex]
    classes = sorted(set(labels.tolist()))
    rows = max(int((labels == c).sum()) for c in classes)
    fig, axes = plt.subplots(rows, len(classes), figsize=(1.5 * len(classes), 1.75 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for j, c in enumerate(classes):
        members = np.nonzero(labels == c)[0]
        for r, k in enumerate(members[::-1] if kind == 1 else members):  # most extreme score first
            e = ex[k]
            img = imgs[k]
            ax = axes[r, j]
            if img.shape[0] == 1:
                ax.imshow(img[0], cmap="gray", vmin=0, vmax=255)
            else:
                ax.imshow(np.transpose(img, (1, 2, 0)))
            mark = "*" if int(ds["corrupted"].values[e]) else ""
            ax.set_title(
                f"{float(ds['score'].values[e]):.2f}\n({labels[k]}{mark},{int(ds['pred_seen'].values[e])},"
                f"{int(ds['pred_muted'].values[e])})",
                fontsize=7,
            )
    fig.suptitle(
        ("lowest" if kind == 0 else "highest") + " memorization scores per class; "
        "(label, seen, muted), * = corrupted label",
        fontsize=9,
    )
    return _save(fig, path)


def plot_all(ds: xr.Dataset, out_dir: Path, control: xr.Dataset | None = None) -> list[Path]:
    out_dir = Path(out_dir)
    paths = [histogram(ds, out_dir / "scores_histogram.png"), dynamics(ds, out_dir / "dynamics.png", control)]
    if "grad_step" in ds.dims:
        paths.append(gradients(ds, out_dir / "gradients.png"))
    if ds.sizes.get("showcase", 0):
        paths += [
            example_grid(ds, out_dir / "examples_lowest.png", 0),
            example_grid(ds, out_dir / "examples_highest.png", 1),
        ]
    return paths
