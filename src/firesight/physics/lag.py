"""First-order lag ``tau dy/dt = u - y``: how a lumped thermal mass, a gas transport
delay or a sensor follows its input.

Two discretisations, both exact for an input held constant over each step (zero-order
hold): :func:`first_order_step`, one step with its own ``dt`` and ``tau`` (compiled, for
loops whose time constant changes, as the ceiling jet's transport lag in the room
kernel), and :func:`first_order_lag`, a whole signal on a uniform grid with one ``tau``
(a recursive filter, for scene and source profiles). The SCD41 model's response
(:func:`firesight.sensors.scd41.first_order_response`) is exact for an input that is
linear between samples instead.

numba caches a compiled caller against its own file: after editing
:func:`first_order_step`, clear ``src/firesight/physics/__pycache__/_room_kernel*.nb*``
(or touch ``_room_kernel.py``) so the room kernel picks the change up.

References
----------
1. K. Ogata, *Modern Control Engineering*, 5th ed. (2010), Section 5-2: first-order
   systems; step response ``1 - exp(-t/T)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.signal import lfilter

__all__ = ["first_order_lag", "first_order_step"]


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
