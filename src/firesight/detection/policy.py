"""Choose each variant's alert policy on a synthetic validation split, by a stated rule.

The rule (fixed before looking at any result, and never applied to a test set):

1. keep the policies with the fewest false-alarm scenarios on the validation scenarios
   together with the extra synthetic nuisance scenarios when given (``--nuisances``; zero
   when any policy reaches zero): a fire-safety user switches off a system that cries
   wolf, so false alarms come first, counted on all the synthetic nuisance evidence there
   is (a validation split holds only a handful of scenarios per nuisance family);
2. among those, the highest detection rate;
3. then the shortest median time to alarm, then the more conservative policy (higher
   ``alarm_on``, then longer persistence).

``firesight policy`` runs it on the held-out split of a model trained with
``--test-fraction`` (its ``test_ids``: scenarios of the *training* data set that this model
did not see) and writes a parameters file for ``firesight train --params``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from firesight.detection.alerts import AlertPolicy
from firesight.detection.bundle import DetectorBundle
from firesight.detection.guard import CO2_RATE_COLUMN, CONFIRM_GRID, TEMPERATURE_RATE_COLUMN, apply_guard, \
    make_guard
from firesight.detection.scoring import evaluate_probabilities, prepare_table

#: Policies tried: probability at or above which a window counts towards the alarm, and
#: how many consecutive such windows (1 s each) raise it. ``watch_on`` is half of
#: ``alarm_on``; the alarm clears after 30 windows below 0.3 (or ``alarm_on`` if lower).
POLICY_GRID = {"alarm_on": (0.5, 0.6, 0.7, 0.8, 0.9, 0.95), "min_consecutive": (3, 5, 10, 20)}


def policy_candidates(grid: dict | None = None) -> list[AlertPolicy]:
    """Every policy of ``grid`` (default :data:`POLICY_GRID`)."""
    g = grid or POLICY_GRID
    return [AlertPolicy(watch_on=0.5 * a, alarm_on=a, alarm_off=min(0.3, a), min_consecutive=int(m),
                        clear_consecutive=30)
            for a, m in itertools.product(g["alarm_on"], g["min_consecutive"])]


def sweep_policies(table: pd.DataFrame, probability: np.ndarray,
                   candidates: list[AlertPolicy], extra=()) -> list[dict]:
    """Validation metrics of each candidate policy on one detector's probabilities, and
    the false-alarm scenarios on every ``extra`` (table, probability) pair of nuisances."""
    rows = []
    for pol in candidates:
        m = evaluate_probabilities(table, probability, pol)
        rows.append({"policy": pol.to_dict(), "detection_rate": m["detection_rate"],
                     "false_alarm_scenarios": int(m["false_alarm_scenarios"]),
                     "extra_false_alarm_scenarios": [
                         int(evaluate_probabilities(t, p, pol)["false_alarm_scenarios"]) for t, p in extra],
                     "median_tta_s": m["time_to_alarm_s"]["median"]})
    return rows


def choose(rows: list[dict]) -> dict:
    """The row the module's rule picks."""
    def key(row):
        tta = row["median_tta_s"] if row["median_tta_s"] is not None else float("inf")
        pol = row["policy"]
        false_alarms = row["false_alarm_scenarios"] + sum(row.get("extra_false_alarm_scenarios") or ())
        return (false_alarms, -(row["detection_rate"] or 0.0), tta, -pol["alarm_on"], -pol["min_consecutive"])

    return min(rows, key=key)


def choose_policies(bundle: DetectorBundle, table: pd.DataFrame,
                    candidates: list[AlertPolicy] | None = None, extra_tables=()) -> dict:
    """For every variant of ``bundle``: the chosen policy and the whole sweep on ``table``
    (validation scenarios the bundle was not trained on), false alarms also counted on
    ``extra_tables`` (more synthetic nuisance scenarios, never a test set)."""
    table = prepare_table(table)
    extra_tables = [prepare_table(t) for t in extra_tables]
    candidates = candidates or policy_candidates()
    out = {}
    for variant, det in bundle.variants.items():
        extra = [(t, det.fire_probability(t)) for t in extra_tables]
        rows = sweep_policies(table, det.fire_probability(table), candidates, extra=extra)
        out[variant] = {"chosen": choose(rows), "sweep": rows}
    return out


#: Slow paths tried (:class:`AlertPolicy` ``sustain_on`` x ``sustain_consecutive``, 1 s windows).
SLOW_PATH_GRID = {"sustain_on": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8), "sustain_consecutive": (60, 120, 180, 300, 600)}


def choose_slow_path(table: pd.DataFrame, probability: np.ndarray, policy: AlertPolicy,
                     grid: dict | None = None) -> dict:
    """A slow path for ``policy`` (one variant's probabilities on development scenarios, never
    a test set), by a rule stated before any result:

    1. keep the slow paths with no more false-alarm scenarios than ``policy`` alone;
    2. among them the highest detection rate, which must beat ``policy`` alone (else none);
    3. then the shortest median time to alarm, then the more conservative (higher
       ``sustain_on``, then longer ``sustain_consecutive``).

    Returns ``{"policy": chosen AlertPolicy (``policy`` itself when none qualifies),
    "plain": metrics row of ``policy``, "sweep": rows}``."""
    g = grid or SLOW_PATH_GRID
    slow = [AlertPolicy(**{**policy.to_dict(), "sustain_on": on, "sustain_consecutive": int(k)})
            for on, k in itertools.product(g["sustain_on"], g["sustain_consecutive"])
            if policy.alarm_off <= on <= policy.alarm_on and k > policy.min_consecutive]
    plain, *sweep = sweep_policies(prepare_table(table), probability, [policy, *slow])
    ok = [r for r in sweep if r["false_alarm_scenarios"] <= plain["false_alarm_scenarios"]
          and (r["detection_rate"] or 0.0) > (plain["detection_rate"] or 0.0)]
    if not ok:
        return {"policy": policy, "plain": plain, "sweep": sweep}
    best = min(ok, key=lambda r: (-(r["detection_rate"] or 0.0), r["median_tta_s"] if r["median_tta_s"] is not None
                                  else float("inf"), -r["policy"]["sustain_on"], -r["policy"]["sustain_consecutive"]))
    return {"policy": AlertPolicy.from_dict(best["policy"]), "plain": plain, "sweep": sweep}


def choose_guard(table: pd.DataFrame, probability: np.ndarray, policy: AlertPolicy,
                 grid=CONFIRM_GRID, extra=()) -> dict:
    """The co-rise guard of one variant (:mod:`firesight.detection.guard`) by the stated rule:
    the lowest confirmation level of ``grid``, not below ``policy.watch_on``, whose guarded
    probabilities give no more false-alarm scenarios than the unguarded ones under
    ``policy``, on the validation ``table`` and on every ``extra`` (table, probability)
    pair (more nuisance scenarios: the guard acts out of the training range, so its cost
    is measured on more nuisances than a validation split holds). Returns ``{"guard": ...,
    "sweep": [...]}`` (``guard`` None when no level qualifies)."""
    sets = [(prepare_table(table), probability)] + [(prepare_table(t), p) for t, p in extra]
    return _choose_guard(sets, policy, grid)


def _choose_guard(sets: list, policy: AlertPolicy, grid) -> dict:
    """:func:`choose_guard` on (prepared table, probability) pairs, the validation split first."""
    plain = [int(evaluate_probabilities(t, p, policy)["false_alarm_scenarios"]) for t, p in sets]
    sweep, chosen = [], None
    for level in sorted(c for c in grid if c >= policy.watch_on):
        guard = make_guard(level)
        metrics = [evaluate_probabilities(t, apply_guard(guard, t, p), policy) for t, p in sets]
        m = metrics[0]
        row = {"confirm_probability": level, "detection_rate": m["detection_rate"],
               "false_alarm_scenarios": int(m["false_alarm_scenarios"]),
               "extra_false_alarm_scenarios": [int(x["false_alarm_scenarios"]) for x in metrics[1:]],
               "median_tta_s": m["time_to_alarm_s"]["median"]}
        sweep.append(row)
        if chosen is None and all(int(x["false_alarm_scenarios"]) <= base for x, base in zip(metrics, plain)):
            chosen = guard
    return {"guard": chosen, "unguarded_false_alarm_scenarios": plain[0],
            "unguarded_extra_false_alarm_scenarios": plain[1:], "sweep": sweep}


def choose_guards(bundle: DetectorBundle, table: pd.DataFrame, policies: dict, extra_tables=()) -> dict:
    """:func:`choose_guard` for every variant that sees both SCD41 rates (``policies``:
    variant -> chosen AlertPolicy; ``extra_tables``: more nuisance scenarios)."""
    table = prepare_table(table)
    extra_tables = [prepare_table(t) for t in extra_tables]
    out = {}
    for variant, det in bundle.variants.items():
        names = set(det.feature_names_)
        if CO2_RATE_COLUMN in names and TEMPERATURE_RATE_COLUMN in names:
            if getattr(det, "guard", None) is not None:
                raise ValueError(f"variant {variant!r} already carries a guard; choose on an unguarded model")
            sets = [(t, det.fire_probability(t)) for t in [table, *extra_tables]]
            out[variant] = _choose_guard(sets, policies[variant], CONFIRM_GRID)
    return out
