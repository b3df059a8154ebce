"""Image datasets as one uint8 tensor (N, C, H, W) on the device, read from their usual on-disk formats.

Formats (the files torchvision's dataset classes download and read):
  cifar10       <root>/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}   (pickled dicts)
  cifar100      <root>/cifar-100-python/{train, test, meta}                               (pickled dicts)
  mnist         <root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]        (idx)
  fashion-mnist <root>/FashionMNIST/raw/... (idx), or Debian's /usr/share/datasets/fashion-mnist/
  stl10         <root>/stl10_binary/{train,test}_{X,y}.bin                                (raw binary)
  tinyimagenet  <root>/tiny-imagenet-200/{wnids.txt, train/<wnid>/images/*.JPEG,
                                         val/images/*.JPEG, val/val_annotations.txt}     (JPEG tree, 64x64)
  digits        scikit-learn's bundled 8x8 digits (1797 images, on every machine), upsampled to 28x28
                grey uint8; every third image (index % 3 == 2) is the test split

`NAME:a-b` keeps the classes a..b of a dataset, relabelled 0..b-a (figure 10 offline: train on
`fashion-mnist:0-4`, transfer to the held-out `fashion-mnist:5-9`).

Your own data:
  folder:PATH   PATH/train/<class>/* and PATH/test/<class>/*, any image Pillow reads (grey or RGB);
                classes are the train folders' names, sorted; one image size, or `image_size` to
                resize every image to a square of that side
  npz:FILE      arrays x_train, y_train, x_test, y_test: uint8 images (N, H, W) or (N, H, W, C),
                integer labels in 0..C-1 (C = the largest training label + 1)
Their normalisation statistics are their training split's. Bad data (a missing split, an empty class,
mixed sizes without image_size, a label outside the classes, a file that is no image) is a ValueError
naming the file.

The files are parsed here rather than through torchvision's classes because those check md5 sums of
the full archives, which makes small test fixtures in the real formats unreadable; torchvision is
still what downloads them (`download=True`).
"""

from __future__ import annotations

import functools
import gzip
import os
import pickle
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from benign.store.atomic import atomic_write
from benign.theory.counter_random import uniform

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
NAMES = ("cifar10", "cifar100", "tinyimagenet", "stl10", "mnist", "fashion-mnist", "digits")


@dataclass
class ImageDataset:
    images: Tensor  # uint8 (N, C, H, W) on the device
    labels: Tensor  # int64 (N,) on the device
    num_classes: int
    name: str
    mean: tuple  # per channel, in [0, 1], of the training split
    std: tuple

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    def to(self, device) -> ImageDataset:
        return replace(self, images=self.images.to(device), labels=self.labels.to(device))


# Per-channel statistics of the training splits (fixed, so a test split or a subset is normalised
# exactly like the data the network was trained on).
_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "tinyimagenet": ((0.4802, 0.4481, 0.3975), (0.2770, 0.2691, 0.2821)),
    "stl10": ((0.4467, 0.4398, 0.4066), (0.2603, 0.2566, 0.2713)),
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "digits": ((0.3052,), (0.3248,)),  # its training split as upsampled here
}
NUM_CLASSES = {
    "cifar10": 10,
    "cifar100": 100,
    "tinyimagenet": 200,
    "stl10": 10,
    "mnist": 10,
    "fashion-mnist": 10,
    "digits": 10,
}
_FOLDER = {
    "cifar10": "cifar-10-batches-py",
    "cifar100": "cifar-100-python",
    "tinyimagenet": "tiny-imagenet-200",
    "stl10": "stl10_binary",
    "mnist": "MNIST/raw",
    "fashion-mnist": "FashionMNIST/raw",
    "digits": "",
}
TINYIMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"


def default_root() -> Path:
    return Path(os.environ.get("BENIGN_DATA_ROOT", "data"))


def _missing(name: str, path: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"{name} not found at {path}; fetch it with `benign train --dataset {name} --download` "
        f"(or put the files there, see data/README.md)"
    )


def _corrupt(name: str, path: Path, why: str) -> ValueError:
    return ValueError(
        f"{name} at {path} is corrupt or not in the expected format ({why}); delete it and re-download"
    )


# --- readers -------------------------------------------------------------------------------------


def _unpickle(path: Path, name: str) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except FileNotFoundError:
        raise
    except Exception as e:
        raise _corrupt(name, path, type(e).__name__) from None


def _read_cifar(folder: Path, name: str, train: bool):
    if name == "cifar10":
        files = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        key = "labels"
    else:
        files = ["train" if train else "test"]
        key = "fine_labels"
    xs, ys = [], []
    for fname in files:
        path = folder / fname
        if not path.is_file():
            raise _missing(name, path)
        batch = _unpickle(path, name)
        try:
            data = np.asarray(batch["data"], dtype=np.uint8)
            xs.append(data.reshape(-1, 3, 32, 32))
            ys.append(np.asarray(batch[key], dtype=np.int64))
        except (KeyError, ValueError, TypeError) as e:
            raise _corrupt(name, path, f"{type(e).__name__}: {e}") from None
        if len(xs[-1]) != len(ys[-1]):
            raise _corrupt(name, path, "image and label counts differ")
    return np.concatenate(xs), np.concatenate(ys)


def _read_idx(path: Path, name: str) -> np.ndarray:
    """The idx format (LeCun): magic 0x0000 08 ndim, big-endian int32 sizes, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise
    except (OSError, EOFError) as e:
        raise _corrupt(name, path, type(e).__name__) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise _corrupt(name, path, "bad idx magic number")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}i", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise _corrupt(name, path, f"expected {int(np.prod(dims))} bytes of data, found {data.size}")
    return data.reshape(dims).copy()


def _idx_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_mnist_like(folders: list[Path], name: str, train: bool):
    prefix = "train" if train else "t10k"
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    for folder in folders:
        files = [_idx_file(folder, s) for s in stems]
        if all(files):
            x = _read_idx(files[0], name)
            y = _read_idx(files[1], name).astype(np.int64)
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise _corrupt(name, folder, "image and label files do not match")
            return x[:, None], y
    raise _missing(name, folders[0] / f"{stems[0]}.gz")


def _read_stl10(folder: Path, train: bool):
    split = "train" if train else "test"
    xp, yp = folder / f"{split}_X.bin", folder / f"{split}_y.bin"
    for p in (xp, yp):
        if not p.is_file():
            raise _missing("stl10", p)
    x = np.fromfile(xp, dtype=np.uint8)
    y = np.fromfile(yp, dtype=np.uint8).astype(np.int64) - 1  # stored 1..10
    if (
        x.size % (3 * 96 * 96)
        or x.size // (3 * 96 * 96) != y.size
        or (y.size and (y.min() < 0 or y.max() > 9))
    ):
        raise _corrupt("stl10", folder, "sizes or labels do not match the STL-10 binary layout")
    # column-major 96x96 planes, as in torchvision's STL10
    return x.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2).copy(), y


def _read_tinyimagenet(folder: Path, train: bool):
    from PIL import Image, UnidentifiedImageError  # pillow ships with torchvision

    wnids_path = folder / "wnids.txt"
    if not wnids_path.is_file():
        raise _missing("tinyimagenet", wnids_path)
    wnids = [w.strip() for w in wnids_path.read_text().split() if w.strip()]
    index = {w: i for i, w in enumerate(wnids)}
    if train:
        items = []
        for w in wnids:
            d = folder / "train" / w / "images"
            if not d.is_dir():
                raise _missing("tinyimagenet", d)
            items += [
                (p, index[w]) for p in sorted(d.iterdir()) if p.suffix.lower() in (".jpeg", ".jpg", ".png")
            ]
    else:
        ann = folder / "val" / "val_annotations.txt"
        if not ann.is_file():
            raise _missing("tinyimagenet", ann)
        items = []
        for line in ann.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            if parts[1] not in index:
                raise _corrupt("tinyimagenet", ann, f"unknown class {parts[1]!r}")
            items.append((folder / "val" / "images" / parts[0], index[parts[1]]))
    if not items:
        raise _corrupt("tinyimagenet", folder, "no images")
    x = np.empty((len(items), 3, 64, 64), dtype=np.uint8)
    for i, (p, _) in enumerate(items):
        try:
            with Image.open(p) as im:
                img = torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1)
        except FileNotFoundError:
            raise _missing("tinyimagenet", p) from None
        except (UnidentifiedImageError, OSError) as e:
            raise _corrupt("tinyimagenet", p, (str(e).splitlines() or [type(e).__name__])[0]) from None
        if img.shape[1:] != (64, 64):
            img = (
                torch.nn.functional.interpolate(
                    img[None].float(), size=(64, 64), mode="bilinear", antialias=True
                )[0]
                .round()
                .clamp(0, 255)
                .byte()
            )
        x[i] = img.numpy()
    return x, np.array([c for _, c in items], dtype=np.int64)


def _cached(folder: Path, train: bool, read):
    """TinyImageNet decodes 110k JPEGs: keep a uint8 .npz next to the tree after the first read."""
    cache = folder / f".benign-{'train' if train else 'val'}-uint8.npz"
    if cache.is_file():
        try:
            with np.load(cache) as z:
                return z["x"], z["y"]
        except Exception:
            cache.unlink(missing_ok=True)
    x, y = read()
    try:
        atomic_write(cache, lambda tmp: _savez(tmp, x=x, y=y))
    except OSError:
        pass  # a read-only data folder is fine
    return x, y


def _savez(path: Path, **arrays) -> None:
    with open(path, "wb") as f:  # np.savez would append ".npz" to a bare path
        np.savez(f, **arrays)


def _download(name: str, root: Path) -> None:
    import torchvision.datasets as tvd
    from torchvision.datasets.utils import download_and_extract_archive

    root.mkdir(parents=True, exist_ok=True)
    try:
        if name == "cifar10":
            tvd.CIFAR10(str(root), train=True, download=True)
        elif name == "cifar100":
            tvd.CIFAR100(str(root), train=True, download=True)
        elif name == "mnist":
            tvd.MNIST(str(root), train=True, download=True)
        elif name == "fashion-mnist":
            tvd.FashionMNIST(str(root), train=True, download=True)
        elif name == "stl10":
            tvd.STL10(str(root), split="train", download=True)
        elif name == "tinyimagenet":
            download_and_extract_archive(TINYIMAGENET_URL, str(root))
    except (OSError, RuntimeError) as e:  # URLError is an OSError
        raise OSError(
            f"could not download {name} into {root}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None


def _read_digits(train: bool):
    """scikit-learn's digits (values 0..16 on 8x8) bilinearly upsampled to 28x28 uint8."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    keep = (np.arange(len(bunch.target)) % 3 == 2) != train
    x = torch.from_numpy(bunch.images[keep] / 16.0).float()[:, None]
    x = torch.nn.functional.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy(), bunch.target[keep].astype(np.int64)


OWN_DATA = ("folder:", "npz:")


def _read_folder(path: Path, train: bool, image_size: int = 0):
    """PATH/<split>/<class>/* as uint8 (N, C, H, W) and labels by the sorted train class names."""
    from PIL import Image, UnidentifiedImageError

    root = Path(path)
    classes = (
        sorted(d.name for d in (root / "train").iterdir() if d.is_dir()) if (root / "train").is_dir() else []
    )
    split = root / ("train" if train else "test")
    if not split.is_dir():
        raise ValueError(
            f"{split}: no such folder (folder:PATH needs PATH/train/<class>/ and PATH/test/<class>/)"
        )
    if not classes:
        raise ValueError(f"{root / 'train'}: no class folders")
    unknown = sorted(d.name for d in split.iterdir() if d.is_dir() and d.name not in classes)
    if unknown:
        raise ValueError(f"{split / unknown[0]}: a class the training split does not have")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(f for f in (split / name).glob("*") if f.is_file()) if (split / name).is_dir() else []
        if not files and train:
            raise ValueError(f"{split / name}: an empty class")
        for f in files:
            try:
                with Image.open(f) as im:
                    im.load()
                    img = im.copy()
            except (UnidentifiedImageError, OSError):
                raise ValueError(f"{f}: not an image Pillow can read") from None
            if image_size:
                img = img.resize((image_size, image_size), Image.BILINEAR)
            images.append((f, img))
            labels.append(label)
    if not images:
        raise ValueError(f"{split}: no images")
    grey = all(img.mode in ("L", "1", "I", "I;16") for _, img in images)
    first_path, first = images[0][0], images[0][1].size
    for f, img in images:
        if img.size != first:
            raise ValueError(
                f"{f}: {img.size[0]}x{img.size[1]}, unlike {first_path} ({first[0]}x{first[1]}); "
                "give an image size to resize every image"
            )
    arrays = [np.asarray(img.convert("L" if grey else "RGB"), dtype=np.uint8) for _, img in images]
    x = np.stack(arrays)
    x = x[:, None] if grey else x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x), np.asarray(labels, dtype=np.int64), len(classes)


def _read_npz(path: Path, train: bool):
    """x_<split> uint8 (N, H, W[, C]) and y_<split> integers from an .npz file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    split = "train" if train else "test"
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable .npz file ({type(e).__name__})") from None
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise ValueError(f"{path}: lacks the arrays {', '.join(missing)}")
    x, y, y_train = arrays[f"x_{split}"], arrays[f"y_{split}"], arrays["y_train"]
    if x.dtype != np.uint8 or x.ndim not in (3, 4):
        raise ValueError(
            f"{path}: x_{split} must be uint8 images (N, H, W) or (N, H, W, C), got {x.dtype} {x.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer) or y.shape != (x.shape[0],):
        raise ValueError(f"{path}: y_{split} must be {x.shape[0]} integer labels, got {y.dtype} {y.shape}")
    classes = int(y_train.max()) + 1 if y_train.size else 0
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"{path}: y_{split} has a label outside the classes 0..{classes - 1}")
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x), y.astype(np.int64), classes


def _read_own(name: str, train: bool, image_size: int = 0):
    kind, _, path = name.partition(":")
    return _read_folder(Path(path), train, image_size) if kind == "folder" else _read_npz(Path(path), train)


def _channel_stats(x: np.ndarray) -> tuple[tuple, tuple]:
    """Per-channel mean and std in [0, 1] of uint8 images (N, C, H, W)."""
    x = x.astype(np.float64) / 255
    return tuple(x.mean(axis=(0, 2, 3)).tolist()), tuple(np.maximum(x.std(axis=(0, 2, 3)), 1e-6).tolist())


@functools.lru_cache(maxsize=8)
def _own_stats(name: str, image_size: int) -> tuple[tuple, tuple]:
    """The statistics of a dataset's training split (read when the test split is loaded)."""
    return _channel_stats(_read_own(name, True, image_size)[0])


def parse_name(name: str) -> tuple[str, tuple[int, int] | None]:
    """'fashion-mnist:0-4' -> ('fashion-mnist', (0, 4)); the aliases made canonical; ValueError.
    'folder:PATH' and 'npz:FILE' come back whole."""
    if name.startswith(OWN_DATA):
        return name, None
    base, _, classes = name.strip().lower().replace("_", "-").partition(":")
    base = {
        "fashionmnist": "fashion-mnist",
        "tiny-imagenet": "tinyimagenet",
        "tiny-imagenet-200": "tinyimagenet",
    }.get(base, base)
    if base not in NAMES:
        raise ValueError(
            f"unknown dataset {base!r}; choose one of {', '.join(NAMES)} (NAME:a-b for classes a..b)"
        )
    if not classes:
        return base, None
    lo, _, hi = classes.partition("-")
    try:
        a, b = int(lo), int(hi)
    except ValueError:
        a, b = -1, -1
    if not 0 <= a <= b < NUM_CLASSES[base]:
        raise ValueError(f"bad class range {classes!r} of {base}: a-b with 0 <= a <= b < {NUM_CLASSES[base]}")
    return base, (a, b)


def num_classes_of(name: str, image_size: int = 0) -> int:
    """The number of classes of a dataset name (its own data read to find out)."""
    base, classes = parse_name(name)
    if base.startswith(OWN_DATA):
        return _read_own(base, True, image_size)[2]
    return NUM_CLASSES[base] if classes is None else classes[1] - classes[0] + 1


def _read(name: str, root: Path, train: bool):
    if name == "digits":
        return _read_digits(train)
    folder = root / _FOLDER[name]
    if name in ("cifar10", "cifar100"):
        return _read_cifar(folder, name, train)
    if name == "mnist":
        return _read_mnist_like([folder], name, train)
    if name == "fashion-mnist":
        return _read_mnist_like([folder, DEBIAN_FASHION_MNIST], name, train)
    if name == "stl10":
        return _read_stl10(folder, train)
    if not folder.is_dir():
        raise _missing(name, folder)
    return _cached(folder, train, lambda: _read_tinyimagenet(folder, train))


def load_dataset(
    name: str, root=None, train: bool = True, device="cpu", download: bool = False, image_size: int = 0
) -> ImageDataset:
    """Load a whole split as uint8 (N, C, H, W) and int64 labels on `device`.

    Raises FileNotFoundError naming the expected path (and how to fetch it) when the data is absent,
    ValueError when it is unreadable or the name unknown.
    """
    name, classes = parse_name(name)
    if name.startswith(OWN_DATA):
        x, y, num_classes = _read_own(name, train, image_size)
        mean, std = _channel_stats(x) if train else _own_stats(name, image_size)
        return ImageDataset(
            torch.from_numpy(x).to(device), torch.from_numpy(y).to(device), num_classes, name, mean, std
        )
    root = Path(root) if root is not None else default_root()
    try:
        x, y = _read(name, root, train)
    except FileNotFoundError:
        if not download:
            raise
        _download(name, root)
        x, y = _read(name, root, train)
    num_classes = NUM_CLASSES[name]
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise _corrupt(name, root / _FOLDER[name], f"labels outside [0, {num_classes})")
    mean, std = _STATS[name]
    if classes is not None:
        keep = (y >= classes[0]) & (y <= classes[1])
        x, y = x[keep], y[keep] - classes[0]
        num_classes, name = classes[1] - classes[0] + 1, f"{name}:{classes[0]}-{classes[1]}"
    return ImageDataset(
        images=torch.from_numpy(np.ascontiguousarray(x)).to(device),
        labels=torch.from_numpy(y).to(device),
        num_classes=num_classes,
        name=name,
        mean=mean,
        std=std,
    )


def subset_indices(labels: Tensor, n: int, seed: int, num_classes: int | None = None) -> Tensor:
    """A class-balanced choice of n indices (n // C per class, the remainder to the first classes),
    reproducible from the seed alone; sorted."""
    labels = labels.cpu()
    num_classes = num_classes or int(labels.max()) + 1
    if not 0 < n <= len(labels):
        raise ValueError(f"subset size must be in 1..{len(labels)}, got {n}")
    per_class = [n // num_classes + (1 if c < n % num_classes else 0) for c in range(num_classes)]
    # a random but seed-fixed rank of every index; take the lowest-ranked of each class
    rank = uniform(seed, 0x5B5E7, torch.arange(len(labels)), dtype=torch.float64)
    chosen = []
    for c in range(num_classes):
        idx = (labels == c).nonzero().flatten()
        if len(idx) < per_class[c]:
            raise ValueError(
                f"class {c} has {len(idx)} images, fewer than the {per_class[c]} a balanced subset of {n} needs"
            )
        chosen.append(idx[rank[idx].argsort()[: per_class[c]]])
    return torch.cat(chosen).sort().values


def subset(dataset: ImageDataset, n: int, seed: int = 0) -> ImageDataset:
    """The paper's class-balanced subsets (e.g. 1000 images, table 3)."""
    idx = subset_indices(dataset.labels, n, seed, dataset.num_classes).to(dataset.images.device)
    return replace(dataset, images=dataset.images[idx], labels=dataset.labels[idx])


def normalize(images: Tensor, dataset: ImageDataset) -> Tensor:
    """uint8 or [0, 1] float images -> standardised float32, per channel."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    mean = torch.tensor(dataset.mean, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(dataset.std, device=x.device).view(1, -1, 1, 1)
    return (x - mean) / std
