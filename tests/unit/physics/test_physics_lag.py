"""First-order lag (K. Ogata, Modern Control Engineering, 5th ed., Section 5-2: the unit
step response of 1/(Ts + 1) is 1 - exp(-t/T), 63.2 % at t = T)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from firesight.physics.lag import first_order_lag, first_order_step


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
