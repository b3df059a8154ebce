"""The loss decomposition of appendix B, on numpy arrays and torch tensors alike.

Shapes: outputs (n, B, C) are f(T_a x_i) for n samples under B augmentations; labels (n, C).

Lemma B.1:  (1/B) sum_i |x_i - a|^2 = (1/(2B^2)) sum_{i,j} |x_i - x_j|^2 + |a - mean_i x_i|^2.
Theorem B.2: L_super = (1/(nB)) sum_{i,a} |f(T_a x_i) - y_i|^2 = Inv + Bias with
    Inv  = (1/(2nB^2)) sum_i sum_{a,b} |f(T_a x_i) - f(T_b x_i)|^2   (invariance, >= 0)
    Bias = (1/n) sum_i |y_i - fbar(x_i)|^2,  fbar(x_i) = (1/B) sum_a f(T_a x_i)   (>= 0)
and, grouping the samples by label N_c = {i : y_i = e_c}, Bias = (1/n) sum_c sum_{i in N_c} |e_c - fbar(x_i)|^2.
"""

from __future__ import annotations


def _sq_norm(x):
    return (x * x).sum(-1)


def supervised_mse(outputs, labels):
    """(1/(nB)) sum_{i,a} |f(T_a x_i) - y_i|^2: a scalar."""
    return _sq_norm(outputs - labels[:, None, :]).mean()


def mean_output(outputs):
    """fbar(x_i), the model averaged over the B augmentations: (n, C)."""
    return outputs.mean(1)


def invariance_term(outputs):
    """Inv of theorem B.2 from all pairs of augmentations: a scalar >= 0."""
    diff = outputs[:, :, None, :] - outputs[:, None, :, :]  # (n, B, B, C)
    n, B = outputs.shape[0], outputs.shape[1]
    return _sq_norm(diff).sum() / (2 * n * B * B)


def bias_term(outputs, labels):
    """Bias of theorem B.2: (1/n) sum_i |y_i - fbar(x_i)|^2, a scalar >= 0."""
    return _sq_norm(labels - mean_output(outputs)).mean()


def bias_by_class(outputs, labels):
    """Bias regrouped by label class: the per-class sums (C,) of |e_c - fbar(x_i)|^2 over N_c, divided by n.

    labels must be one-hot; the entries add up to bias_term(outputs, labels).
    """
    per_sample = _sq_norm(labels - mean_output(outputs))  # (n,)
    # labels.T @ per_sample sums each sample's term into its class.
    return (labels * per_sample[:, None]).sum(0) / labels.shape[0]


def lemma_b1_sides(x, a):
    """The two sides of lemma B.1 for x (B, d) and a (d,): (left, right)."""
    B = x.shape[0]
    left = _sq_norm(x - a).sum() / B
    pairwise = _sq_norm(x[:, None, :] - x[None, :, :]).sum() / (2 * B * B)
    right = pairwise + _sq_norm(a - x.mean(0))
    return left, right
