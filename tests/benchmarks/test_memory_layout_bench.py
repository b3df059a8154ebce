"""The memory layout of the cpu preset's network (small_cnn width 32, projector 4096, 28x28 grey
images) on one CPU thread, as a grid worker runs it: the training step (batch 256, MSE, Adam) in
channels-last memory against the default layout, and the probe's embedding pass (the eval network
with its batch norms folded into the convolutions, channels last, 256 images a batch: embed_all)
against the plain eval network (512 images a batch). Variants alternated in one run. Run with
    .venv/bin/python -m pytest tests/benchmarks/test_memory_layout_bench.py --benchmark-only -s
"""

import torch
import torch.nn.functional as F

from benign.empirical.networks import build_network, fold_batchnorm
from tests.benchmarks.peers import alternate

CL = torch.channels_last


def _network():
    torch.manual_seed(0)
    return build_network("small_cnn", 10, 1, 4096, cnn_width=32, init="authors")


def test_training_step_channels_last(benchmark, record_ratio, torch_threads):
    torch_threads(1)
    x, y = torch.randn(256, 1, 28, 28), F.one_hot(torch.randint(0, 10, (256,)), 10).float()
    nets = {"channels_last": _network().to(memory_format=CL), "contiguous": _network()}
    opts = {k: torch.optim.Adam(n.parameters(), 1e-3) for k, n in nets.items()}

    def step(name):
        xin = x.contiguous(memory_format=CL) if name == "channels_last" else x
        loss = F.mse_loss(nets[name](xin), y)
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        opts[name].step()
        return loss.item()

    variants = {k: (lambda k=k: step(k)) for k in nets}
    for v in variants.values():
        v()  # warm-up: oneDNN picks its kernels
    rounds = 1 if benchmark.disabled else 5
    times, losses = benchmark.pedantic(lambda: alternate(variants, rounds), rounds=1, iterations=1)
    assert abs(losses["channels_last"] - losses["contiguous"]) < 1e-4  # the same network, same steps
    record_ratio("small CNN training step, batch 256, 1 thread", times, "channels_last", "contiguous")


def test_probe_embedding_folded(benchmark, record_ratio, torch_threads):
    torch_threads(1)
    net = _network().eval()
    x = torch.randn(2048, 1, 28, 28)

    @torch.inference_mode()
    def plain():
        return torch.cat([net.embed(x[i : i + 512]) for i in range(0, len(x), 512)])

    @torch.inference_mode()
    def folded():
        f = fold_batchnorm(net).to(memory_format=CL)
        return torch.cat(
            [f.embed(x[i : i + 256].contiguous(memory_format=CL)) for i in range(0, len(x), 256)]
        )

    variants = {"folded": folded, "plain": plain}
    rounds = 1 if benchmark.disabled else 5
    times, out = benchmark.pedantic(lambda: alternate(variants, rounds), rounds=1, iterations=1)
    torch.testing.assert_close(out["folded"], out["plain"], rtol=1e-4, atol=1e-5)
    record_ratio("probe embedding, 2048 images, 1 thread", times, "folded", "plain")
