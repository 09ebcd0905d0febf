"""GradientFileMeta: one validator for the metadata of every gradient file."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adamcheck._errors import DataError
from adamcheck.noise._meta import META_KEYS, GradientFileMeta


@pytest.mark.parametrize("key,value", [
    ("row_batch_size", 2.5), ("row_batch_size", 0), ("row_batch_size", -4), ("reduction", "banana"),
    ("loss_scale", math.nan), ("loss_scale", 0.0), ("loss_scale", -1.0), ("mean_over", -3),
    ("beta2", 1.0), ("beta1", -0.1), ("eps", -1e-8), ("lr", 0.0), ("batch_size", 3.5),
    ("reduction", 3), ("monitor_failed", [0.5, 1.5]), ("writer", 7), ("row_batch_size", "4"),
    ("row_batch_size", np.array([4, 4])), ("monitor_decided", 2), ("beta2", True),
])
def test_malformed_values_are_refused_naming_the_key(key, value):
    with pytest.raises(DataError, match=key):
        GradientFileMeta.from_mapping({key: value}, "f.npz")


def test_valid_values_round_trip_and_minus_one_means_not_stated():
    m = GradientFileMeta.from_mapping({"reduction": np.asarray("sum"), "loss_scale": np.asarray(128.0),
                                       "row_batch_size": np.asarray(8), "batch_size": np.asarray(-1),
                                       "monitor_failed": np.asarray([0.5, 0.9]), "unrelated": 3}, "f.npz")
    assert (m.reduction, m.loss_scale, m.row_batch_size, m.batch_size) == ("sum", 128.0, 8, None)
    assert m.monitor_failed == (0.5, 0.9) and m.is_monitor
    assert set(m.stated()) == {"reduction", "loss_scale", "row_batch_size", "monitor_failed"}
    assert not GradientFileMeta().is_monitor and GradientFileMeta().rows_per_example == 1
    assert set(META_KEYS) == {f for f in GradientFileMeta.__dataclass_fields__}
