"""benign-memorization: "The Curious Case of Benign Memorization" and two companion studies.

One installed package, `benign`, whose subpackages are the repository's top-level folders:
benign.theory (the toy, capacity, probes), benign.empirical (datasets, networks, training, the
companion studies), benign.grids (every experiment as a resumable grid), benign.plots, benign.store
(result files) and benign.cli (the `benign` command).
"""

__version__ = "0.1.0"
