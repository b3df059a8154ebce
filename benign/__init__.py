"""benign-memorization: "The Curious Case of Benign Memorization" and two companion studies.

One installed package, `benign`, whose subpackages are the repository's top-level folders:
benign.theory (the toy, capacity, probes), benign.empirical (datasets, networks, training, the
companion studies), benign.grids (every experiment as a resumable grid), benign.plots, benign.store
(result files), benign.api (the Python API) and benign.cli (the `benign` command).

The Python API is here too: `benign.train`, `benign.probe`, `benign.capacity`, `benign.grid`
(see benign.api); it is imported on first use, so that `import benign` stays light.
"""

__version__ = "0.1.0"

_API = ("train", "probe", "capacity", "grid", "config", "Encoder", "GridFailed", "MissingData")


def __getattr__(name: str):
    if name in _API:
        from benign import api

        return getattr(api, name)
    raise AttributeError(f"module 'benign' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_API])
