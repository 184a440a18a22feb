"""Monotone constraints: what physics says about the direction of the fire evidence.

A fire releases heat and CO2: at a fixed value of every other input, a larger CO2 rise or
rise rate, or a larger temperature rise or rise rate at the SCD41, is never *less* evidence
of fire. Trees learned without this prior may dip where the training data are thin and
stay flat beyond their largest training value; a real fire in a small room (CO2 rising
thousands of ppm per minute, the gas heating tens of kelvin per minute) lies beyond every
synthetic fire, and an unconstrained model can score it lower than a modest one. With the
constraint, the probability is non-decreasing in each named feature, so extrapolation
beyond the training range keeps the fire-side answer.

Only features whose direction follows from the physics alone are constrained. Left free:
noise levels (faults and fires both raise them), ratios (the CO2 per degree separates a gas
flame from a fire in either direction), humidity (a fire lowers relative humidity by
heating the air and raises it by its combustion water; cooking steam raises it), and every
camera feature (heaters and sunlit surfaces are hot without being fires).

References
----------
1. Chen, T., Guestrin, C. (2016). XGBoost. KDD '16 (``monotone_constraints``).
2. scikit-learn ``RandomForestClassifier(monotonic_cst=...)`` (since 1.4).
3. Drysdale, D. (2011). An Introduction to Fire Dynamics, 3rd ed., ch. 1 and 4 (combustion
   products and heat release).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from firesight.errors import InvalidParameterError

#: Fire-side direction (+1: more of it, more fire) of the SCD41 features that physics
#: fixes. Used by ``"monotone": "physical"`` in the detectors' parameters.
PHYSICAL_MONOTONE: dict[str, int] = {
    "scd41_co2_above_baseline_ppm": 1,
    "scd41_co2_rate_ppm_per_min_30s": 1,
    "scd41_co2_rate_ppm_per_min_60s": 1,
    "scd41_co2_rate_ppm_per_min_120s": 1,
    "scd41_co2_rate_ppm_per_min_300s": 1,
    "scd41_co2_lag_corrected_above_baseline_ppm": 1,
    "scd41_co2_above_baseline_z": 1,
    "scd41_co2_rise_z_120s": 1,
    "scd41_temperature_rise_c": 1,
    "scd41_temperature_rate_c_per_min_30s": 1,
    "scd41_temperature_rate_c_per_min_60s": 1,
    "scd41_temperature_rate_c_per_min_120s": 1,
    "scd41_temperature_rate_c_per_min_300s": 1,
    "scd41_temperature_lag_corrected_rise_c": 1,
}

#: Named constraint sets accepted in place of a mapping.
NAMED = {"physical": PHYSICAL_MONOTONE, "none": {}}


def monotone_vector(spec: Mapping[str, int] | str | None, feature_names: Sequence[str]) -> list[int] | None:
    """Per-feature constraint (-1, 0, +1) in ``feature_names`` order, or None when ``spec``
    constrains none of them. ``spec``: a mapping feature -> direction, or a name in
    :data:`NAMED`."""
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec not in NAMED:
            raise InvalidParameterError("monotone", f"a mapping or one of {sorted(NAMED)}", spec)
        spec = NAMED[spec]
    if not isinstance(spec, Mapping):
        raise InvalidParameterError("monotone", "a mapping feature -> -1/0/+1, or a name", spec)
    bad = {k: v for k, v in spec.items() if v not in (-1, 0, 1)}
    if bad:
        raise InvalidParameterError("monotone", "directions -1, 0 or +1", bad)
    vector = [int(spec.get(name, 0)) for name in feature_names]
    return vector if any(vector) else None
