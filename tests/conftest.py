import os

import torch
from hypothesis import HealthCheck, settings

# numpy/xarray style: `ci` is derandomised so a CI failure reproduces; `dev` explores more.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

torch.set_num_threads(min(2, os.cpu_count() or 1))
