"""Tiny datasets written in each real on-disk format, for the loaders and end-to-end CLI runs."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np


def write_cifar10(root: Path, n_train: int = 40, n_test: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    xs, ys = [], []
    per = n_train // 5
    for i in range(1, 6):
        x = rng.integers(0, 256, (per, 3 * 32 * 32), dtype=np.uint8)
        y = [int(v) for v in (np.arange(per) + i) % 10]
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump({"data": x, "labels": y, "batch_label": f"batch {i}"}, f)
        xs.append(x), ys.append(y)
    xt = rng.integers(0, 256, (n_test, 3072), dtype=np.uint8)
    yt = [int(v) for v in np.arange(n_test) % 10]
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": xt, "labels": yt}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    return np.concatenate(xs).reshape(-1, 3, 32, 32), np.concatenate(ys)


def write_cifar100(root: Path, n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        with open(folder / split, "wb") as f:
            pickle.dump(
                {"data": x, "fine_labels": list(range(100)) * (n // 100), "coarse_labels": [0] * n}, f
            )
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [str(i) for i in range(100)]}, f)


def _idx(path: Path, arr: np.ndarray, gz: bool = True):
    header = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def write_mnist_like(
    root: Path,
    folder: str = "FashionMNIST",
    n_train: int = 60,
    n_test: int = 30,
    seed: int = 0,
    gz: bool = True,
    size: int = 28,
):
    """Class-dependent images so that a probe can beat chance."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = np.arange(n) % 10
        x = rng.integers(0, 60, (n, size, size))
        for c in range(10):  # a bright bar whose position codes the class
            x[y == c, 2 + 2 * c : 4 + 2 * c, 4:24] += 180
        _idx(raw / f"{prefix}-images-idx3-ubyte", x, gz)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", y, gz)
        out[prefix] = (x.astype(np.uint8), y)
    return out


def write_stl10(root: Path, n: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    x = rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8)
    y = (np.arange(n) % 10 + 1).astype(np.uint8)
    for split in ("train", "test"):
        x.transpose(0, 1, 3, 2).tofile(folder / f"{split}_X.bin")  # column-major planes on disk
        y.tofile(folder / f"{split}_y.bin")
    return x, y - 1


def write_tinyimagenet(root: Path, classes=("n01443537", "n01629819"), per_class: int = 2, seed: int = 0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder = root / "tiny-imagenet-200"
    (folder / "val" / "images").mkdir(parents=True, exist_ok=True)
    (folder / "wnids.txt").write_text("\n".join(classes) + "\n")
    truth = {}
    for _c, w in enumerate(classes):
        d = folder / "train" / w / "images"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = rng.integers(0, 256, (3, 64, 64), dtype=np.uint8)
            # PNG bytes under a .JPEG name: PIL decodes by content, and PNG stays lossless here
            Image.fromarray(img.transpose(1, 2, 0)).save(d / f"{w}_{i}.JPEG", format="PNG")
            truth[(w, i)] = img
    lines = []
    for i in range(len(classes)):
        img = rng.integers(0, 256, (64, 64), dtype=np.uint8)  # a grayscale one
        name = f"val_{i}.JPEG"
        Image.fromarray(img).save(folder / "val" / "images" / name, format="PNG")
        lines.append(f"{name}\t{classes[i]}\t0\t0\t63\t63")
    (folder / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return truth
