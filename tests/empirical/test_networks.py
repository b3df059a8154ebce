import pytest
import torch

from benign.empirical.networks import LAYERS, build_network, fold_batchnorm


@pytest.mark.parametrize(
    "arch,size,stem,dims",
    [
        ("resnet18", 32, "cifar", {"layer1": 64, "layer4": 512, "embedding": 512}),
        ("resnet18", 64, "stride2", {"layer1": 64, "layer4": 512, "embedding": 512}),
        ("vgg11", 32, "cifar", {"layer1": 128, "layer4": 512, "embedding": 512}),
        ("small_cnn", 28, "cifar", {"layer1": 32, "layer4": 128, "embedding": 128}),
    ],
)
def test_named_layers(arch, size, stem, dims):
    torch.manual_seed(0)
    net = build_network(arch, 7, 3 if arch != "small_cnn" else 1, projector_width=48, stem=stem).eval()
    x = torch.randn(2, net.stem[0].in_channels, size, size)
    with torch.no_grad():
        f = net.features(x, LAYERS, pool="avg")
        assert list(f) == list(LAYERS)
        for k, d in dims.items():
            assert f[k].shape == (2, d)
        assert f["projector_hidden"].shape == (2, 48) and f["output"].shape == (2, 7)
        assert torch.allclose(net(x), f["output"])
        assert net.features(x, ("layer2",), pool="flatten")["layer2"].ndim == 2


def test_stems_and_projector():
    r = build_network("resnet18", 10, 3, 16, "cifar")
    assert r.stem[0].kernel_size == (3, 3) and r.stem[0].stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in r.modules())
    assert build_network("resnet18", 10, 3, 16, "stride2").stem[0].stride == (2, 2)
    p = r.projector
    assert p.hidden.bias is None and p.out.bias is None
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.LayerNorm)) for m in p.modules())
    with torch.no_grad():  # stride-2 stem halves the first feature map
        x = torch.randn(1, 3, 64, 64)
        assert build_network("resnet18", 10, 3, 16, "stride2").stem(x).shape[-1] == 32
    with pytest.raises(ValueError):
        build_network("resnet50", 10, 3, 16)


@pytest.mark.parametrize("arch", ["small_cnn", "vgg11", "resnet18"])
def test_folded_batchnorm_is_the_eval_network(arch):
    """fold_batchnorm computes every named representation of the eval-mode network (float64, batch
    norms with trained-looking statistics), leaves the original untouched, and has no batch norm left."""
    torch.manual_seed(0)
    net = build_network(arch, 5, 3, 16, init="authors").double()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    net.train()
    x = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    folded = fold_batchnorm(net)
    assert net.training and not folded.training
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    with torch.no_grad():
        want = net.eval().features(x, LAYERS)
        got = folded.to(memory_format=torch.channels_last).features(
            x.contiguous(memory_format=torch.channels_last), LAYERS
        )
    for name in LAYERS:
        torch.testing.assert_close(got[name], want[name], rtol=1e-10, atol=1e-10)
