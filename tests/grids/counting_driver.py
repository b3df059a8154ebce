"""A grid driver for tests, run as `python -m tests.grids.counting_driver OUT LOG DELAY_S`.

It runs the tiny toy grid in this process (InProcess), with a task that appends each cell it
computes to LOG and sleeps DELAY_S, so that a test can see a cell computed twice. Exit 0 when
done; 3 and the refusal on stdout when another driver runs OUT.
"""

import json
import sys
import time

from benign.grids import spec as grid_spec
from benign.grids.engine import run_grid
from benign.theory.toy_grid import VARIABLES
from tests.grids.in_process import InProcess

TINY = {"n": [3, 6], "B": [1, 2], "seeds": 2, "steps": 20, "K": 8, "n_probe": 50, "n_test": 50}
GRID = {**TINY, "capacity": False}


def counted(log: str, delay_s: float):
    def task(t):  # a grids.engine.Task
        with open(log, "a") as f:
            for c in t.cells:
                f.write(json.dumps(c, sort_keys=True) + "\n")
        time.sleep(delay_s)
        return [{v: float(c["n"]) for v in VARIABLES} for c in t.cells]

    return task


class OneAtATime(InProcess):
    workers = 4  # batches of two cells: four tasks, each `delay_s` long


if __name__ == "__main__":
    out, log, delay_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
    try:
        counts = run_grid(grid_spec.from_dict(GRID), out, OneAtATime(), run=counted(log, delay_s))
    except ValueError as e:
        print(e, flush=True)
        sys.exit(3)
    print(json.dumps(counts), flush=True)
