"""Probes of a representation: the k-NN probe (knn_probe) on an exact nearest-neighbour search
(knn_search), and the linear probe (linear_probe)."""
