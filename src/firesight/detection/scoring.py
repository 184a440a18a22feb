"""Run detectors over a feature table and judge them per scenario.

The table holds one row per window with the meta columns ``scenario_id``, ``family``,
``ignition_time_s``, ``time_s`` and ``burning`` (truth) beside the features. Every
detector, model or baseline, goes through the same :class:`AlertPolicy` path and the same
:func:`firesight.detection.evaluation.evaluate_timelines`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from firesight.detection.alerts import LEVEL_CODE, AlertPolicy, alert_levels
from firesight.detection.baselines import BASELINE_POLICY, default_baselines
from firesight.detection.bundle import DetectorBundle
from firesight.detection.calibration import reliability
from firesight.detection.ensemble import EnsembleDetector
from firesight.detection.evaluation import ScenarioTimeline, evaluate_timelines
from firesight.errors import DataError

#: Meta columns a feature table must hold to be evaluated.
REQUIRED_META: tuple[str, ...] = ("scenario_id", "family", "ignition_time_s", "time_s")
#: Report names of the bundle variants (degraded modes).
VARIANT_LABELS: dict[str, str] = {"full": "", "thermal": "camera_only", "gas": "scd41_only"}


def prepare_table(table: pd.DataFrame) -> pd.DataFrame:
    """Check the meta columns and sort by scenario and time (a copy)."""
    if not isinstance(table, pd.DataFrame) or len(table) == 0:
        raise DataError("the feature table is empty")
    missing = [c for c in REQUIRED_META if c not in table.columns]
    if missing:
        raise DataError(f"the feature table lacks meta columns {missing} "
                        f"(has {list(table.columns)[:12]}...)")
    if not np.isfinite(table["time_s"].to_numpy(dtype=float)).all():
        raise DataError("the feature table holds NaN or infinite time_s")
    out = table.assign(scenario_id=table["scenario_id"].astype(str))
    out = out.sort_values(["scenario_id", "time_s"], kind="stable").reset_index(drop=True)
    if out.duplicated(["scenario_id", "time_s"]).any():
        raise DataError("the feature table repeats (scenario_id, time_s) pairs")
    return out


def scenario_timelines(table: pd.DataFrame, probability: np.ndarray,
                       policy: AlertPolicy) -> list[ScenarioTimeline]:
    """Per-scenario alarm timelines of one detector's probabilities (table prepared)."""
    p = np.asarray(probability, dtype=float)
    if p.shape != (len(table),):
        raise DataError(f"probability has shape {p.shape}, expected ({len(table)},)")
    out = []
    has_truth = "burning" in table.columns
    has_precursor = "precursor" in table.columns  # feature tables of datasets with precursor labels
    for sid, idx in table.groupby("scenario_id", sort=True).indices.items():
        rows = table.iloc[idx]
        t = rows["time_s"].to_numpy(dtype=float)
        step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
        ign = rows["ignition_time_s"].iloc[0]
        ign = None if ign is None or not np.isfinite(float(ign)) else float(ign)
        levels = alert_levels(t, p[idx], policy)
        out.append(ScenarioTimeline(
            scenario_id=str(sid), family=str(rows["family"].iloc[0]), ignition_time_s=ign,
            duration_s=float(t[-1] - t[0] + step), start_s=float(t[0] - step), time_s=t,
            alarm=levels == LEVEL_CODE["alarm"], score=p[idx],
            burning=rows["burning"].to_numpy(dtype=bool) if has_truth else None,
            precursor=rows["precursor"].fillna(False).to_numpy(dtype=bool) if has_precursor else None))
    return out


def fire_classes(table: pd.DataFrame) -> dict[str, str] | None:
    """Class of each fire scenario for the time-to-alarm targets: ``smouldering`` when the
    truth state at ignition is smouldering, else ``flaming_in_view`` or
    ``flaming_not_in_view`` (``source_view`` "in_view" or not; ``flaming`` when unknown).
    None when the table has no ``truth_state``."""
    if "truth_state" not in table.columns or "burning" not in table.columns:
        return None
    burning = table[table["burning"].astype(bool)]
    first = burning.groupby("scenario_id", sort=True).first()
    out = {}
    for sid, row in first.iterrows():
        if int(row["truth_state"]) == 1:
            out[str(sid)] = "smouldering"
        elif "source_view" in first.columns and isinstance(row["source_view"], str):
            out[str(sid)] = "flaming_in_view" if row["source_view"] == "in_view" else "flaming_not_in_view"
        else:
            out[str(sid)] = "flaming"
    return out


def evaluate_probabilities(table: pd.DataFrame, probability: np.ndarray,
                           policy: AlertPolicy) -> dict:
    """EVALUATION.md metrics of one detector's per-window probabilities."""
    return evaluate_timelines(scenario_timelines(table, probability, policy),
                              classes=fire_classes(table))


def detector_probabilities(bundle: DetectorBundle, table: pd.DataFrame,
                           members: bool = True) -> dict[str, tuple[str, str, np.ndarray, AlertPolicy]]:
    """Probabilities of every bundle variant (and of the full variant's ensemble members).

    Returns ``{name: (kind, variant, probability, policy)}`` with kind ``model``,
    ``member`` or ``degraded``.
    """
    kind_name = bundle.info.get("kind", "model")
    out = {}
    for variant in ("full", "thermal", "gas"):
        if variant not in bundle.variants:
            continue
        label = VARIANT_LABELS[variant]
        name = f"{kind_name}_{label}" if label else kind_name
        det = bundle.variants[variant]
        policy = bundle.policies[variant]
        if members and variant == "full" and isinstance(det, EnsembleDetector):
            for member_name, member in zip(det.names_, det.estimators_):
                out[member_name] = ("member", variant, member.fire_probability(table), policy)
        p = det.fire_probability(table)
        out[name] = ("model" if variant == "full" else "degraded", variant, p, policy)
    return out


def evaluate_suite(table: pd.DataFrame, bundle: DetectorBundle, *,
                   baselines: Mapping | None = None, members: bool = True,
                   progress: Callable[[str], None] | None = None) -> dict:
    """Metrics of the bundle's variants, its members and the baselines on one table.

    Returns ``{"results": {name: metrics + kind/variant/policy}, "scores": {name: p}}``;
    scores are kept for plots and are not written to reports.
    """
    table = prepare_table(table)
    results, scores = {}, {}
    entries = detector_probabilities(bundle, table, members=members)
    for name, base in (baselines if baselines is not None else default_baselines()).items():
        if progress:
            progress(name)
        p = base.fire_probability(table)
        entries[name] = ("baseline", "full", p, BASELINE_POLICY)
    labels = ({str(f): str(lab) for f, lab in table.groupby("family")["label"].first().items()}
              if "label" in table.columns else {})
    burning = table["burning"].to_numpy() if "burning" in table.columns else None
    for name, (kind, variant, p, policy) in entries.items():
        metrics = evaluate_probabilities(table, p, policy)
        metrics.update({"kind": kind, "variant": variant, "policy": policy.to_dict(),
                        "targets": target_checks(metrics, labels)})
        if burning is not None and kind != "baseline":  # a rule's score is not a probability
            metrics["calibration"] = reliability(burning, p)
        results[name] = metrics
        scores[name] = p
    return {"results": results, "scores": scores, "table": table}


#: The targets of issue 3 (held-out synthetic test set).
TARGETS: dict[str, float] = {
    "detection_rate_min": 0.99,
    "median_tta_flaming_in_view_max_s": 15.0,
    "median_tta_smouldering_max_s": 120.0,
    "nuisance_false_alarm_scenarios_max": 0,
}


def target_checks(metrics: dict, family_labels: Mapping[str, str]) -> dict:
    """Each target of :data:`TARGETS` with the detector's value and whether it is met.

    ``family_labels`` maps family to label (``fire``, ``nuisance``, ``normal``, ``fault``);
    the false-alarm target counts scenarios of ``nuisance`` families (gas-stove cooking
    among them); ``non_fire_false_alarm_scenarios`` adds normal and fault families.
    """
    by_class = metrics["time_to_alarm_s"].get("by_class", {})
    fa = metrics["false_alarms_by_family"]
    nuisance = sum(e["false_alarm_scenarios"] for f, e in fa.items() if family_labels.get(f) == "nuisance")
    non_fire = sum(e["false_alarm_scenarios"] for f, e in fa.items() if family_labels.get(f) != "fire")
    flaming = by_class.get("flaming_in_view", by_class.get("flaming", {}))
    smoulder = by_class.get("smouldering", {})

    def check(value, limit, lower_is_better=True):
        if value is None:
            return {"value": None, "target": limit, "met": False}
        return {"value": value, "target": limit,
                "met": bool(value <= limit if lower_is_better else value >= limit)}

    return {
        "detection_rate": check(metrics["detection_rate"], TARGETS["detection_rate_min"], False),
        "median_tta_flaming_in_view_s": check(flaming.get("median"),
                                              TARGETS["median_tta_flaming_in_view_max_s"]),
        "median_tta_smouldering_s": check(smoulder.get("median"), TARGETS["median_tta_smouldering_max_s"]),
        "nuisance_false_alarm_scenarios": check(nuisance, TARGETS["nuisance_false_alarm_scenarios_max"]),
        "gas_stove_false_alarm_scenarios": check(
            fa.get("gas_stove_cooking", {}).get("false_alarm_scenarios", 0), 0),
        "non_fire_false_alarm_scenarios": non_fire,
    }
