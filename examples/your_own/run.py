"""Your own network and your own data through benign's Python API, in about a minute on a CPU:

    python examples/your_own/run.py [FOLDER [STEPS]]

writes a small folder dataset of PNGs (four classes of striped patterns, `FOLDER/train/<class>/*.png`
and `FOLDER/test/<class>/*.png`), trains the network of network.py on random labels with SimCLR
augmentations, probes it layer by layer, and prints the k-NN probe's gain over initialisation and
what Definition 4.1 calls the network. At the default 300 steps the random labels are far from
fitted ("not memorised"): augmented stripes keep little of an image's identity, and a network fits
random labels under augmentation only after thousands of steps (docs/cpu-scale.md).
The same from the shell:

    benign train --arch examples/your_own/network.py:encoder --dataset folder:FOLDER \\
        --labels random --augment simclr --steps 300 --out FOLDER/run
    benign probe FOLDER/run
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image

import benign
from benign.theory.memorization_kind import memorization_kind

CLASSES = ("horizontal", "vertical", "diagonal", "checker")


def pattern(kind: str, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """Stripes of a random period and phase, with noise: a class is an orientation."""
    y, x = np.mgrid[:size, :size]
    period, phase = rng.uniform(4, 9), rng.uniform(0, 2 * np.pi)
    u = {"horizontal": y, "vertical": x, "diagonal": x + y, "checker": None}[kind]
    if u is None:
        wave = np.sin(2 * np.pi * x / period + phase) * np.sin(2 * np.pi * y / period + phase)
    else:
        wave = np.sin(2 * np.pi * u / period + phase)
    image = 128 + 90 * wave + rng.normal(0, 25, (size, size))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_dataset(root: Path, per_class: dict = {"train": 64, "test": 32}, seed: int = 0) -> Path:  # noqa: B006
    rng = np.random.default_rng(seed)
    for split, n in per_class.items():
        for kind in CLASSES:
            folder = root / split / kind
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(pattern(kind, rng), "L").save(folder / f"{i:03d}.png")
    return root


def main(root: Path, steps: int = 300) -> float:
    data = f"folder:{write_dataset(root)}"
    network = str(Path(__file__).with_name("network.py")) + ":encoder"
    history = benign.train(
        network, data, labels="random", augment="simclr", steps=steps, eval_every=0, batch_size=128,
        lr=1e-3, projector_width=1024, out=root / "run", device="cpu",
    )  # fmt: skip
    fitted = float(history["train_accuracy"][-1])
    print(f"random labels fitted on the unaugmented images: {fitted:.3f} (a memorization needs >= 0.99)")
    layers = benign.probe(root / "run", linear=False, device="cpu")
    for i, name in enumerate(layers["layer_name"].values):
        print(f"{name:>16}: k-NN {layers['knn_clean'][i]:.3f} (init {layers['knn_clean_init'][i]:.3f})")
    at = list(layers["layer_name"].values).index("embedding")
    gain = float(layers["knn_clean"][at] - layers["knn_clean_init"][at])
    kind = memorization_kind(fitted, layers["knn_clean"][at], layers["knn_clean_init"][at])
    print(f"gain of the embedding's k-NN probe over initialisation: {gain:+.3f}; Definition 4.1: {kind}")
    return gain


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results/your_own"), *map(int, sys.argv[2:3]))
