"""Modules named after their function are callable, and warnings point at the user's line."""

import warnings

import numpy as np
import pytest

import connection as cx
import connection.bootstrap  # noqa: F401  (binds cx.bootstrap to the module first)
from connection.errors import ArgumentError, BootstrapWarning


def _failing(d):
    if d.max() < 19:
        raise ValueError("no max")
    return d.mean()


def test_module_call_equals_function_call_and_warning_points_here():
    data = np.arange(20.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cx.bootstrap(_failing, data, n_boot=100, seed=1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootstrapWarning)
        direct = connection.bootstrap.bootstrap(_failing, data, n_boot=100, seed=1,
                                                progress=False)
    np.testing.assert_array_equal(res.replicates.to_numpy(), direct.replicates.to_numpy())
    boot = [w for w in caught if issubclass(w.category, BootstrapWarning)]
    assert len(boot) == 1 and boot[0].filename == __file__


def test_error_filters_still_turn_warnings_into_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error", BootstrapWarning)
        with pytest.raises(BootstrapWarning):
            cx.bootstrap(_failing, np.arange(20.0), n_boot=100, seed=1, progress=False)


def test_n_boot_must_be_a_positive_integer():
    with pytest.raises(ArgumentError, match="at least one replicate"):
        cx.bootstrap(np.mean, np.arange(5.0), n_boot=0)
    with pytest.raises(ArgumentError):
        cx.bootstrap(np.mean, np.arange(5.0), n_boot=2.5)
