"""A user's Python objects as the names a run's config holds, so that every run, in this process or a
grid worker, rebuilds them from its config and records them in its provenance.

- a network: a factory (a function of no arguments returning an nn.Module) becomes
  `module:qualname` (or `script.py:qualname` for one defined in the running script); an nn.Module
  instance is registered in this process (its weights at its first use are the initialisation, for every
  seed) and can only run here;
- data: a pair (train, test) of torch Datasets of (image, label) is written once to an .npz file
  named by its content (`npz:FILE`), under the data folder.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from benign.empirical.datasets import default_root
from benign.empirical.own_network import REGISTERED, register
from benign.store.atomic import atomic_write


def arch_of(network) -> str:
    """The `arch` of a built-in name, `MODULE:FACTORY`, a factory or an nn.Module instance."""
    if isinstance(network, str):
        return network
    if isinstance(network, nn.Module):
        return register(network)
    if not callable(network):
        raise ValueError(f"a network is a name, a factory or an nn.Module, not a {type(network).__name__}")
    module, qual = getattr(network, "__module__", None), getattr(network, "__qualname__", "")
    if module == "__main__" and getattr(sys.modules["__main__"], "__file__", None) and "<" not in qual:
        return f"{Path(sys.modules['__main__'].__file__).resolve()}:{qual}"
    if module and module != "__main__" and "<" not in qual:
        return f"{module}:{qual}"
    return register(network)  # a lambda or a local function: this process only


def in_this_process_only(arch: str) -> bool:
    return arch.partition(":")[0] == "registered" and arch.partition(":")[2] in REGISTERED


def _as_uint8(image) -> np.ndarray:
    """(H, W, C) uint8 of a PIL image, an (H, W[, C]) array or a (C, H, W) tensor (uint8, or floats in [0, 1])."""
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.dtype.is_floating_point:
            t = (t.clamp(0, 1) * 255).round().to(torch.uint8)
        a = t.numpy()
        return a[..., None] if a.ndim == 2 else a.transpose(1, 2, 0)
    a = np.asarray(image)
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.floating):
            raise ValueError(f"images must be uint8 or floats in [0, 1], got {a.dtype}")
        a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    return a[..., None] if a.ndim == 2 else a


def _arrays(dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for i in range(len(dataset)):
        image, label = dataset[i]
        xs.append(_as_uint8(image))
        ys.append(int(label))
    if not xs:
        raise ValueError(f"the {split} dataset is empty")
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise ValueError(f"the {split} images have several shapes {sorted(shapes)[:3]}; resize them first")
    return np.stack(xs), np.array(ys, dtype=np.int64)


def dataset_of(data, root: str | Path | None = None) -> str:
    """The `dataset` of a name, or of a pair (train, test) of torch Datasets (written to an .npz)."""
    if isinstance(data, str):
        return data
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(
            "data is a dataset name, or a pair (train, test) of torch Datasets of (image, label)"
        )
    (x_train, y_train), (x_test, y_test) = _arrays(data[0], "train"), _arrays(data[1], "test")
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    digest = hashlib.sha256()
    for k in sorted(arrays):
        digest.update(k.encode() + str(arrays[k].shape).encode() + arrays[k].tobytes())
    path = (Path(root) if root is not None else default_root()) / "arrays" / f"{digest.hexdigest()[:20]}.npz"
    if not path.is_file():

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        atomic_write(path, write)
    return f"npz:{path.resolve()}"
