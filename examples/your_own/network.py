"""A network of your own for `benign --arch examples/your_own/network.py:encoder`.

The protocol (benign.empirical.own_network.Encoder): `encoder()` takes no arguments and returns an
nn.Module mapping a float batch (N, C, H, W) to features (N, D). benign adds its projector and output
layer on top and probes the features. The layer probes read the submodules named in `probe_layers`
(without it: the module's named children, in order).
"""

import torch.nn as nn


class TinyConvNet(nn.Module):
    probe_layers = ["block1", "block2"]  # the representations the layer probes read, in order

    def __init__(self, in_channels: int = 1, width: int = 16):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(in_channels, width, 3, 2, 1), nn.BatchNorm2d(width), nn.ReLU())
        self.block2 = nn.Sequential(
            nn.Conv2d(width, 2 * width, 3, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU()
        )
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.block2(self.block1(x))).flatten(1)  # (N, 2 * width)


def encoder() -> nn.Module:
    return TinyConvNet()
