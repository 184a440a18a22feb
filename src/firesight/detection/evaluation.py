"""Scenario-level evaluation, exactly as ``design/EVALUATION.md`` defines it.

A detector is judged per event: did it alarm after ignition, how many seconds after,
and how many alarm episodes started in non-fire time, per 1,000 device-hours.

References
----------
1. firesight ``design/EVALUATION.md`` (the metric definitions used here, verbatim).
2. EN 54-7:2018 and UL 268 (7th ed.): detectors are type-tested per test fire, on
   time to response, not per sample.
3. Fawcett, T. (2006). An introduction to ROC analysis. Pattern Recognition Letters
   27(8), 861-874 (``roc_auc``, per window, secondary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firesight.errors import require

#: Seconds per 1,000 hours (the normalisation of ``false_alarms_per_1000h``).
SECONDS_PER_1000H: float = 1000.0 * 3600.0


@dataclass(frozen=True)
class ScenarioTimeline:
    """One scenario's decisions on its window grid.

    Parameters
    ----------
    scenario_id, family : str
        Identity of the scenario.
    ignition_time_s : float or None
        ``t_ign`` [s]: first time the truth leaves "none"; None for non-fire scenarios.
    duration_s : float
        Recorded duration [s]; the scenario spans ``[start_s, start_s + duration_s]``.
    time_s : numpy.ndarray
        Window times [s], increasing.
    alarm : numpy.ndarray of bool
        True where the decision (after hysteresis) is at the alarm level.
    score : numpy.ndarray, optional
        Decision score per window [0-1] (for ``roc_auc``).
    burning : numpy.ndarray of bool, optional
        Truth per window (burning or not), for ``roc_auc``.
    start_s : float
        Start of the recording [s] (default 0).
    precursor : numpy.ndarray of bool, optional
        Truth per window: a fire's fuel or apparatus is being heated towards ignition
        (``state`` still 0), from the dataset's ``precursor`` column; None when absent.
    """

    scenario_id: str
    family: str
    ignition_time_s: float | None
    duration_s: float
    time_s: np.ndarray
    alarm: np.ndarray
    score: np.ndarray | None = None
    burning: np.ndarray | None = None
    start_s: float = 0.0
    precursor: np.ndarray | None = None

    @property
    def is_fire(self) -> bool:
        return self.ignition_time_s is not None and np.isfinite(self.ignition_time_s)


def alarm_episodes(time_s: np.ndarray, alarm: np.ndarray) -> list[tuple[float, float]]:
    """Maximal runs of windows at the alarm level, as ``(start_s, end_s)`` [s].

    The start is the time of the rising edge (first window of the run); the end is the
    time of the last window of the run.
    """
    t = np.asarray(time_s, dtype=float)
    a = np.asarray(alarm, dtype=bool)
    require(t.shape == a.shape, "alarm", f"the same length as time_s ({t.shape})", a.shape)
    if a.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], a.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [(float(t[s]), float(t[e])) for s, e in zip(starts, ends)]


def scenario_outcome(tl: ScenarioTimeline) -> dict:
    """Per-scenario result: detection, time to alarm, false alarm episodes, non-fire time.

    Returns
    -------
    dict with ``scenario_id``, ``family``, ``is_fire``, ``detected`` (bool),
    ``time_to_alarm_s`` (float or None), ``false_alarm_episodes`` (int),
    ``non_fire_time_s`` [s], ``first_alarm_s`` (float or None), ``precursor_alarm``
    (bool: a false alarm episode of a fire scenario started in a window of its precursor
    phase; it is counted as a false alarm all the same).
    """
    episodes = alarm_episodes(tl.time_s, tl.alarm)
    end_s = tl.start_s + float(tl.duration_s)
    if tl.is_fire:
        t_ign = float(tl.ignition_time_s)
        false_eps = [s for s, _ in episodes if s < t_ign]
        after = [s for s, _ in episodes if t_ign <= s < end_s]
        detected = bool(after)
        tta = (after[0] - t_ign) if detected else None
        non_fire_s = max(0.0, min(t_ign, end_s) - tl.start_s)
    else:
        false_eps = [s for s, _ in episodes]
        detected, tta, non_fire_s = False, None, float(tl.duration_s)
    precursor_alarm = False
    if tl.is_fire and tl.precursor is not None and false_eps:
        pre = np.asarray(tl.precursor, dtype=bool)
        idx = np.searchsorted(np.asarray(tl.time_s, dtype=float), false_eps)
        precursor_alarm = bool(pre[np.clip(idx, 0, pre.size - 1)].any())
    return {"scenario_id": tl.scenario_id, "family": tl.family, "is_fire": tl.is_fire,
            "detected": detected, "time_to_alarm_s": tta,
            "false_alarm_episodes": len(false_eps), "non_fire_time_s": non_fire_s,
            "first_alarm_s": episodes[0][0] if episodes else None, "precursor_alarm": precursor_alarm}


def _stats_s(values: list[float]) -> dict:
    """``median``, ``p90`` (linear interpolation), ``max`` and ``n`` of a list [s]."""
    if not values:
        return {"n": 0, "median": None, "p90": None, "max": None}
    v = np.asarray(values, dtype=float)
    return {"n": int(v.size), "median": float(np.median(v)), "p90": float(np.percentile(v, 90)),
            "max": float(v.max())}


def roc_auc_windows(timelines: list[ScenarioTimeline]) -> float | None:
    """Area under the ROC curve of the per-window score against the burning truth.

    None when scores or truth are absent or only one class is present.
    """
    scores, truth = [], []
    for tl in timelines:
        if tl.score is None or tl.burning is None:
            return None
        scores.append(np.asarray(tl.score, dtype=float))
        truth.append(np.asarray(tl.burning, dtype=bool))
    if not scores:
        return None
    s, y = np.concatenate(scores), np.concatenate(truth)
    keep = np.isfinite(s)
    s, y = s[keep], y[keep]
    if y.all() or not y.any():
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def summarize_outcomes(outcomes: list[dict], *, roc_auc: float | None = None,
                       classes: dict[str, str] | None = None) -> dict:
    """Aggregate per-scenario outcomes into the EVALUATION.md metrics.

    Returns
    -------
    dict with ``n_scenarios``, ``n_fire``, ``detection_rate``, ``false_alarms_per_1000h``,
    ``false_alarm_scenarios`` (count), ``false_alarm_ids``, ``false_alarms_by_family``,
    ``non_fire_hours``, ``time_to_alarm_s`` (``median``, ``p90``, ``max``, ``n``,
    ``by_family``, and ``by_class`` when ``classes`` maps fire scenario ids to a class such
    as ``flaming_in_view``), ``roc_auc``, ``missed`` (list of ``{id, family}``),
    ``precursor_alarm_scenarios`` and ``precursor_alarm_ids``: fire scenarios whose false
    alarm started while the fuel was being heated towards ignition (reported apart; they
    stay in the false-alarm counts above; 0 when the truth has no precursor labels).
    """
    fires = [o for o in outcomes if o["is_fire"]]
    detected = [o for o in fires if o["detected"]]
    non_fire_s = float(sum(o["non_fire_time_s"] for o in outcomes))
    fa_episodes = int(sum(o["false_alarm_episodes"] for o in outcomes))
    fa_scen = [o for o in outcomes if o["false_alarm_episodes"] > 0]
    precursor_scen = [o for o in outcomes if o.get("precursor_alarm")]
    by_family: dict[str, list[float]] = {}
    for o in fires:
        by_family.setdefault(o["family"], [])
        if o["detected"]:
            by_family[o["family"]].append(float(o["time_to_alarm_s"]))
    fam_stats = {}
    for fam in sorted(by_family):
        st = _stats_s(by_family[fam])
        n_fire = sum(1 for o in fires if o["family"] == fam)
        st["n_fire"] = n_fire
        st["detection_rate"] = st["n"] / n_fire if n_fire else None
        fam_stats[fam] = st
    fa_by_family: dict[str, dict] = {}
    for o in outcomes:
        entry = fa_by_family.setdefault(o["family"], {"n_scenarios": 0, "false_alarm_episodes": 0,
                                                      "false_alarm_scenarios": 0,
                                                      "non_fire_hours": 0.0})
        entry["n_scenarios"] += 1
        entry["false_alarm_episodes"] += int(o["false_alarm_episodes"])
        entry["false_alarm_scenarios"] += int(o["false_alarm_episodes"] > 0)
        entry["non_fire_hours"] += o["non_fire_time_s"] / 3600.0
    tta = _stats_s([float(o["time_to_alarm_s"]) for o in detected])
    tta["by_family"] = fam_stats
    if classes is not None:
        by_class: dict[str, dict] = {}
        for cls in sorted({classes.get(o["scenario_id"], "unknown") for o in fires}):
            members = [o for o in fires if classes.get(o["scenario_id"], "unknown") == cls]
            st = _stats_s([float(o["time_to_alarm_s"]) for o in members if o["detected"]])
            st["n_fire"] = len(members)
            st["detection_rate"] = st["n"] / len(members)
            by_class[cls] = st
        tta["by_class"] = by_class
    return {
        "n_scenarios": len(outcomes),
        "n_fire": len(fires),
        "detection_rate": (len(detected) / len(fires)) if fires else None,
        "false_alarms_per_1000h": (fa_episodes * SECONDS_PER_1000H / non_fire_s
                                   if non_fire_s > 0 else None),
        "false_alarm_episodes": fa_episodes,
        "false_alarm_scenarios": len(fa_scen),
        "false_alarm_ids": sorted(o["scenario_id"] for o in fa_scen),
        "false_alarms_by_family": {k: fa_by_family[k] for k in sorted(fa_by_family)},
        "non_fire_hours": non_fire_s / 3600.0,
        "time_to_alarm_s": tta,
        "roc_auc": roc_auc,
        "missed": [{"id": o["scenario_id"], "family": o["family"]}
                   for o in fires if not o["detected"]],
        "precursor_alarm_scenarios": len(precursor_scen),
        "precursor_alarm_ids": sorted(o["scenario_id"] for o in precursor_scen),
    }


def evaluate_timelines(timelines: list[ScenarioTimeline], *,
                       classes: dict[str, str] | None = None) -> dict:
    """All EVALUATION.md metrics for one detector over a list of scenario timelines
    (``classes``: optional fire class per scenario id, for ``time_to_alarm_s.by_class``)."""
    require(len(timelines) > 0, "timelines", "at least one scenario", 0)
    outcomes = [scenario_outcome(tl) for tl in timelines]
    return summarize_outcomes(outcomes, roc_auc=roc_auc_windows(timelines), classes=classes)
