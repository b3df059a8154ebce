"""Bring your own network: --arch MODULE:FACTORY or file.py:FACTORY, its protocol checked on load, layer
probes on its named children or `probe_layers`, and the side-by-side route of the wide trainers."""

import textwrap

import pytest
import torch
import torch.nn as nn

from benign.empirical.networks import build_network, layer_names
from benign.empirical.own_network import Encoder, OwnEncoderProjector, load_factory, register
from benign.empirical.wide_network import SideBySide, WideNetwork, wide_or_side_by_side

EXAMPLE = "examples/your_own/network.py:encoder"


def write(tmp_path, body: str, name: str = "net.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_the_example_network_gets_the_projector_and_the_probed_layers():
    net = build_network(EXAMPLE, num_outputs=4, in_channels=1, projector_width=64, image_size=28)
    assert isinstance(net, OwnEncoderProjector) and isinstance(net.encoder, Encoder)
    assert net.layer_names == ("block1", "block2", "embedding", "projector_hidden", "output")
    x = torch.rand(3, 1, 28, 28)
    net.eval()
    feats = net.features(x)
    assert feats["block1"].shape == (3, 16 * 14 * 14) and feats["block2"].shape == (3, 32 * 7 * 7)
    assert feats["embedding"].shape == (3, 32) and feats["projector_hidden"].shape == (3, 64)
    assert feats["output"].shape == (3, 4) and torch.equal(feats["output"], net(x))
    avg = net.features(torch.rand(3, 1, 28, 28), ("block2",), pool="avg")
    assert avg["block2"].shape == (3, 32)
    assert layer_names(EXAMPLE) == net.layer_names


def test_named_children_are_the_probed_layers_without_probe_layers(tmp_path):
    path = write(
        tmp_path,
        """
        import torch.nn as nn
        def encoder():
            return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        """,
    )
    net = build_network(f"{path}:encoder", 3, 1, 16, image_size=8)
    assert net.layer_names == ("0", "1", "2", "3", "embedding", "projector_hidden", "output")
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(net.features(x, ("3",))["3"], net.features(x, ("embedding",))["embedding"])


def test_a_module_path_loads_and_the_seed_fixes_the_initialisation():
    factory = load_factory("torchvision.models:resnet18")
    assert callable(factory)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        a = build_network(EXAMPLE, 2, 1, 8, image_size=28)
        torch.manual_seed(0)
        b = build_network(EXAMPLE, 2, 1, 8, image_size=28)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


@pytest.mark.parametrize(
    "body, words",
    [
        ("def encoder():\n    return 3\n", "returned a int, not a torch.nn.Module"),
        (
            "import torch.nn as nn\ndef encoder():\n    return nn.Conv2d(1, 2, 3)\n",
            "must map (N, C, H, W) to features (N, D), got (2, 2, 6, 6)",
        ),
        (
            "import torch.nn as nn\ndef encoder():\n    return nn.Linear(5, 2)\n",
            "fails on a batch of shape (2, 1, 8, 8)",
        ),
        ("x = 1\n", "has no function encoder"),
        ("def encoder(:\n", "cannot import"),
        (
            "import torch.nn as nn\nclass E(nn.Sequential):\n    probe_layers = ['nope']\n"
            "def encoder():\n    return E(nn.Flatten())\n",
            "'nope', which is not a submodule",
        ),
    ],
)
def test_a_factory_that_breaks_the_protocol_is_one_clear_value_error(tmp_path, body, words):
    path = write(tmp_path, body)
    with pytest.raises(ValueError) as e:
        build_network(f"{path}:encoder", 2, 1, 8, image_size=8)
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("arch", ["no_such_module_xyz:f", "missing/file.py:f", "just-a-name:", ":f"])
def test_an_arch_that_cannot_be_found_is_a_value_error(arch):
    with pytest.raises(ValueError, match="--arch"):
        load_factory(arch)


def test_side_by_side_computes_what_the_networks_compute_alone():
    torch.manual_seed(0)
    nets = [build_network(EXAMPLE, 3, 1, 8, image_size=28).eval() for _ in range(2)]
    side = wide_or_side_by_side(nets)
    assert isinstance(side, SideBySide) and side.n == 2
    x = torch.rand(4, 2, 1, 28, 28)
    out = side(x)
    for n, net in enumerate(nets):
        torch.testing.assert_close(out[:, n], net(x[:, n]))
        torch.testing.assert_close(side.embed(x)[:, n], net.embed(x[:, n]))
        assert side.network(n) is not net and torch.equal(side.network(n)(x[:, n]), net(x[:, n]))
    builtin = [build_network("small_cnn", 3, 1, 8) for _ in range(2)]
    assert isinstance(wide_or_side_by_side(builtin), WideNetwork)


def test_a_registered_instance_starts_every_run_from_its_weights():
    module = nn.Sequential(nn.Flatten(), nn.Linear(16, 5))
    arch = register(module)
    a = build_network(arch, 2, 1, 4, image_size=4)
    b = build_network(arch, 2, 1, 4, image_size=4)
    assert a.encoder is not module and torch.equal(a.encoder[1].weight, module[1].weight)
    assert torch.equal(a.encoder[1].weight, b.encoder[1].weight)
    assert register(module) == arch  # the same object, the same arch: a grid of it resumes
