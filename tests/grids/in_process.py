"""An executor for tests: the library's in-process one, claiming two workers so that batches split."""

from benign.grids.in_process import InProcess as _InProcess


class InProcess(_InProcess):
    workers = 2
