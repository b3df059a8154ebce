"""empirical/training.py: the learning-rate schedule, constant (the paper's) with an optional linear cooldown."""

from hypothesis import given
from hypothesis import strategies as st

from benign.empirical.training import TrainConfig, learning_rate


@given(total=st.integers(1, 5000), cooldown=st.floats(0.0, 1.0), lr=st.floats(1e-5, 1e-1))
def test_constant_then_linear_to_the_end(total, cooldown, lr):
    cfg = TrainConfig(lr=lr, cooldown=cooldown)
    rates = [learning_rate(cfg, t, total) for t in range(total)]
    n_cool = round(cooldown * total)
    assert all(r == lr for r in rates[: total - n_cool])  # the paper's constant rate before it
    assert all(a >= b for a, b in zip(rates, rates[1:]))  # never rises
    assert all(r > 0 for r in rates)  # every step of the budget trains
    if n_cool:
        assert abs(rates[-1] - lr / n_cool) <= 1e-12 * lr  # the last step at lr / n_cool
        steps = [rates[i] - rates[i + 1] for i in range(total - n_cool, total - 1)]
        assert all(abs(d - lr / n_cool) <= 1e-9 * lr for d in steps)  # linear


def test_a_cooldown_outside_zero_to_one_is_refused():
    import pytest

    with pytest.raises(ValueError, match="cooldown must be a fraction"):
        TrainConfig(cooldown=1.5).validate()
