"""Memorization scores by turn-over dropout and per-example gradient statistics (companion paper 3:
Liu, Lin, Jaggi, "Understanding memorization from the perspective of optimization via efficient
influence estimation").

Modules, one idea each:
  turnover_dropout       deterministic, distinct, half-dense per-example masks; the masking layer
  models                 the 4096-unit one-hidden-layer MLP and VGG-11 (no batch norm), fully masked
  corruption             random labels for k examples
  training               SGD where each example updates only its seen half; per-epoch records
  scores                 memorization (eq. 6) and influence (eq. 5); easy / difficult subsets
  per_example_gradients  torch.func vmap(grad), chunked; eq. 3 cosine and eq. 4 contribution
  gradient_gram          the same eqs. 3-4 from the Gram matrix of per-example gradients (fast path)
  data                   the example pool (a real split via empirical.datasets, or synthetic)
  experiment             one run -> labelled xarray Dataset (`benign memscore run`); test subsets
  plots                  figures 2-6, 9 and the appendix-C grids (`benign memscore plot`)
"""
