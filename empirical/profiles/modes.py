"""The four training modes of the paper (section 3).

supervised   clean labels, weak augmentation (random crop pad 4, flip, per-channel normalisation)
random       random labels, no augmentation (the degenerate A(x~|x) = delta(x~ - x))
random_aug   random labels, the same weak augmentation
simclr       no labels; two strong views (SimCLR's crop, flip, jitter, grayscale, blur), NT-Xent

Recognition (section 3): correct class w.r.t. the labels trained on for the first three, the
positive view being the arg-max among the 2B-1 in-batch candidates for SimCLR.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    code: int  # the numeric `method` coordinate of a result file
    labels: str  # clean | random | none
    augment: str  # none | weak | strong
    contrastive: bool
    description: str


MODES = {
    "supervised": Mode("supervised", 0, "clean", "weak", False, "supervised, weak augmentation"),
    "random": Mode("random", 1, "random", "none", False, "random labels, no augmentation"),
    "random_aug": Mode("random_aug", 2, "random", "weak", False, "random labels, weak augmentation"),
    "simclr": Mode("simclr", 3, "none", "strong", True, "SimCLR (NT-Xent), strong augmentation"),
}
BY_CODE = {m.code: m for m in MODES.values()}
ALIASES = {
    "random-aug": "random_aug",
    "random_labels": "random",
    "random-labels": "random",
    "sup": "supervised",
}


def parse_modes(text: str) -> list[Mode]:
    """'supervised,simclr' -> [Mode, Mode] (order kept, no repeats)."""
    names = [ALIASES.get(t.strip().lower(), t.strip().lower()) for t in text.split(",") if t.strip()]
    if not names:
        raise ValueError("--methods is empty; choose from " + ", ".join(MODES))
    unknown = [n for n in names if n not in MODES]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(MODES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"--methods repeats a method: {text!r}")
    return [MODES[n] for n in names]


def mode_names(codes) -> list[str]:
    return [BY_CODE[int(c)].name for c in codes]
