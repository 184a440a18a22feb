"""First-order lag (K. Ogata, Modern Control Engineering, 5th ed., Section 5-2: the unit
step response of 1/(Ts + 1) is 1 - exp(-t/T), 63.2 % at t = T; the ramp response to
u = r t from rest is r (t - T + T exp(-t/T)))."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from firesight.errors import InvalidParameterError
from firesight.physics.lag import first_order_lag, first_order_response, first_order_step


@pytest.mark.parametrize("tau_s", [5.0, 60.0])
def test_step_response_reaches_63_percent_at_tau(tau_s):
    t = np.arange(0.0, 4 * tau_s + 0.5, 0.5)
    y = first_order_lag(t, np.ones_like(t), tau_s, initial=0.0)
    assert_allclose(y, 1.0 - np.exp(-(t + 0.5) / tau_s), rtol=1e-12)  # sample k holds over (t_k-1, t_k]
    k = int(round(tau_s / 0.5)) - 1
    assert_allclose(y[k], 1.0 - np.exp(-1.0), rtol=1e-12)


def test_steps_with_changing_time_constant_agree_with_the_filter():
    rng = np.random.default_rng(2)
    t = np.arange(0.0, 200.0, 1.0)
    u = np.cumsum(rng.normal(size=t.size))
    filtered = first_order_lag(t, u, 30.0)
    y = u[0]
    stepped = [y]
    for k in range(1, t.size):
        y = first_order_step(y, u[k], t[k] - t[k - 1], 30.0)
        stepped.append(y)
    assert_allclose(stepped, filtered, rtol=1e-10, atol=1e-10)


def test_zero_time_constant_follows_the_input():
    assert first_order_step(3.0, 7.0, 1.0, 0.0) == 7.0
    assert first_order_step(3.0, 7.0, 1.0, 1e9) == pytest.approx(3.0, abs=1e-8)


def test_first_order_response_tracks_a_ramp_with_lag_tau():
    """For a ramp u = r t the first-order output settles to u - r tau."""
    t = np.arange(0.0, 2000.0, 2.5)
    y = first_order_response(t, 3.0 * t, 60.0)
    assert_allclose(y[-1], 3.0 * t[-1] - 3.0 * 60.0, rtol=1e-9)


def test_first_order_response_is_exact_for_a_piecewise_linear_input_on_any_grid():
    """Rest, then a ramp from t = 10 s, sampled on an uneven grid that has a sample at the
    ramp's start: the output equals Ogata's ramp response at every sample."""
    rng = np.random.default_rng(4)
    t = np.unique(np.concatenate([[0.0, 10.0], rng.uniform(0.0, 400.0, 300)]))
    ramp_s = np.clip(t - 10.0, 0.0, None)
    y = first_order_response(t, 2.0 * ramp_s, 45.0)
    assert_allclose(y, 2.0 * (ramp_s - 45.0 + 45.0 * np.exp(-ramp_s / 45.0)), rtol=1e-9, atol=1e-9)


def test_first_order_response_refuses_a_non_positive_time_constant():
    with pytest.raises(InvalidParameterError, match="tau_s"):
        first_order_response([0.0, 1.0], [0.0, 1.0], 0.0)
