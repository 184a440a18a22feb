"""First-order lag ``tau dy/dt = u - y``: how a lumped thermal mass, a gas transport
delay or a sensor follows its input.

Three discretisations. Two are exact for an input held constant over each step
(zero-order hold): :func:`first_order_step`, one step with its own ``dt`` and ``tau``
(compiled, for loops whose time constant changes, as the ceiling jet's transport lag in
the room kernel), and :func:`first_order_lag`, a whole signal on a uniform grid with one
``tau`` (a recursive filter, for scene and source profiles). The third,
:func:`first_order_response` (compiled core :func:`linear_input_lag`), is exact for an
input that is linear between samples on any increasing grid (first-order hold): the
SCD41 model's response to the true fields.

numba caches a compiled caller against its own file: after editing
:func:`first_order_step`, clear ``src/firesight/physics/__pycache__/_room_kernel*.nb*``
(or touch ``_room_kernel.py``) so the room kernel picks the change up.

References
----------
1. K. Ogata, *Modern Control Engineering*, 5th ed. (2010), Section 5-2: first-order
   systems; step response ``1 - exp(-t/T)``; ramp response ``r (t - T + T exp(-t/T))``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.signal import lfilter

from firesight.errors import require

__all__ = ["first_order_lag", "first_order_response", "first_order_step", "linear_input_lag"]


@njit(cache=True, inline="always")
def first_order_step(y, u, dt_s, tau_s):
    """One step of ``tau dy/dt = u - y`` with ``u`` held over the step [1].

    Parameters
    ----------
    y : float
        Output at the start of the step [any unit].
    u : float
        Input over the step [same unit].
    dt_s : float
        Step length [s].
    tau_s : float
        Time constant [s]; <= 0 follows the input at once.

    Returns
    -------
    float
        ``y + (1 - exp(-dt/tau)) (u - y)``.
    """
    a = 1.0 - np.exp(-dt_s / tau_s) if tau_s > 0 else 1.0
    return y + a * (u - y)


def first_order_lag(time_s: np.ndarray, target: np.ndarray, tau_s: float, *,
                    initial: float | None = None) -> np.ndarray:
    """First-order lag of ``target`` with time constant ``tau_s`` [s], exact for an input
    held constant between samples on the uniform grid ``time_s`` [s] [1].

    Parameters
    ----------
    time_s : array (n,)
        Uniform time grid [s] (the step is ``time_s[1] - time_s[0]``).
    target : array (n,)
        Input [any unit].
    tau_s : float
        Time constant [s] (floored at 1 ns).
    initial : float, optional
        Output before the first sample [same unit]; default ``target[0]``.

    Returns
    -------
    numpy.ndarray
        The lagged signal, shape (n,).
    """
    t = np.asarray(time_s, dtype=float)
    x = np.asarray(target, dtype=float)
    if t.size < 2:
        return x.copy()
    dt = float(t[1] - t[0])
    a = float(np.exp(-dt / max(float(tau_s), 1e-9)))
    y0 = float(x[0] if initial is None else initial)
    y, _ = lfilter([1.0 - a], [1.0, -a], x, zi=[a * y0])
    return y


@njit(cache=True)
def linear_input_lag(time_s, signal, tau_s):
    """``tau dy/dt = u - y`` over a whole signal, exact for an input linear between the
    samples of the increasing grid ``time_s`` [s] [1]; starts in equilibrium,
    ``y(t0) = u(t0)``. Compiled, unchecked: see :func:`first_order_response`.

    Notes
    -----
    Over a step of length ``dt`` with ``a = exp(-dt/tau)`` and the input going linearly
    from ``u0`` to ``u1``::

        y1 = u1 + (y0 - u0) a - (u1 - u0) (tau / dt) (1 - a)
    """
    n = signal.size
    out = np.empty(n)
    out[0] = signal[0]
    for i in range(1, n):
        dt = time_s[i] - time_s[i - 1]
        a = np.exp(-dt / tau_s)
        slope_term = (signal[i] - signal[i - 1]) * tau_s / dt * (1.0 - a)
        out[i] = signal[i] + (out[i - 1] - signal[i - 1]) * a - slope_term
    return out


def first_order_response(time_s, signal, tau_s):
    """First-order response ``tau dy/dt = u - y`` [1], exact for an input that is linear
    between samples; ``y(t0) = u(t0)``.

    Parameters
    ----------
    time_s : array (n,)
        Strictly increasing time grid [s].
    signal : array (n,)
        True input [any unit].
    tau_s : float
        Time constant tau63 [s], > 0.

    Returns
    -------
    numpy.ndarray
        The response, shape (n,) [same unit].
    """
    t = np.asarray(time_s, dtype=np.float64)
    u = np.asarray(signal, dtype=np.float64)
    require(tau_s > 0, "tau_s", "> 0 [s]", tau_s)
    return linear_input_lag(t, u, float(tau_s))
