"""How early *any* SCD41-only detector could alarm on a fire without alarming on given nuisances.

A detector that is monotone in a set of evidence features (more CO2 above baseline, a
faster CO2 rise, more heat, a faster temperature rise: never *less* likely a fire) and
raises no alarm on any window of a set of nuisance scenarios cannot alarm on a fire window
that some nuisance window matches or exceeds in every one of those features (the nuisance
window *dominates* it). So the earliest fire window that no nuisance window dominates is a
lower bound on the time to alarm of every such detector with zero false alarms on those
nuisances; a fire none of whose windows escapes domination within the horizon cannot be
alarmed by any of them.

Persistence (``persistence`` k > 1): a detector that alarms only after k consecutive
windows at or above its threshold. A nuisance run of k windows whose componentwise minimum
(its *floor*) matches or exceeds some window of a fire run would then alarm whenever that
fire run does (every window of the nuisance run scores at least that fire window's score),
so nuisance windows are replaced by the floors of their k-runs and a fire is reachable at
the end of its first k consecutive windows none of which a floor dominates. The blocking
condition is sufficient, not necessary, so the count of reachable fires stays an upper bound.

The learned SCD41-only variant is not strictly monotone (it also sees baselines, noise and
humidity), so the bound is a yardstick, not a proof about it; for the hand-written rules of
:mod:`firesight.detection.baselines` it is a proof. Used on the real fire traces (NIST FAA
and DelCo through the SCD41 model, as ``firesight realcheck`` makes them) against synthetic
nuisances of a development seed, and on the synthetic fires of the same seed for contrast:
it measures whether the targets "SCD41 only: zero false-alarm scenarios" and "real fires
alarm" can hold together in our synthetic world, without fitting anything to the real data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from firesight.errors import DataError

#: evidence features, each larger for stronger evidence of a fire (from :data:`GAS_FEATURES`)
EVIDENCE = ("scd41_co2_above_baseline_ppm", "scd41_co2_rate_ppm_per_min_60s",
            "scd41_temperature_rise_c", "scd41_temperature_rate_c_per_min_60s")
#: every CO2 and temperature evidence feature: both lag-corrected rises and all four rate horizons
EXTENDED = ("scd41_co2_above_baseline_ppm", "scd41_co2_lag_corrected_above_baseline_ppm",
            "scd41_co2_rate_ppm_per_min_30s", "scd41_co2_rate_ppm_per_min_60s",
            "scd41_co2_rate_ppm_per_min_120s", "scd41_co2_rate_ppm_per_min_300s",
            "scd41_temperature_rise_c", "scd41_temperature_lag_corrected_rise_c",
            "scd41_temperature_rate_c_per_min_30s", "scd41_temperature_rate_c_per_min_60s",
            "scd41_temperature_rate_c_per_min_120s", "scd41_temperature_rate_c_per_min_300s")
#: the camera's evidence features, each larger for a hotter, bigger, faster-growing, flickering source
THERMAL = ("thermal_max_c", "thermal_p99_c", "thermal_top_mean_c", "thermal_hot_frac_40c", "thermal_hot_frac_60c",
           "thermal_hot_frac_100c", "thermal_hot_frac_200c", "thermal_hot_frac_bg10k", "thermal_blob_area_px",
           "thermal_max_delta_c", "thermal_top_rise_c_per_s", "thermal_flicker_power_c2")
#: the full node: the camera's and the SCD41's evidence (no real fire recording has a camera)
NODE = THERMAL + EXTENDED
EVIDENCE_SETS = {"basic": EVIDENCE, "extended": EXTENDED, "node": NODE}
#: seconds after ignition within which a fire window may escape domination
HORIZON_S = 300.0


def pareto_front(points: np.ndarray) -> np.ndarray:
    """The maximal rows of ``points`` (n, d): those no other row matches or exceeds in every
    column while exceeding it in one. A row dominated by the front is dominated by the set."""
    pts = np.unique(np.asarray(points, dtype=np.float64), axis=0)
    if pts.size == 0:
        return pts.reshape(0, np.asarray(points).shape[1])
    pts = pts[np.argsort(-pts.sum(axis=1), kind="stable")]  # a dominator sums higher: seen first
    front: list[np.ndarray] = []
    for p in pts:
        if not front or not np.any(np.all(np.asarray(front) >= p, axis=1)):
            front.append(p)
    return np.asarray(front)


def dominated(windows: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Per row of ``windows`` (n, d): whether a row of ``front`` matches or exceeds it in every column."""
    w = np.asarray(windows, dtype=np.float64)
    if front.size == 0:
        return np.zeros(len(w), dtype=bool)
    return np.array([bool(np.any(np.all(front >= row, axis=1))) for row in w], dtype=bool)


def earliest_escape_s(time_s: np.ndarray, windows: np.ndarray, front: np.ndarray, *,
                      horizon_s: float = HORIZON_S, persistence: int = 1) -> float | None:
    """The end time in [0, ``horizon_s``] (time after ignition) of the first run of
    ``persistence`` consecutive windows, all at or after ignition, none of which the front
    dominates (a window that is not finite breaks a run); None if there is none."""
    t = np.asarray(time_s, dtype=np.float64)
    w = np.asarray(windows, dtype=np.float64)
    keep = (t >= 0.0) & (t <= horizon_s)
    t, w = t[keep], w[keep]
    if not t.size:
        return None
    finite = np.all(np.isfinite(w), axis=1)
    free = np.zeros(t.size, dtype=bool)
    free[finite] = ~dominated(w[finite], front)
    run = 0
    for i, ok in enumerate(free):
        run = run + 1 if ok else 0
        if run >= persistence:
            return float(t[i])
    return None


def run_floors(values: np.ndarray, persistence: int) -> np.ndarray:
    """Componentwise minimum of every run of ``persistence`` consecutive rows (the rows of
    one scenario in time order; a non-finite row breaks runs)."""
    v = np.asarray(values, dtype=np.float64)
    if persistence <= 1:
        return v[np.all(np.isfinite(v), axis=1)]
    floors = []
    finite = np.all(np.isfinite(v), axis=1)
    for end in range(persistence - 1, len(v)):
        start = end - persistence + 1
        if finite[start:end + 1].all():
            floors.append(v[start:end + 1].min(axis=0))
    return np.asarray(floors).reshape(-1, v.shape[1])


def nuisance_front(features: pd.DataFrame, families: Iterable[str] | None = None,
                   evidence: Sequence[str] = EVIDENCE, persistence: int = 1) -> tuple[np.ndarray, dict]:
    """The Pareto front of every finite window (``persistence`` > 1: every run floor, see
    :func:`run_floors`) of the non-fire scenarios of a features table (``firesight features``
    output), optionally of ``families`` only; with a summary."""
    missing = [c for c in (*evidence, "is_fire", "family", "scenario_id") if c not in features.columns]
    if missing:
        raise DataError(f"features table lacks {missing}")
    rows = features[~features["is_fire"].astype(bool)]
    if families is not None:
        wanted = list(families)
        unknown = sorted(set(wanted) - set(rows["family"].unique()))
        if unknown or not wanted:
            raise DataError(f"no non-fire scenarios of {unknown or 'an empty family list'} in the features table")
        rows = rows[rows["family"].isin(wanted)]
    if persistence < 1:
        raise DataError(f"persistence must be >= 1 window, got {persistence}")
    parts = [run_floors(g.sort_values("time_s")[list(evidence)].to_numpy(np.float64), persistence)
             for _, g in rows.groupby("scenario_id", sort=True)]
    values = np.vstack(parts) if parts else np.empty((0, len(evidence)))
    front = pareto_front(values)
    return front, {"n_scenarios": int(rows["scenario_id"].nunique()), "n_windows": int(len(values)),
                   "front_size": int(len(front)), "families": sorted(rows["family"].unique().tolist())}


def synthetic_fire_escapes(features: pd.DataFrame, front: np.ndarray, evidence: Sequence[str] = EVIDENCE,
                           horizon_s: float = HORIZON_S, persistence: int = 1) -> list[dict]:
    """Per fire scenario of a features table: its family and earliest escape [s after ignition]."""
    out = []
    for sid, rows in features[features["is_fire"].astype(bool)].groupby("scenario_id", sort=True):
        rows = rows.sort_values("time_s")
        t = rows["time_s"].to_numpy(float) - float(rows["ignition_time_s"].iloc[0])
        out.append({"name": str(sid), "family": str(rows["family"].iloc[0]),
                    "escape_s": earliest_escape_s(t, rows[list(evidence)].to_numpy(float), front,
                                                  horizon_s=horizon_s, persistence=persistence)})
    return out


def real_fire_windows(real_data_dir: Path | str, *, seed: int = 0, step_s: float = 1.0,
                      evidence: Sequence[str] = EVIDENCE) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, window times [s from ignition], evidence rows) of every real fire trace (FAA,
    DelCo through the SCD41 model, as ``firesight realcheck`` makes them)."""
    from firesight.features.gas import GAS_FEATURES
    from firesight.validation.realcheck import gas_windows, real_fires

    index = [GAS_FEATURES.index(name) for name in evidence]
    out = []
    for name, readings in real_fires(real_data_dir, seed):
        times, features = gas_windows(readings, step_s)
        out.append((name, times, features[:, index]))
    return out


def real_fire_escapes(windows: Sequence[tuple[str, np.ndarray, np.ndarray]], front: np.ndarray, *,
                      horizon_s: float = HORIZON_S, persistence: int = 1) -> list[dict]:
    """Per real fire trace of :func:`real_fire_windows`: its earliest escape [s]."""
    return [{"name": name, "escape_s": earliest_escape_s(times, feats, front, horizon_s=horizon_s,
                                                         persistence=persistence)}
            for name, times, feats in windows]


def union_of_rules(per_rule: Sequence[list[dict]]) -> list[dict]:
    """Escapes of a detector that is the OR of several rules (one list per rule, each rule
    with zero false alarms on its own): each fire's earliest escape over the rules."""
    out: dict[str, dict] = {}
    for escapes in per_rule:
        for e in escapes:
            best = out.setdefault(e["name"], {**e, "escape_s": None})
            if e["escape_s"] is not None and (best["escape_s"] is None or e["escape_s"] < best["escape_s"]):
                best["escape_s"] = e["escape_s"]
    return [out[name] for name in sorted(out)]


def summarize(escapes: list[dict], cut_s: Sequence[float] = (60.0, 120.0, 300.0)) -> dict:
    """How many escape by each of ``cut_s`` and the median escape among those that do."""
    times = sorted(e["escape_s"] for e in escapes if e["escape_s"] is not None)
    return {"n": len(escapes), **{f"by_{c:g}s": sum(t <= c for t in times) for c in cut_s},
            "median_escape_s": float(np.median(times)) if times else None}


def by_family(escapes: list[dict]) -> Mapping[str, dict]:
    """:func:`summarize` per family."""
    fams: dict[str, list[dict]] = {}
    for e in escapes:
        fams.setdefault(e.get("family", "real"), []).append(e)
    return {fam: summarize(items) for fam, items in sorted(fams.items())}
