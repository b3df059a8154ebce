"""Every preset of the project, in one folder.

figures     the paper's tables and figures as grids, at four scales (tiny, small, cpu, full), and the
            memorization scores' grids (fz, sslmem); `benign grid run PRESET --scale S`
memscore    the turn-over dropout runs of companion 3 per scale and model (`benign memscore run`)
profiles    the memorization profiles of companion 2 per scale (`benign profiles run`)
paper_runs  single training runs at the paper's scale (`benign train --preset DATASET-ARCH`)

`benign.grids.presets` itself is the figures' presets (PRESETS, SCALES, preset_dict, ...).
"""

from benign.grids.presets.figures import *  # noqa: F403
