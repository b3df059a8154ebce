"""store.provenance: every result file says what made it, and its configuration reads back unchanged."""

import json
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from benign.store.provenance import config_of, encode_attr, git_commit, provenance_attrs

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats(-1e6, 1e6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_config_json_round_trips(config):
    with patch("benign.store.provenance.git_commit", return_value="unknown"):  # no git subprocess per example
        attrs = provenance_attrs("t", config, command="benign test")
    assert config_of(attrs) == json.loads(json.dumps(config, sort_keys=True))


def test_the_provenance_attributes_are_there_and_are_strings():
    attrs = provenance_attrs("t", {"a": 1}, command="benign test --x 1")
    for key in ("title", "created_at", "package_version", "git_commit", "command", "config_json"):
        assert isinstance(attrs[key], str) and attrs[key]
    assert attrs["command"] == "benign test --x 1" and attrs["created_at"].endswith("+00:00")
    assert git_commit() == "unknown" or len(git_commit().removesuffix("+dirty")) == 40


def test_encode_attr_leaves_numbers_and_strings_and_encodes_the_rest():
    assert encode_attr(3) == 3 and encode_attr("s") == "s" and encode_attr([1.0, 2.0]) == [1.0, 2.0]
    assert encode_attr(True) == "true" and encode_attr(None) == "null" and encode_attr({"b": 1}) == '{"b": 1}'
    assert json.loads(encode_attr(["a", None])) == ["a", None]
