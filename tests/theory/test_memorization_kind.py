import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from benign.theory.memorization_kind import FIT_FOR_MEMORIZATION, is_memorization, memorization_kind

unit = st.floats(0.0, 1.0, allow_nan=False)


@given(fit=unit, probe=unit, init=unit, share=st.sampled_from([0.0, 0.5, 1.0]))
def test_definition_4_1(fit, probe, init, share):
    kind = memorization_kind(fit, probe, init, share).item()
    if share == 0:
        assert kind == "clean"
    elif fit < FIT_FOR_MEMORIZATION:
        assert kind == "not memorised"  # no memorization, whatever the probe
    else:
        assert kind == ("benign" if probe > init else "malign")


def test_elementwise_and_nan():
    fit = np.array([1.0, 0.98, 0.995, np.nan])
    kinds = memorization_kind(fit, [0.9, 0.9, 0.7, 0.9], 0.8)
    assert kinds.tolist() == ["benign", "not memorised", "malign", "not memorised"]
    assert is_memorization([0.99, 0.989]).tolist() == [True, False]
