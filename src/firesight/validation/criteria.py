"""Accuracy criteria of ``firesight validate``, stated before the comparison is run.

A criterion is not a bound drawn around today's numbers: each one comes from a published
source, and it stays as stated where the model fails it (the report then marks that row
"outside" and :data:`KNOWN_FAILURES` lists it).

Peak and timing criteria: as good as a validated zone model
------------------------------------------------------------
firesight's zone model is held to the accuracy that CFAST, NIST's zone model, shows on its
own validation set. The CFAST Validation Guide [1] gives for each quantity the bias
``delta`` and the relative standard deviations of model (``sigma_M``) and experiment
(``sigma_E``) of the ratio ``M/E`` of predicted to measured peak rise above ambient (the
metric of the FDS and CFAST validation guides and of NUREG-1824 Supplement 1 [2]), with
``ln(M/E) ~ N(ln(delta) - sigma_M^2/2 + sigma_E^2/2, sigma_M^2 + sigma_E^2)`` (McGrattan &
Toman [3]; FDS Validation Guide [5], chapter "Quantifying Model Uncertainty"). A firesight
comparison passes when its ``M/E`` lies in the central 95 % of that distribution: an
error CFAST itself makes in fewer than 1 case in 20 fails.

Which CFAST quantity each comparison is (by its physics, not by how well it fares):

* the ceiling thermocouple nearest the fire (r/H < 0.2, inside the plume's impingement
  zone): *plume temperature*;
* the mean of the ceiling thermocouples (4 cm below the ceiling): *ceiling jet temperature*;
* CO2 at a gas sampler: *carbon dioxide concentration*;
* the DelCo burn room's hot-gas-layer temperature (a room open through a doorway):
  *HGL temperature, natural ventilation*;
* the time a rise first reaches 25 % of its measured peak is a detector's threshold
  crossing; the closest CFAST quantity is *sprinkler activation time* (a heat detector's
  threshold crossing in the ceiling jet), applied to the temperature and the CO2 rows alike.

RMSE is reported, with no criterion: [1] states none for whole curves. Rows "model + SCD41"
compare device readings with a gas analyser; they are held to no physics criterion, the
device's own delay has its criterion below.

Device criteria (from the datasheet)
------------------------------------
* SCD41 added delay: the SCD41 follows the gas with a first-order lag, tau63 = 60 s [4],
  read every 5 s. For an input that rises convexly from zero (the FAA ramp, up to its
  peak), Jensen's inequality gives lagged(t) >= input(t - tau), so a threshold is crossed
  at most tau later; the 5 s reading period can add up to 5 s; a causal lag cannot make it
  earlier. Criterion: 0 s < added delay <= 65 s.
* SCD41 clamp: the device reports at most 40,000 ppm [4]; fed the DelCo burns (6-10 % CO2),
  its peak reading must be exactly 40,000 ppm.

References
----------
1. NIST, CFAST Validation Guide (NIST Technical Note 1889v3), chapter "Summary of CFAST
   Model Uncertainty Statistics"; numbers from
   ``Manuals/CFAST_Validation_Guide/SCRIPT_FIGURES/Scatterplots/validation_scatterplot_output_baseline.csv``
   in github.com/firemodels/cfast (commit ab459044).
2. U.S. NRC / EPRI, "Verification and Validation of Selected Fire Models for Nuclear Power
   Plant Applications", NUREG-1824 Supplement 1 / EPRI 3002002182 (2016).
3. K. McGrattan, B. Toman, "Quantifying the predictive uncertainty of complex numerical
   models", Metrologia 48 (2011) 173-180.
4. Sensirion, Datasheet SCD4x v1.4: CO2 output range 0-40,000 ppm, response time tau63
   60 s, periodic measurement every 5 s.
5. K. McGrattan et al., FDS Validation Guide, NIST SP 1018-3, chapter "Quantifying Model
   Uncertainty" (``Manuals/FDS_Validation_Guide/Error_Chapter.tex``, github.com/firemodels/fds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

__all__ = ["CFAST_MODEL_UNCERTAINTY", "Criterion", "CRITERIA", "KNOWN_FAILURES", "ratio_band",
           "evaluate_criteria", "failing_rows"]

#: CFAST model-uncertainty statistics [1]: quantity -> (bias delta, sigma_M, sigma_E).
CFAST_MODEL_UNCERTAINTY = {
    "plume temperature": (1.08, 0.22, 0.07),
    "ceiling jet temperature": (1.06, 0.42, 0.07),
    "carbon dioxide concentration": (0.88, 0.26, 0.08),
    "HGL temperature, natural ventilation": (1.02, 0.35, 0.07),
    "sprinkler activation time": (1.01, 0.20, 0.06),
}

#: Two-sided 95 % quantile of the normal distribution.
Z95 = 1.959963984540054


def ratio_band(delta: float, sigma_m: float, sigma_e: float, *, z: float = Z95) -> tuple[float, float]:
    """Central interval of ``M/E`` that holds a fraction of CFAST's comparisons set by
    ``z`` (95 % by default), for ``ln(M/E) ~ N(ln(delta) - sigma_M^2/2 + sigma_E^2/2, s^2)``,
    ``s = sqrt(sigma_M^2 + sigma_E^2)`` [3, 5]."""
    s = math.hypot(sigma_m, sigma_e)
    centre = math.log(delta) - 0.5 * sigma_m * sigma_m + 0.5 * sigma_e * sigma_e
    return math.exp(centre - z * s), math.exp(centre + z * s)


@dataclass(frozen=True)
class Criterion:
    """One accuracy criterion: the value each selected row must have, where it comes from."""

    name: str
    statistic: str  # "peak_ratio" (M/E of the peak rise), "t_rise_ratio", or a device value
    low: float
    high: float
    source: str
    applies_to: str


def _cfast(name: str, quantity: str, statistic: str, applies_to: str) -> Criterion:
    low, high = ratio_band(*CFAST_MODEL_UNCERTAINTY[quantity])
    delta, sm, se = CFAST_MODEL_UNCERTAINTY[quantity]
    return Criterion(name, statistic, low, high,
                     f"CFAST '{quantity}': delta {delta}, sigma_M {sm}, sigma_E {se}; central 95 % of M/E",
                     applies_to)


#: Every criterion, in report order.
CRITERIA: dict[str, Criterion] = {c.name: c for c in (
    _cfast("plume_temperature_peak", "plume temperature", "peak_ratio",
           "FAA: ceiling thermocouple nearest the fire"),
    _cfast("ceiling_jet_temperature_peak", "ceiling jet temperature", "peak_ratio",
           "FAA: mean of the ceiling thermocouples"),
    _cfast("co2_peak", "carbon dioxide concentration", "peak_ratio",
           "FAA gas samplers; DelCo burn room sampler A"),
    _cfast("hgl_temperature_peak", "HGL temperature, natural ventilation", "peak_ratio",
           "DelCo burn room upper layer"),
    _cfast("threshold_crossing_time", "sprinkler activation time", "t_rise_ratio",
           "every comparison row: time to 25 % of the measured peak"),
    Criterion("scd41_added_delay_s", "value", 0.0, 65.0,
              "SCD4x datasheet tau63 60 s + 5 s period; first-order lag of a convex rise",
              "FAA: SCD41 reading vs the gas it samples, 25 % crossing"),
    Criterion("scd41_clamp_ppm", "value", 40000.0, 40000.0,
              "SCD4x datasheet: output range 0-40,000 ppm", "DelCo: SCD41 peak reading"),
)}

#: Rows the model is known to fail, as (criterion, row label): the integration test fails
#: when this set and the report's failing rows differ, so the list cannot silently grow
#: (and a fixed failure must be struck from it). Why each fails: docs/validation.md.
KNOWN_FAILURES: frozenset[tuple[str, str]] = frozenset({
    # DC-10 (test 4): the model's ceiling is far too hot and too early (measured rise at
    # most 2.3 K under a 4.9 kW fire; ventilation sweeps the plume, or the fire was smaller
    # than the FDS ramp), and the 14 m bay is not well mixed along its length.
    ("plume_temperature_peak", "FAA test 4: ceiling dT at TC23 (r = 0.29 m)"),
    ("ceiling_jet_temperature_peak", "FAA test 4: ceiling dT, mean of 45 TCs"),
    ("co2_peak", "FAA test 4: CO2 rise at Aft Pan"),
    ("co2_peak", "FAA test 4: CO2 rise at TC5"),
    ("threshold_crossing_time", "FAA test 4: ceiling dT at TC23 (r = 0.29 m)"),
    ("threshold_crossing_time", "FAA test 4: ceiling dT, mean of 45 TCs"),
    ("threshold_crossing_time", "FAA test 4: CO2 rise at Fwd Pan"),
    ("threshold_crossing_time", "FAA test 4: CO2 rise at Aft Pan"),
    # B707 tests 2 and 3 burn their inputs' C8H8 (CO2 yield 2.82 g/g, 2.3x test 1's fuel):
    # about 3x the measured CO2, which reaches its threshold early.
    ("co2_peak", "FAA test 2: CO2 rise at Aft Pan"),
    ("co2_peak", "FAA test 3: CO2 rise at Aft Pan"),
    ("threshold_crossing_time", "FAA test 3: CO2 rise at Aft Pan"),
    # Test 3, fire by the side wall: a wall plume is not Alpert's free plume.
    ("threshold_crossing_time", "FAA test 3: ceiling dT at TC14 (r = 0.19 m)"),
    # Test 1, aft sampler: the modelled CO2 reaches it 16 s late (ratio 1.57 of 1.49).
    ("threshold_crossing_time", "FAA test 1: CO2 rise at Aft Pan"),
    # DelCo burn room: no doorway flow in the zone model (products diluted by the whole
    # opening flow; the analyser also clips near 10 %), and a lumped lining.
    ("co2_peak", "DelCo test 2: burn room: CO2 at sampler A (1.22 m)"),
    ("threshold_crossing_time", "DelCo test 2: burn room: upper-layer temperature"),
    ("threshold_crossing_time", "DelCo test 2: burn room: CO2 at sampler A (1.22 m)"),
    # The real office (firesight.validation.office): synthetic arrivals raise CO2 about 3x
    # as fast as the office's, and some synthetic rooms sit at outdoor air (the office never
    # fell below 448 ppm on a working day).
    ("normal_day_arrival_rate", "normal_day median [ppm/min]"),
    ("people_gathering_arrival_rate", "people_gathering median [ppm/min]"),
    ("normal_day_co2_level", "normal_day 5th percentile [ppm]"),
})


def _row_label(row) -> str:
    quantity = str(row["quantity"])
    if quantity.startswith("DelCo "):
        return f"DelCo test {int(row['test'])}: {quantity.removeprefix('DelCo ')}"
    return f"FAA test {int(row['test'])}: {quantity}"


def _criterion_for_row(quantity: str) -> str | None:
    if "SCD41" in quantity:
        return None
    if quantity.startswith("ceiling dT at"):
        return "plume_temperature_peak"
    if quantity.startswith("ceiling dT, mean"):
        return "ceiling_jet_temperature_peak"
    if "CO2" in quantity:
        return "co2_peak"
    if "upper-layer temperature" in quantity:
        return "hgl_temperature_peak"
    return None


def evaluate_criteria(table: pd.DataFrame, *, scd41_delays: dict[str, float],
                      scd41_peaks_ppm: dict[str, float]) -> list[dict]:
    """Every (criterion, row) result: ``criterion``, ``row``, ``value``, ``low``, ``high``,
    ``ok``. ``table`` holds the comparison rows (``test``, ``quantity``, ``measured_peak``,
    ``model_peak``, ``t_rise_measured_s``, ``t_rise_model_s``); ``scd41_delays`` maps a row
    label to the delay [s] the SCD41 adds, ``scd41_peaks_ppm`` a DelCo test to the device's
    peak reading."""
    out = []

    def add(name: str, label: str, value: float) -> None:
        c = CRITERIA[name]
        ok = math.isfinite(value) and c.low - 1e-9 <= value <= c.high + 1e-9
        out.append({"criterion": name, "row": label, "value": float(value), "low": c.low,
                    "high": c.high, "ok": bool(ok)})

    for _, row in table.iterrows():
        name = _criterion_for_row(str(row["quantity"]))
        if name is None:
            continue
        label = _row_label(row)
        add(name, label, row["model_peak"] / row["measured_peak"] if row["measured_peak"] else math.nan)
        t_meas, t_mod = float(row["t_rise_measured_s"]), float(row["t_rise_model_s"])
        add("threshold_crossing_time", label, t_mod / t_meas if t_meas > 0 else math.nan)
    for label, delay in scd41_delays.items():
        add("scd41_added_delay_s", label, delay)
    for label, peak in scd41_peaks_ppm.items():
        add("scd41_clamp_ppm", label, peak)
    order = list(CRITERIA)
    return sorted(out, key=lambda r: order.index(r["criterion"]))


def failing_rows(results: list[dict]) -> set[tuple[str, str]]:
    """(criterion, row) of every result outside its criterion."""
    return {(r["criterion"], r["row"]) for r in results if not r["ok"]}
