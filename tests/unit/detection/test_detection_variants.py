"""The stated rule that picks each variant's constraints on a validation split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from firesight.detection import variants as V
from firesight.detection.training import feature_sets


def _gas_like_table(n_scenarios: int, seed: int) -> pd.DataFrame:
    """Every SCD41 feature column; fires (even scenarios) raise the CO2 and temperature
    rises and rates after 60 s, humidity carries nothing."""
    rng = np.random.default_rng(seed)
    cols = feature_sets()["gas"]
    parts = []
    for s in range(n_scenarios):
        t = np.arange(1, 121, dtype=float)
        fire = s % 2 == 0
        ramp = np.clip(t - 60, 0, None) / 20.0 if fire else np.zeros(t.size)
        frame = pd.DataFrame(rng.normal(0, 1, (t.size, len(cols))), columns=list(cols))
        for c in cols:
            if c.startswith(("scd41_co2", "scd41_temperature")) and "noise" not in c and "per_degree" not in c:
                frame[c] += 2.0 * ramp
        frame["scd41_staleness_s"] = rng.uniform(0, 5, t.size)
        parts.append(frame.assign(scenario_id=f"s{s:03d}", family="fire" if fire else "people",
                                  ignition_time_s=60.0 if fire else np.nan, time_s=t,
                                  burning=((t >= 60) & fire).astype(np.int8)))
    return pd.concat(parts, ignore_index=True)


def test_config_params_name_what_they_change():
    params, excluded = V.config_params({"rf": {"n_estimators": 5}}, "monotone_no_humidity", "gas")
    assert params["variant_params"]["gas"]["xgb"]["monotone"] == "physical"
    assert set(excluded) == set(V.HUMIDITY_FEATURES) and params["exclude_features"]["gas"] == list(excluded)
    assert V.config_params({}, "unchanged", "gas") == ({}, ())
    merged = V.params_for({"rf": {"class_weight": None}},
                          {"full": {"chosen": "monotone"}, "gas": {"chosen": "no_humidity"}})
    assert merged["rf"] == {"class_weight": None}
    assert set(merged["variant_params"]) == {"full"} and set(merged["exclude_features"]) == {"gas"}


def test_rule_takes_the_most_constrained_config_that_costs_nothing():
    train, validation = _gas_like_table(12, 0), _gas_like_table(8, 1)
    base = {"rf": {"n_estimators": 10, "n_jobs": 1, "class_weight": None},
            "xgb": {"n_estimators": 20, "n_jobs": 1, "scale_pos_weight": 1.0}}
    result = V.choose_variant_configs(train, validation, base, variants=("gas",))["gas"]
    rows = result["results"]
    assert list(rows) == list(V.CONFIGS)
    # the signal is in the monotone rises and humidity is noise: nothing is lost by the
    # constraints on this table, so the rule keeps the most constrained configuration
    assert rows["unchanged"]["detection_rate"] == 1.0
    assert result["chosen"] == "monotone_no_humidity"
    ref = rows["unchanged"]
    chosen = rows[result["chosen"]]
    assert chosen["false_alarm_scenarios"] <= ref["false_alarm_scenarios"]
    assert chosen["detection_rate"] >= ref["detection_rate"] - V.MAX_DETECTION_LOSS
