"""Which constraints each variant gets, chosen on the validation split by a stated rule.

Configurations, from the most physically constrained to the least (:data:`CONFIGS`):

* ``monotone_no_humidity``: monotone in the SCD41 rises (:mod:`firesight.detection.constraints`)
  and without the humidity features and the SCD41 staleness (:data:`HUMIDITY_FEATURES`);
* ``monotone``; ``no_humidity``; ``unchanged``.

The rule, written before any run: for each variant, take the first configuration of that
order whose validation result, under the policy :func:`firesight.detection.policy.choose`
picks for it, has no more false-alarm scenarios than ``unchanged`` and a detection rate at
most :data:`MAX_DETECTION_LOSS` below ``unchanged``'s. Constraints are preferred because a
model that obeys the physics is likelier to hold on data unlike its training world; the
synthetic validation split says what they may cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from firesight.detection.policy import choose_policies
from firesight.detection.training import feature_sets, train_bundle

#: Features left out by the ``no_humidity`` configurations (a fire both dries the air at
#: the sensor by heating it and wets it with combustion water; the staleness leaves its
#: training range after gaps).
HUMIDITY_FEATURES = ("scd41_humidity_drop_rh", "scd41_humidity_rate_rh_per_min_60s", "scd41_staleness_s")
#: Configurations, most constrained first.
CONFIGS = ("monotone_no_humidity", "monotone", "no_humidity", "unchanged")
#: Largest detection-rate loss against ``unchanged`` a constrained configuration may cost.
MAX_DETECTION_LOSS = 0.05


def config_params(base: Mapping, config: str, variant: str) -> tuple[dict, tuple[str, ...]]:
    """(training parameters, excluded features) of one configuration of one variant."""
    params = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    excluded: tuple[str, ...] = ()
    if config.startswith("monotone"):
        params.setdefault("variant_params", {})[variant] = {"rf": {"monotone": "physical"},
                                                            "xgb": {"monotone": "physical"}}
    if config.endswith("no_humidity"):
        excluded = tuple(f for f in HUMIDITY_FEATURES if f in feature_sets()[variant])
        params.setdefault("exclude_features", {})[variant] = list(excluded)
    return params, excluded


def choose_variant_configs(train: pd.DataFrame, validation: pd.DataFrame, base: Mapping, *,
                           variants: Sequence[str] = ("full", "gas"), seed: int = 0, progress=None) -> dict:
    """Every configuration's validation result per variant and the one the rule picks."""
    out = {}
    for variant in variants:
        rows = {}
        for config in CONFIGS:
            if progress:
                progress(f"{variant}: {config}")
            params, _ = config_params(base, config, variant)
            bundle = train_bundle(train, kind="ensemble", params=params, seed=seed, variants=(variant,))
            rows[config] = choose_policies(bundle, validation)[variant]["chosen"]
        ref = rows["unchanged"]
        chosen = next(c for c in CONFIGS if rows[c]["false_alarm_scenarios"] <= ref["false_alarm_scenarios"]
                      and (rows[c]["detection_rate"] or 0.0) >= (ref["detection_rate"] or 0.0) - MAX_DETECTION_LOSS)
        out[variant] = {"chosen": chosen, "results": rows}
    return out


def params_for(base: Mapping, choices: Mapping) -> dict:
    """Training parameters carrying every variant's chosen configuration."""
    params = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    for variant, choice in choices.items():
        p, _ = config_params({}, choice["chosen"], variant)
        for key in ("variant_params", "exclude_features"):
            if key in p:
                params.setdefault(key, {}).update(p[key])
    return params
