"""Calibration of per-window fire probabilities: reliability bins, Brier score, ECE.

A probability is calibrated when, among the windows given p, a fraction p are burning.
The reliability diagram bins windows by predicted probability (equal-width bins) and sets
each bin's mean prediction against its observed burning fraction; the expected calibration
error (ECE) is the window-weighted mean gap between the two.

References
----------
1. Brier, G. W. (1950). Verification of forecasts expressed in terms of probability.
   Monthly Weather Review 78(1), 1-3.
2. Naeini, M. P., Cooper, G., Hauskrecht, M. (2015). Obtaining well calibrated
   probabilities using Bayesian binning. AAAI 2015 (ECE).
"""

from __future__ import annotations

import numpy as np

from firesight.errors import InvalidParameterError

#: Largest expected calibration error for the probabilities to count as calibrated
#: (firesight's criterion, stated before any result: within 5 percentage points on average).
ECE_TARGET = 0.05


def reliability(burning, probability, *, n_bins: int = 10) -> dict:
    """Reliability bins, Brier score and ECE of ``probability`` against ``burning`` (0/1).

    Windows with a missing probability (no input) are left out. Returns ``{"bins": [{"lo",
    "hi", "n", "mean_probability", "burning_fraction"}, ...], "brier", "ece", "n"}``
    (``brier``/``ece`` None when no window is scored).
    """
    if n_bins < 1:
        raise InvalidParameterError("n_bins", "at least 1", n_bins)
    y = np.asarray(burning, dtype=float)
    p = np.asarray(probability, dtype=float)
    if y.shape != p.shape:
        raise InvalidParameterError("probability", f"one value per window ({y.shape})", p.shape)
    keep = np.isfinite(p) & np.isfinite(y)
    y, p = y[keep], np.clip(p[keep], 0.0, 1.0)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    bins, gap = [], 0.0
    for b in range(n_bins):
        sel = index == b
        n = int(sel.sum())
        mean_p = float(p[sel].mean()) if n else None
        frac = float(y[sel].mean()) if n else None
        if n:
            gap += n * abs(mean_p - frac)
        bins.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": n,
                     "mean_probability": mean_p, "burning_fraction": frac})
    total = int(y.size)
    return {"bins": bins, "n": total,
            "brier": float(np.mean((p - y) ** 2)) if total else None,
            "ece": float(gap / total) if total else None}
