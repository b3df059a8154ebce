"""Bring your own network: the user's encoder under the project's projector and output layer.

`--arch MODULE:FACTORY` (an importable module) or `--arch path/to/file.py:FACTORY` names a
function of no arguments that returns an `Encoder`: an `nn.Module` mapping a float batch
(N, C, H, W), normalised per channel, to features (N, D). The project puts the projector of
appendix F (one hidden ReLU layer, no bias) and the output layer on top, exactly as for its own
networks (figure 1), and probes the encoder's features as `embedding`.

Layer probes (table 1, figure 4) read the outputs of the encoder's named children in order, or of the
submodules named in its `probe_layers` list when it has one (dotted names, e.g. "blocks.2"): each is
flattened (or, for (N, C, H, W) maps with pool="avg", averaged over space), then come `embedding`,
`projector_hidden` and `output`. The factory is called under `torch.manual_seed(seed)`, so a run's
initialisation is a function of its seed as for the built-in networks.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
import torch.nn as nn
from torch import Tensor

from benign.empirical.networks import POOLS, Projector

HEAD = ("embedding", "projector_hidden", "output")


@runtime_checkable
class Encoder(Protocol):
    """What a factory returns: an nn.Module; `encoder(x)` maps (N, C, H, W) floats to (N, D) features.
    Optional: `probe_layers`, the names of the submodules whose outputs the layer probes read."""

    def __call__(self, x: Tensor) -> Tensor: ...

    def named_children(self): ...


# factories and nn.Module instances handed to the Python API in this process: `registered:KEY`
REGISTERED: dict[str, Callable[[], nn.Module]] = {}
_KEY_OF: dict[int, tuple[object, str]] = {}  # id -> (the object, kept alive so the id stays its, key)


def register(network) -> str:
    """The arch of a factory or an nn.Module instance that lives in this process only; the same object
    gets the same arch every time (so a grid of it resumes). An instance's weights at its first
    registration are the initialisation of every run that uses it (a copy each time)."""
    if id(network) in _KEY_OF:
        return f"registered:{_KEY_OF[id(network)][1]}"
    if isinstance(network, nn.Module):
        snapshot = copy.deepcopy(network)
        factory = lambda: copy.deepcopy(snapshot)
        name = type(network).__name__
    else:
        factory, name = network, getattr(network, "__name__", "factory")
    key = f"{name.strip('<>')}-{len(REGISTERED)}"
    REGISTERED[key] = factory
    _KEY_OF[id(network)] = (network, key)
    return f"registered:{key}"


def is_own_arch(arch: str) -> bool:
    """`MODULE:FACTORY`, `file.py:FACTORY` or `registered:KEY`, not one of the built-in names."""
    return ":" in arch


def load_factory(arch: str) -> Callable[[], nn.Module]:
    """The factory that `arch` names; ValueError in one line when it cannot be found."""
    where, _, name = arch.rpartition(":")
    if where == "registered":
        if name not in REGISTERED:
            raise ValueError(f"--arch {arch!r}: a network registered in another process")
        return REGISTERED[name]
    if not where or not all(part.isidentifier() for part in name.split(".")):
        raise ValueError(f"--arch {arch!r}: expected MODULE:FACTORY or path/to/file.py:FACTORY")
    try:
        module = _import_file(Path(where)) if where.endswith(".py") else importlib.import_module(where)
    except (ImportError, FileNotFoundError, SyntaxError) as e:
        raise ValueError(f"--arch {arch!r}: cannot import {where}: {e}") from None
    factory = module
    for part in name.split("."):
        factory = getattr(factory, part, None)
    if not callable(factory):
        raise ValueError(f"--arch {arch!r}: {where} has no function {name}")
    return factory


def _import_file(path: Path):
    path = path.expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no file {path}")
    # one module per file, named by its path, so that a second load reuses it
    mod_name = "benign_own_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[mod_name]
        raise
    return module


def build_encoder(arch: str) -> nn.Module:
    """FACTORY(), checked against the protocol's first half (an nn.Module)."""
    encoder = load_factory(arch)()
    if not isinstance(encoder, nn.Module):
        raise ValueError(f"--arch {arch!r} returned a {type(encoder).__name__}, not a torch.nn.Module")
    return encoder


def layer_names_of(encoder: nn.Module) -> tuple[str, ...]:
    names = getattr(encoder, "probe_layers", None)
    if names is None:
        names = [n for n, _ in encoder.named_children()]
    names = tuple(str(n) for n in names)
    clash = set(names) & set(HEAD)
    if clash:
        raise ValueError(f"the encoder's probe layers may not be named {sorted(clash)}")
    for n in names:
        try:
            encoder.get_submodule(n)
        except AttributeError:
            raise ValueError(f"probe_layers names {n!r}, which is not a submodule of the encoder") from None
    return names


class OwnEncoderProjector(nn.Module):
    """encoder (the user's) -> embedding (N, D) -> projector (appendix F) -> output."""

    def __init__(self, encoder: nn.Module, embed_dim: int, num_outputs: int, projector_width: int):
        super().__init__()
        self.encoder = encoder
        self.projector = Projector(embed_dim, projector_width, num_outputs)
        self.layer_names = layer_names_of(encoder) + HEAD

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x, ("output",))["output"]

    def embed(self, x: Tensor) -> Tensor:
        return self.features(x, ("embedding",))["embedding"]

    def features(self, x: Tensor, names=None, pool: str = "flatten") -> dict[str, Tensor]:
        names = self.layer_names if names is None else tuple(names)
        unknown = set(names) - set(self.layer_names)
        if unknown:
            raise ValueError(f"unknown layer(s) {sorted(unknown)}; choose from {', '.join(self.layer_names)}")
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
        inner = [n for n in names if n not in HEAD]
        caught: dict[str, Tensor] = {}

        def hook(name):
            def keep(_module, _inputs, output):
                caught[name] = output[0] if isinstance(output, tuple) else output

            return keep

        handles = [self.encoder.get_submodule(n).register_forward_hook(hook(n)) for n in inner]
        try:
            h = self.encoder(x)
        finally:
            for handle in handles:
                handle.remove()
        out = {}
        for n in inner:
            if n not in caught:
                raise ValueError(f"the encoder's layer {n!r} was not called in its forward pass")
            t = caught[n]
            out[n] = t.mean((2, 3)) if pool == "avg" and t.dim() == 4 else t.flatten(1)
        out["embedding"] = h
        if {"projector_hidden", "output"} & set(names):
            out["projector_hidden"], out["output"] = self.projector(h)
        return {k: out[k] for k in names}


def own_network(arch: str, num_outputs: int, in_channels: int, image_size: int, projector_width: int):
    """The user's encoder with the project's head; checks the protocol on a dry batch of two images."""
    encoder = build_encoder(arch)
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            h = encoder(torch.zeros(2, in_channels, image_size, image_size))
    except Exception as e:  # the user's code: any failure on a valid batch is a protocol violation
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(
            f"--arch {arch!r} fails on a batch of shape (2, {in_channels}, {image_size}, {image_size}): {first}"
        ) from None
    encoder.train(was_training)
    if not isinstance(h, Tensor) or h.dim() != 2 or h.shape[0] != 2:
        shape = tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__
        raise ValueError(f"--arch {arch!r} must map (N, C, H, W) to features (N, D), got {shape} for N = 2")
    return OwnEncoderProjector(encoder, h.shape[1], num_outputs, projector_width)
