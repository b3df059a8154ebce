"""Definition 4.1: which kind of memorization a network trained on random labels is.

A network is a *memorization* of the randomly labelled set when it fits it ("perfectly fits": every
random label predicted on the unaugmented training images); a memorization is *benign* when probing
its encoder on the clean labels beats probing at initialisation, *malign* when it does not. A
network short of the fit is no memorization at all, whatever its probe: "not memorised".

"Perfectly" is read as at least 99% of the labels (FIT_FOR_MEMORIZATION): one image in a hundred
may stay unfitted at the end of a finite budget, as it does in the paper's own runs before their
last epochs. Clean-label runs are not memorizations in this sense; their kind is "clean".
"""

from __future__ import annotations

import numpy as np

FIT_FOR_MEMORIZATION = 0.99  # share of the random labels fitted on the unaugmented training images
KINDS = ("benign", "malign", "not memorised", "clean")


def is_memorization(fit) -> np.ndarray:
    """fit: share of the training labels predicted on the unaugmented images (any shape)."""
    return np.asarray(fit, dtype=float) >= FIT_FOR_MEMORIZATION


def memorization_kind(fit, probe, probe_init, random_share=1.0) -> np.ndarray:
    """Definition 4.1, elementwise: 'benign', 'malign', 'not memorised' or 'clean'.

    fit: share of the training labels fitted (unaugmented); probe / probe_init: the clean-label probe
    of the encoder after training and at initialisation; random_share: share of the training labels
    drawn at random (0 = clean labels). NaN fits or probes (cells not done) read 'not memorised'.
    """
    fit, probe, init, share = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (fit, probe, probe_init, random_share))
    )
    kind = np.where(probe > init, "benign", "malign").astype(object)
    kind[~is_memorization(fit) | np.isnan(probe) | np.isnan(init)] = "not memorised"
    kind[share == 0] = "clean"
    return kind.astype(str)
