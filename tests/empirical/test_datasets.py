import numpy as np
import pytest
import torch

from benign.empirical.datasets import DEBIAN_FASHION_MNIST, load_dataset, subset, subset_indices
from tests.empirical.fixtures import (
    write_cifar10,
    write_cifar100,
    write_mnist_like,
    write_stl10,
    write_tinyimagenet,
)


def test_cifar10_round_trip(tmp_path):
    x, y = write_cifar10(tmp_path)
    d = load_dataset("cifar10", tmp_path)
    assert d.images.dtype == torch.uint8 and d.images.shape == (40, 3, 32, 32)
    assert np.array_equal(d.images.numpy(), x) and np.array_equal(d.labels.numpy(), y)
    assert d.num_classes == 10 and len(d.mean) == 3
    assert load_dataset("cifar10", tmp_path, train=False).images.shape == (20, 3, 32, 32)


def test_cifar100_fine_labels(tmp_path):
    write_cifar100(tmp_path)
    d = load_dataset("cifar100", tmp_path, train=False)
    assert d.num_classes == 100 and d.labels.max() == 99


@pytest.mark.parametrize("gz", [True, False])
def test_idx_formats(tmp_path, gz):
    truth = write_mnist_like(tmp_path, "MNIST", gz=gz)
    d = load_dataset("mnist", tmp_path)
    assert d.images.shape == (60, 1, 28, 28)
    assert np.array_equal(d.images[:, 0].numpy(), truth["train"][0])
    assert np.array_equal(load_dataset("mnist", tmp_path, train=False).labels.numpy(), truth["t10k"][1])


def test_stl10_binary_layout(tmp_path):
    x, y = write_stl10(tmp_path)
    d = load_dataset("stl10", tmp_path)
    assert np.array_equal(d.images.numpy(), x) and np.array_equal(d.labels.numpy(), y)


def test_tinyimagenet_tree(tmp_path):
    truth = write_tinyimagenet(tmp_path)
    d = load_dataset("tinyimagenet", tmp_path)
    assert d.images.shape == (4, 3, 64, 64) and d.labels.tolist() == [0, 0, 1, 1]
    assert np.array_equal(d.images[0].numpy(), truth[("n01443537", 0)])
    v = load_dataset("tinyimagenet", tmp_path, train=False)
    assert v.images.shape == (2, 3, 64, 64) and v.labels.tolist() == [0, 1]
    assert torch.equal(v.images[0, 0], v.images[0, 2])  # grayscale JPEG read as RGB
    # second read comes from the uint8 cache, identical
    assert torch.equal(load_dataset("tinyimagenet", tmp_path).images, d.images)


def test_missing_names_path_and_command(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"cifar-10-batches-py.*benign train --dataset cifar10 --download"
    ):
        load_dataset("cifar10", tmp_path)
    with pytest.raises(FileNotFoundError, match="tiny-imagenet-200"):
        load_dataset("tinyimagenet", tmp_path)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("imagenet", tmp_path)


def test_corrupt_files_are_value_errors(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="corrupt"):
        load_dataset("cifar10", tmp_path)
    write_mnist_like(tmp_path, "MNIST", gz=False)
    p = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(ValueError, match="corrupt"):
        load_dataset("mnist", tmp_path)


def test_balanced_subset_is_reproducible():
    labels = torch.arange(1000) % 10
    a = subset_indices(labels, 105, seed=3)
    assert torch.equal(a, subset_indices(labels, 105, seed=3))
    assert not torch.equal(a, subset_indices(labels, 105, seed=4))
    counts = labels[a].bincount()
    assert counts.max() - counts.min() <= 1 and counts.sum() == 105 and len(a.unique()) == 105


@pytest.mark.skipif(
    not (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_fashion_mnist_found_without_being_told(tmp_path):
    d = load_dataset("fashion-mnist", root=tmp_path / "empty", train=False)
    assert d.images.shape == (10000, 1, 28, 28) and d.labels.bincount().tolist() == [1000] * 10
    s = subset(d, 1000, seed=0)
    assert s.labels.bincount().tolist() == [100] * 10


def test_digits_upsampled_and_split():
    """scikit-learn's digits: 28x28 grey uint8, every third image in the test split, 10 classes."""
    train, test = load_dataset("digits"), load_dataset("digits", train=False)
    assert train.images.shape == (1198, 1, 28, 28) and test.images.shape == (599, 1, 28, 28)
    assert train.images.dtype == torch.uint8 and int(train.images.max()) == 255
    assert train.num_classes == 10 and set(train.labels.tolist()) == set(range(10))
    x = train.images.float() / 255  # its stored statistics are its training split's
    assert abs(float(x.mean()) - train.mean[0]) < 1e-3 and abs(float(x.std()) - train.std[0]) < 1e-3


def test_a_class_range_keeps_and_relabels_those_classes():
    full, held = load_dataset("digits"), load_dataset("digits:5-9")
    assert held.num_classes == 5 and held.name == "digits:5-9"
    assert torch.equal(held.images, full.images[full.labels >= 5])
    assert torch.equal(held.labels, full.labels[full.labels >= 5] - 5)
    for bad in ("digits:5-10", "digits:7-3", "digits:x"):
        with pytest.raises(ValueError, match="bad class range"):
            load_dataset(bad)
