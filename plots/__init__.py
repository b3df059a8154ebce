"""Pictures of result files (matplotlib, Agg backend): one module per kind of picture."""

import matplotlib

matplotlib.use("Agg")
