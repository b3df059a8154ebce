"""The options `benign train` and `benign capacity` share: the data, the network and its optimiser.
Defaults are TrainConfig's; one declaration each, so the two commands cannot drift apart."""

from __future__ import annotations

import typer

from benign.empirical.training import TrainConfig as T
from benign.theory.devices import DEVICE_HELP, PRECISION_HELP

DATASET = typer.Option(
    T.dataset,
    help="cifar10, cifar100, tinyimagenet, stl10, mnist, fashion-mnist, digits (NAME:a-b: classes a..b), "
    "folder:PATH (PATH/train/<class>/*, PATH/test/<class>/*) or npz:FILE (x_train, y_train, x_test, y_test)",
)
DATA_ROOT = typer.Option(T.data_root, help="data folder (default: data/)")
DOWNLOAD = typer.Option(T.download, help="download the dataset when absent")
ARCH = typer.Option(T.arch, help="resnet18, vgg11, small_cnn, or your own: MODULE:FACTORY, file.py:FACTORY")
STEM = typer.Option(T.stem, help="cifar, stride2, auto (stride2 for 64x64)")
PROJECTOR_WIDTH = typer.Option(T.projector_width, help="hidden width of the projector MLP")
CNN_WIDTH = typer.Option(T.cnn_width, help="channels of small_cnn's first stage")
LOSS = typer.Option(T.loss, help="mse or ce")
BATCH_SIZE = typer.Option(T.batch_size, help="images per step")
INIT = typer.Option(T.init, help="conv init: authors (kaiming normal, fan_out) or pytorch")
PRECISION = typer.Option(T.precision, help=PRECISION_HELP)
DEVICE = typer.Option(T.device, help=DEVICE_HELP)
