"""Unit conversions shared by every layer: Celsius and kelvin, and the Lepton's TLinear
counts (kelvin in steps of the gain's resolution). Imports only numpy, so the services
(codec, web feed, agents) use it without loading the physics or its compiled kernels.

References
----------
1. BIPM, *The International System of Units (SI)*, 9th ed. (2019), Section 2.3.1:
   ``t / degC = T / K - 273.15``.
2. FLIR Lepton Software Interface Description Document (IDD), document 110-0144-04
   rev. 303, "Radiometry": TLinear output in kelvin x 100 (high gain, 0.01 K) or
   kelvin x 10 (low gain, 0.1 K).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ZERO_CELSIUS_K", "tlinear_to_celsius"]

#: 0 degC in kelvin [K] [1].
ZERO_CELSIUS_K = 273.15


def tlinear_to_celsius(counts, resolution_k, *, dtype=np.float64) -> np.ndarray:
    """TLinear counts to temperature [C]: ``counts * resolution_k - 273.15`` [2].

    Parameters
    ----------
    counts : array (n, ...) or (...) of uint16
        TLinear counts.
    resolution_k : float or array (n,)
        Kelvin per count [K] (0.01 high gain, 0.1 low gain); an array gives one value per
        frame along the first axis.
    dtype : numpy dtype
        Arithmetic and result type (float64; float32 where the caller stores float32).

    Returns
    -------
    numpy.ndarray
        Temperature [C], shape of ``counts``.
    """
    c = np.asarray(counts, dtype=dtype)
    res = np.asarray(resolution_k, dtype=dtype)
    if res.ndim == 1:
        res = res.reshape((-1,) + (1,) * (c.ndim - 1))
    return c * res - np.dtype(dtype).type(ZERO_CELSIUS_K)
