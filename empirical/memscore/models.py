"""Networks with turn-over dropout on every hidden layer (companion paper 3, appendices A and B).

- ``TurnoverMLP``: one hidden layer (4096 ReLU units by default) for MNIST / Fashion-MNIST; the
  hidden neurons are masked.
- ``TurnoverVGG11``: VGG-11 without batch norm (CIFAR variant: eight 3x3 convolutions, five 2x2
  max-pools, then one linear classifier), "2D spatial turn-over dropout" after every convolution's
  ReLU: whole feature maps are kept or zeroed. ``width`` scales the channel counts (1.0 = 64..512)
  so that it trains on a CPU at small scale. Pools use ceil_mode so 28x28 inputs also reach 1x1
  (for 32x32 inputs this is the standard network). Initialisation (the paper names none):
  convolution weights N(0, 1/fan_in), biases 0. Turn-over dropout doubles the kept half, so
  E[h^2] = 2 * (1/2) E[relu(z)^2] = E[z^2]: this is He initialisation for ReLU followed by the mask, and
  keeps the activations' scale through all eight layers. PyTorch's default (variance 1/(3 fan_in))
  shrinks it by ~3 per layer: at --scale small the network then never left chance level (loss
  ln 10 after 5 epochs on Fashion-MNIST).

The classifier has no bias, so the seen and the muted sub-networks of an example share no parameter:
everything an example's gradient can reach lies in its seen half (tested). The paper does not say
whether its output layer had a bias; a shared bias would be updated by every example and so leak
each example into its own muted half.

``forward(x, masks)``: masks is a list with one (B, units_l) tensor per masked layer (from
``MaskBank.masks``), or None for the full network. It works per example under torch.func.vmap.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from benign.empirical.memscore.turnover_dropout import TurnoverDropout

VGG11_CHANNELS = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class TurnoverMLP(nn.Module):
    def __init__(self, in_features: int, num_classes: int, hidden: int = 4096):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.act = nn.ReLU()
        self.drop = TurnoverDropout(hidden)
        self.fc2 = nn.Linear(hidden, num_classes, bias=False)
        self.masked_units = [hidden]

    def hidden(self, x: Tensor) -> Tensor:
        return self.act(self.fc1(x.flatten(-3) if x.dim() >= 3 else x))

    def forward(self, x: Tensor, masks: list[Tensor] | None = None) -> Tensor:
        h = self.drop(self.hidden(x), None if masks is None else masks[0])
        return self.fc2(h)

    def logits_under_masks(self, x: Tensor, masks: list[Tensor]) -> Tensor:
        """(A, T, classes): every target x (T, ...) under every mask (A, hidden), without recomputing
        the hidden layer (it does not depend on the mask): logits[a, t] = W2 (m_a * h_t)."""
        h = self.hidden(x)
        return torch.einsum("cu,au,tu->atc", self.fc2.weight, masks[0], h)


class TurnoverVGG11(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, width: float = 1.0):
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        layers: list[nn.Module] = []
        self.masked_units: list[int] = []
        c_in = in_channels
        for v in VGG11_CHANNELS:
            if v == "M":
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            else:
                c_out = max(2, 2 * round(v * width / 2))  # even, so exactly half can be kept
                layers += [
                    nn.Conv2d(c_in, c_out, 3, padding=1),
                    nn.ReLU(),
                    TurnoverDropout(c_out, spatial=True),
                ]
                self.masked_units.append(c_out)
                c_in = c_out
        self.features = nn.ModuleList(layers)
        self.classifier = nn.Linear(c_in, num_classes, bias=False)
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="linear")  # std 1/sqrt(fan_in)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor, masks: list[Tensor] | None = None) -> Tensor:
        k = 0
        for layer in self.features:
            if isinstance(layer, TurnoverDropout):
                x = layer(x, None if masks is None else masks[k])
                k += 1
            else:
                x = layer(x)
        return self.classifier(x.flatten(-3))


def turnover_network(
    name: str, in_channels: int, image_size: int, num_classes: int, hidden: int = 4096, width: float = 1.0
) -> nn.Module:
    if name == "mlp":
        if hidden < 2 or hidden % 2:
            raise ValueError(f"--hidden must be even and >= 2, got {hidden}")
        return TurnoverMLP(in_channels * image_size * image_size, num_classes, hidden)
    if name == "vgg11":
        return TurnoverVGG11(in_channels, num_classes, width)
    raise ValueError(f"unknown model {name!r}: choose mlp or vgg11")
