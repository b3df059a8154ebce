"""Your own data: folder:PATH (images in class folders) and npz:FILE (arrays), and their bad forms."""

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from benign.cli.app import app
from benign.empirical.datasets import load_dataset


def write_folder(root, classes=("cat", "dog"), per_class=6, size=(12, 12), mode="RGB", test=True):
    rng = np.random.default_rng(0)
    for split in ("train", "test") if test else ("train",):
        for c in classes:
            (root / split / c).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
                Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(
                    root / split / c / f"{i}.png"
                )
    return root


def test_a_folder_of_pngs(tmp_path):
    root = write_folder(tmp_path / "pets")
    train, test = load_dataset(f"folder:{root}"), load_dataset(f"folder:{root}", train=False)
    assert train.images.shape == (12, 3, 12, 12) and train.images.dtype == torch.uint8
    assert train.num_classes == 2 and train.labels.tolist() == [0] * 6 + [1] * 6  # sorted class names
    assert test.images.shape == (12, 3, 12, 12)
    x = train.images.double() / 255  # normalised with the training split's own statistics
    assert np.allclose(train.mean, x.mean((0, 2, 3)).numpy()) and test.mean == train.mean
    saved = np.asarray(Image.open(root / "train" / "dog" / "0.png"))
    assert np.array_equal(train.images[6].permute(1, 2, 0).numpy(), saved)


def test_grey_images_and_resizing(tmp_path):
    root = write_folder(tmp_path / "g", mode="L")
    assert load_dataset(f"folder:{root}").images.shape == (12, 1, 12, 12)
    Image.fromarray(np.zeros((20, 16), np.uint8), "L").save(root / "train" / "cat" / "big.png")
    with pytest.raises(ValueError, match=r"big.png: 16x20, unlike .*; give an image size"):
        load_dataset(f"folder:{root}")
    assert load_dataset(f"folder:{root}", image_size=8).images.shape == (13, 1, 8, 8)


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda r: __import__("shutil").rmtree(r / "test"), "test: no such folder"),
        (lambda r: [p.unlink() for p in (r / "train" / "dog").iterdir()], "dog: an empty class"),
        (lambda r: (r / "train" / "cat" / "notes.txt").write_text("hi"), "notes.txt: not an image"),
        (lambda r: (r / "test" / "bird").mkdir(), "bird: a class the training split does not have"),
    ],
)
def test_bad_folders_name_the_file(tmp_path, breakage, message):
    root = write_folder(tmp_path / "d")
    breakage(root)
    with pytest.raises(ValueError, match=message):
        load_dataset(f"folder:{root}", train="test" not in message and "bird" not in message)


def test_npz_arrays(tmp_path):
    rng = np.random.default_rng(1)
    arrays = dict(
        x_train=rng.integers(0, 256, (20, 10, 10, 3), dtype=np.uint8),
        y_train=np.arange(20) % 4,
        x_test=rng.integers(0, 256, (8, 10, 10, 3), dtype=np.uint8),
        y_test=np.arange(8) % 4,
    )
    np.savez(tmp_path / "d.npz", **arrays)
    train = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    assert train.images.shape == (20, 3, 10, 10) and train.num_classes == 4
    assert np.array_equal(train.images.permute(0, 2, 3, 1).numpy(), arrays["x_train"])
    np.savez(tmp_path / "bad.npz", **{**arrays, "y_test": np.arange(8)})  # labels 4..7: no such class
    with pytest.raises(ValueError, match="bad.npz: y_test has a label outside the classes 0..3"):
        load_dataset(f"npz:{tmp_path / 'bad.npz'}", train=False)
    np.savez(tmp_path / "part.npz", x_train=arrays["x_train"])
    with pytest.raises(ValueError, match="part.npz: lacks the arrays y_train, x_test, y_test"):
        load_dataset(f"npz:{tmp_path / 'part.npz'}")


def test_train_on_a_folder_from_the_cli_and_bad_data_is_exit_2(tmp_path):
    root = write_folder(tmp_path / "pets", per_class=20)
    runner = CliRunner()
    common = ["--subset", "0", "--cnn-width", "4", "--projector-width", "16", "--batch-size", "16"]
    args = ["train", "--dataset", f"folder:{root}", *common, "--epochs", "1", "--probe-reference", "subset"]
    r = runner.invoke(app, [*args, "--device", "cpu", "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "run" / "history.nc").is_file()
    (root / "train" / "cat" / "x.txt").write_text("not an image")
    r = runner.invoke(app, [*args, "--device", "cpu", "--out", str(tmp_path / "run2")])
    assert r.exit_code == 2 and r.output.strip().startswith("error:") and "x.txt: not an image" in r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "run2" / "history.nc").exists()
