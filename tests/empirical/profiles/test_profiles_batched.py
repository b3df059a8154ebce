"""N networks trained as one wide network are the N networks trained alone (to float tolerance)."""

import pytest
import torch
import torch.nn as nn

from benign.empirical.networks import BasicBlock, EncoderProjector, conv_bn_relu
from benign.empirical.profiles.batched import train_networks
from benign.empirical.profiles.modes import MODES
from benign.empirical.profiles.run import ProfileConfig, prepare
from benign.empirical.profiles.trainer import NetSpec, OptSpec, train_network
from benign.empirical.profiles.wide import WideNetwork, widen

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def data():
    return prepare(ProfileConfig(dataset="synthetic", train_size=48, examples=32), torch.device("cpu"))


@pytest.mark.parametrize("method", list(MODES))
def test_batched_training_equals_training_each_network_alone(data, method):
    mode = MODES[method]
    net = NetSpec("small_cnn", 4, 16, data.train.num_classes, 8)
    opt = OptSpec("adam", 1e-2, 1e-4, 0.9, 0.07)  # a large step, so that 2 epochs x 3 steps move a lot
    labels = {"clean": data.train.labels, "random": data.random_labels, "none": None}[mode.labels]
    args = (
        data.train,
        labels,
        data.train.images[data.profiled],
        None if labels is None else labels[data.profiled],
        data.profiled,
        net,
        opt,
        2,
        16,
        3,
        7,
    )
    rec, losses, wide, template = train_networks(mode, SEEDS, *args)
    assert rec.shape == (3, 2, 3, 32) and losses.shape == (3, 2)
    for n, seed in enumerate(SEEDS):
        rec_alone, losses_alone, alone = train_network(mode, seed, *args)
        for (name, a), b in zip(alone.state_dict().items(), wide.network(n, template).state_dict().values()):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=2e-5, msg=name)
        torch.testing.assert_close(losses[n], losses_alone, rtol=1e-4, atol=1e-5)
        assert torch.equal(rec[n], rec_alone)
    # the networks are distinct (own seeds), not N copies of one
    assert not torch.allclose(
        wide.network(0, template).stem[0].weight, wide.network(1, template).stem[0].weight
    )


def tiny_resnet(seed: int) -> EncoderProjector:
    """Residual blocks with and without a projection shortcut, and a max-pool: every layer kind of
    resnet18 and vgg11, at a width that costs nothing."""
    torch.manual_seed(seed)
    stem = nn.Sequential(*conv_bn_relu(1, 4), nn.MaxPool2d(2))
    stages = [
        nn.Sequential(BasicBlock(4, 4, 1)),
        nn.Sequential(BasicBlock(4, 8, 2)),
        nn.Sequential(BasicBlock(8, 8, 1)),
        nn.Sequential(*conv_bn_relu(8, 8)),
    ]
    return EncoderProjector(stem, stages, 8, 5, 6)


def test_wide_forward_matches_each_network_and_shared_input_path():
    nets = [tiny_resnet(seed) for seed in range(3)]
    wide = WideNetwork(nets)
    x = torch.randn(4, 3, 1, 12, 12)
    wide.eval(), [m.eval() for m in nets]
    ref = torch.stack([m(x[:, n]) for n, m in enumerate(nets)], 1)
    torch.testing.assert_close(wide(x), ref, rtol=1e-4, atol=1e-5)
    shared = x[:, 0]
    torch.testing.assert_close(wide(shared), torch.stack([m(shared) for m in nets], 1), rtol=1e-4, atol=1e-5)
    for n in range(3):
        for a, b in zip(wide.network(n, nets[0]).state_dict().values(), nets[n].state_dict().values()):
            assert torch.equal(a, b)


def test_widen_refuses_layers_it_cannot_keep_apart():
    with pytest.raises(TypeError, match="side by side"):
        widen([nn.Linear(3, 2), nn.Linear(3, 2)])
