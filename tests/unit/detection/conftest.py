"""Small synthetic window tables for the detector unit tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def synthetic_table(n_scenarios: int = 24, n_windows: int = 120, seed: int = 0) -> pd.DataFrame:
    """Half the scenarios ignite at t = 60 s: feature ``heat`` then ramps up, ``gas`` too
    (noisier); ``noise`` carries nothing. Windows every 1 s."""
    rng = np.random.default_rng(seed)
    parts = []
    for s in range(n_scenarios):
        t = np.arange(1, n_windows + 1, dtype=float)
        fire = s % 2 == 0
        ign = 60.0 if fire else np.nan
        burning = (t >= ign) if fire else np.zeros(n_windows, bool)
        ramp = np.clip(t - 60.0, 0, None) / 10.0 if fire else np.zeros(n_windows)
        parts.append(pd.DataFrame({
            "scenario_id": f"s{s:03d}", "family": "fire_a" if fire else "nuisance_b",
            "ignition_time_s": ign, "time_s": t,
            "heat": rng.normal(0, 0.3, n_windows) + ramp,
            "gas": rng.normal(0, 1.0, n_windows) + 0.5 * ramp,
            "noise": rng.normal(0, 1.0, n_windows),
            "burning": burning.astype(np.int8)}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    return synthetic_table()
