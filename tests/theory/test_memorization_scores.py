"""Feldman-Zhang scores from models on shares of a pool, and the AUROC that checks them."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import roc_auc_score

from benign.theory.memorization_scores import auroc, feldman_zhang

shapes = st.tuples(st.integers(2, 12), st.integers(1, 15))  # (models m, examples n)


def outcomes(shape):
    return arrays(np.bool_, shape)


@given(shapes.flatmap(lambda s: st.tuples(outcomes(s), outcomes(s))))
def test_the_score_is_the_difference_of_the_two_means_and_its_error_their_standard_errors(case):
    inside, correct = case
    score, se = feldman_zhang(inside, correct)
    for i in range(inside.shape[1]):
        a, b = correct[inside[:, i], i].astype(float), correct[~inside[:, i], i].astype(float)
        if len(a) and len(b):
            assert score[i] == pytest.approx(a.mean() - b.mean(), abs=1e-12)
        else:
            assert np.isnan(score[i])
        if len(a) > 1 and len(b) > 1:
            want = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
            assert se[i] == pytest.approx(want, abs=1e-12)
        else:
            assert np.isnan(se[i])


@given(shapes.flatmap(lambda s: outcomes(s)))
def test_a_model_that_is_right_exactly_on_what_it_trained_on_memorises_everything(inside):
    score, _ = feldman_zhang(inside, inside)
    both = inside.any(0) & (~inside).any(0)
    assert np.all(score[both] == 1.0) and np.all(np.isnan(score[~both]))


@given(shapes.flatmap(lambda s: st.tuples(outcomes(s), outcomes((s[1],)))))
def test_an_outcome_that_ignores_the_training_set_has_no_memorization(case):
    inside, per_example = case
    correct = np.broadcast_to(per_example, inside.shape)
    score, _ = feldman_zhang(inside, correct)
    both = inside.any(0) & (~inside).any(0)
    assert np.all(score[both] == 0.0)


def test_models_not_valid_count_on_neither_side():
    inside = np.array([[1, 0], [0, 1], [1, 1]], bool)
    correct = np.array([[1, 0], [0, 1], [0, 0]], bool)
    score, _ = feldman_zhang(inside, correct, valid=[True, True, False])
    assert score.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="differ in shape"):
        feldman_zhang(inside, correct[:, :1])


@given(
    st.integers(2, 40).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, n, elements=st.sampled_from([-1.0, -0.5, 0.0, 0.25, 1.0])),
            arrays(np.bool_, n),
        )
    )
)
def test_auroc_is_scikit_learns_and_ignores_missing_scores(case):
    s, p = case
    if p.all() or not p.any():
        assert np.isnan(auroc(s, p))
        return
    assert auroc(s, p) == pytest.approx(roc_auc_score(p, s), abs=1e-12)
    with_nan = np.append(s, np.nan)
    assert auroc(with_nan, np.append(p, True)) == pytest.approx(auroc(s, p), abs=1e-12)
    assert auroc(np.exp(s), p) == pytest.approx(auroc(s, p), abs=1e-12)  # ranks only
