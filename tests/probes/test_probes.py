import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from benign.probes.knn_probe import knn_accuracy, knn_predict
from benign.probes.linear_probe import LinearProbe


def blobs(n, D, C, seed, spread=1.0):
    g = np.random.default_rng(seed)
    centres = g.normal(size=(C, D)) * 2
    y = g.integers(0, C, n)
    return centres[y] + spread * g.normal(size=(n, D)), y


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("k", [1, 5, 20])
def test_uniform_knn_equals_sklearn(normalize, k):
    x, y = blobs(300, 8, 4, 0, spread=2.0)
    q, _ = blobs(200, 8, 4, 1, spread=2.0)
    ref = torch.as_tensor(x)
    pred = knn_predict(
        ref, torch.as_tensor(y), torch.as_tensor(q), 4, k=k, normalize=normalize, max_chunk_bytes=4096
    )
    if normalize:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
    # Ties in the vote go to the smallest label in both.
    oracle = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(x, y).predict(q)
    np.testing.assert_array_equal(pred.numpy(), oracle)


def test_cosine_vote_equals_brute_force():
    x, y = blobs(200, 6, 3, 2, spread=2.0)
    q, _ = blobs(50, 6, 3, 3, spread=2.0)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    s = qn @ xn.T
    expect = []
    for row in s:
        top = np.argsort(-row)[:20]
        votes = np.zeros(3)
        np.add.at(votes, y[top], np.exp(row[top] / 0.07))
        expect.append(votes.argmax())
    pred = knn_predict(torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(q), 3, vote="cosine")
    np.testing.assert_array_equal(pred.numpy(), expect)


@given(st.integers(0, 10_000), st.sampled_from(["uniform", "cosine"]))
@settings(max_examples=25)
def test_knn_invariant_to_permuting_the_reference_set(seed, vote):
    x, y = blobs(120, 5, 3, seed % 97)
    q, _ = blobs(40, 5, 3, seed % 89 + 1)
    perm = np.random.default_rng(seed).permutation(len(x))
    a = knn_predict(torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(q), 3, k=7, vote=vote)
    b = knn_predict(torch.as_tensor(x[perm]), torch.as_tensor(y[perm]), torch.as_tensor(q), 3, k=7, vote=vote)
    assert torch.equal(a, b)


def test_chunking_does_not_change_the_answer():
    x, y = blobs(500, 16, 5, 4, spread=2.0)
    q, _ = blobs(300, 16, 5, 5, spread=2.0)
    args = (torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(q), 5)
    assert torch.equal(knn_predict(*args, max_chunk_bytes=1), knn_predict(*args, max_chunk_bytes=2**30))


def test_knn_accuracy_separates_good_and_useless_features():
    x, y = blobs(400, 10, 4, 6, spread=0.3)
    q, qy = blobs(400, 10, 4, 6, spread=0.3)
    assert knn_accuracy(x, y, q, qy, 4) > 0.95
    rng = np.random.default_rng(0)
    assert knn_accuracy(rng.normal(size=x.shape), y, rng.normal(size=q.shape), qy, 4) < 0.45


def test_knn_rejects_bad_shapes():
    with pytest.raises(ValueError):
        knn_predict(torch.zeros(4, 3), torch.zeros(4), torch.zeros(2, 5), 2)
    with pytest.raises(ValueError):
        knn_predict(torch.zeros(4, 3), torch.zeros(4), torch.zeros(2, 3), 2, vote="majority")


def test_linear_probe_matches_sklearn_logistic_regression():
    x, y = blobs(600, 12, 4, 7, spread=3.0)
    xt, yt = blobs(600, 12, 4, 7 + 100, spread=3.0)
    ours = LinearProbe(4, l2=1e-2).fit(torch.as_tensor(x), torch.as_tensor(y))
    mu, sd = x.mean(0), x.std(0)
    # sklearn's C is 1/(n * l2) for a mean loss with penalty l2/2 |W|^2.
    ref = LogisticRegression(C=1 / (len(x) * 1e-2), max_iter=2000).fit((x - mu) / sd, y)
    agree = (ours.predict(torch.as_tensor(xt)).numpy() == ref.predict((xt - mu) / sd)).mean()
    assert agree > 0.97
    assert abs(ours.score(xt, yt) - ref.score((xt - mu) / sd, yt)) < 0.02


def test_leave_one_out_equals_refitting_without_each_row():
    x, y = blobs(60, 4, 3, 8, spread=2.0)
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    loo = knn_predict(x, y, x, 3, k=5, exclude_self=True, max_chunk_bytes=256)
    for i in range(len(x)):
        keep = torch.arange(len(x)) != i
        assert loo[i] == knn_predict(x[keep], y[keep], x[i : i + 1], 3, k=5)[0]


def brute_force_knn(x, y, q, num_classes, k, normalize, exclude_self):
    """The definition, in float64 numpy: squared Euclidean distances, the k smallest, a uniform vote,
    the first (smallest) class among the most voted. Also returns the gap between the k-th and the
    (k+1)-th distance, so that a test can skip neighbour sets that rounding could change."""
    if normalize:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
    dist = ((q[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    if exclude_self:
        np.fill_diagonal(dist, np.inf)
    k = min(k, len(x) - 1 if exclude_self else len(x))
    order = np.argsort(dist, axis=1, kind="stable")
    pred = np.array([np.bincount(y[row[:k]], minlength=num_classes).argmax() for row in order])
    sorted_d = np.take_along_axis(dist, order, 1)
    gap = (sorted_d[:, k] - sorted_d[:, k - 1]).min() if k < sorted_d.shape[1] - exclude_self else np.inf
    return pred, gap


@given(
    seed=st.integers(0, 2**31 - 1),
    n_ref=st.integers(2, 60),
    n_q=st.integers(1, 30),
    dim=st.integers(1, 6),
    num_classes=st.integers(1, 5),
    k=st.integers(1, 25),
    normalize=st.booleans(),
    exclude_self=st.booleans(),
    chunk=st.sampled_from([1, 200, 4096, 2**28]),
)
@settings(max_examples=80)
def test_knn_equals_brute_force_with_vote_ties(
    seed, n_ref, n_q, dim, num_classes, k, normalize, exclude_self, chunk
):
    # Few classes and even k make tied votes common; they must go to the smallest class.
    g = np.random.default_rng(seed)
    x = g.uniform(-3, 3, (n_ref, dim))
    y = g.integers(0, num_classes, n_ref)
    q = x if exclude_self else g.uniform(-3, 3, (n_q, dim))
    expect, gap = brute_force_knn(x, y, q, num_classes, k, normalize, exclude_self)
    assume(gap > 1e-9)  # the k nearest must be well defined to compare neighbour sets
    pred = knn_predict(
        torch.as_tensor(x),
        torch.as_tensor(y),
        torch.as_tensor(q),
        num_classes,
        k=k,
        normalize=normalize,
        exclude_self=exclude_self,
        max_chunk_bytes=chunk,
    )
    np.testing.assert_array_equal(pred.numpy(), expect)


def test_vote_tie_goes_to_the_smallest_class():
    ref = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    labels = torch.tensor([3, 1, 2, 0])
    query = torch.tensor([[1.0, 0.9]])  # nearest: class 3 then class 1, one vote each
    assert knn_predict(ref, labels, query, 4, k=2).item() == 1
    assert knn_predict(ref, labels, query, 4, k=1).item() == 3
