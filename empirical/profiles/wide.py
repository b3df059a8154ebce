"""N profile networks as one wide network: the general module is empirical/wide_network.py."""

from benign.empirical.wide_network import BLOCKS, WideNetwork, widen

__all__ = ["BLOCKS", "WideNetwork", "widen"]
