"""The linear probe of a representation (table 4): multinomial logistic regression on standardised
features."""

from __future__ import annotations

import torch
from torch import Tensor

from benign.probes.knn_probe import as_tensor


class LinearProbe:
    """Multinomial logistic regression on frozen features (table 4), full-batch L-BFGS.

    Features are standardised with the training set's mean and spread; `l2` is the ridge penalty
    on the weights (mean loss + l2/2 |W|^2). Follows scikit-learn's conventions: `fit` returns self,
    learned attributes end in `_`.
    """

    def __init__(self, num_classes: int, l2: float = 1e-4, max_iter: int = 200):
        self.num_classes = num_classes
        self.l2 = l2
        self.max_iter = max_iter

    def fit(self, features: Tensor, labels: Tensor) -> LinearProbe:
        x = as_tensor(features).double()
        y = as_tensor(labels, x.device).long()
        self.mean_ = x.mean(0)
        self.scale_ = x.std(0, unbiased=False).clamp_min(1e-12)
        z = (x - self.mean_) / self.scale_
        weight = torch.zeros(z.shape[1], self.num_classes, dtype=z.dtype, device=z.device, requires_grad=True)
        bias = torch.zeros(self.num_classes, dtype=z.dtype, device=z.device, requires_grad=True)
        opt = torch.optim.LBFGS(
            [weight, bias],
            max_iter=self.max_iter,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-9,
            tolerance_change=1e-12,
        )

        def closure():
            opt.zero_grad()
            loss = (
                torch.nn.functional.cross_entropy(z @ weight + bias, y) + 0.5 * self.l2 * weight.pow(2).sum()
            )
            loss.backward()
            return loss

        opt.step(closure)
        self.coef_ = weight.detach()
        self.intercept_ = bias.detach()
        return self

    def decision_function(self, features: Tensor) -> Tensor:
        z = (as_tensor(features, self.coef_.device).double() - self.mean_) / self.scale_
        return z @ self.coef_ + self.intercept_

    def predict(self, features: Tensor) -> Tensor:
        return self.decision_function(features).argmax(1)

    def score(self, features: Tensor, labels: Tensor) -> float:
        pred = self.predict(features)
        return (pred == as_tensor(labels, pred.device).long()).double().mean().item()
