"""The prose of ``docs/validation.md``, filled with the numbers of one validation run."""

from __future__ import annotations

import pandas as pd

from firesight.validation._report_sections import criteria_sections, office_section
from firesight.validation.office import OFFICE_CRITERIA

_FAA_COLUMNS = [
    ("test", "test", 0), ("quantity", "quantity", 0), ("unit", "unit", 0),
    ("rmse", "RMSE", 1), ("measured_peak", "measured peak", 1), ("model_peak", "model peak", 1),
    ("peak_error_rel", "peak error [fraction]", 2), ("t_rise_measured_s", "t_rise meas. [s]", 1),
    ("t_rise_model_s", "t_rise model [s]", 1), ("t_rise_error_s", "t_rise error [s]", 1),
]

_DELCO_COLUMNS = [
    ("test", "test", 0), ("measured_co2_peak_ppm", "measured CO2 peak [ppm]", 0),
    ("t_measured_over_limit_s", "measured > 40,000 ppm at [s]", 0),
    ("scd41_peak_ppm", "SCD41 model peak [ppm]", 0),
    ("t_scd41_at_limit_s", "SCD41 at 40,000 at [s]", 0),
    ("scd41_readings_over_temperature", "SCD41 readings > 60 C", 0),
    ("ceiling_tc_peak_c", "hottest ceiling TC [C]", 0),
    ("s_above_lepton_high_gain", "s above 140 C", 0),
    ("s_above_lepton_low_gain", "s above 400 C", 0),
]


def _mean_verdict(row) -> str:
    """'too warm by N %' / 'too cool by N %' / 'within 10 %' for a peak comparison row."""
    rel = float(row["peak_error_rel"])
    if abs(rel) <= 0.10:
        return "within 10 %"
    return f"too {'warm' if rel > 0 else 'cool'} by {abs(100 * rel):.0f} %"


def render(result, *, command, table_md, fmt, faa_fire, faa_tests, fuel_yields, criteria, known_failures,
           lepton) -> str:
    """Markdown text of the validation report."""
    faa = result["faa_table"]
    faa_only = faa[~faa["quantity"].str.startswith("DelCo")]
    zone_rows = pd.DataFrame(result["delco_zone"]["rows"])
    delco = result["delco_table"]
    checks = result["checks"]
    zone = result["delco_zone"]

    def row(test, text):
        sel = faa_only[(faa_only["test"] == test) & faa_only["quantity"].str.contains(text,
                                                                                       regex=False)]
        return sel.iloc[0] if len(sel) else None

    t1 = row(1, "ceiling dT at")
    t1m = row(1, "mean of")
    t3 = row(3, "ceiling dT at")
    t4 = row(4, "ceiling dT at")
    t4m = row(4, "mean of")
    t4c = row(4, "Fwd Pan")
    zt = zone_rows[zone_rows["unit"] == "C"].iloc[0]
    zc = zone_rows[zone_rows["unit"] == "ppm"].iloc[0]
    peak_hrr = max(faa_fire["ramp_fraction"]) * faa_fire["mass_flux_kg_m2_s"] * 1000 * \
        faa_fire["area_m2"] * faa_fire["heat_of_combustion_kj_per_g"]

    co2_rows = faa_only[faa_only["quantity"].str.startswith("CO2") & ~faa_only["quantity"].str.contains("SCD41")]
    t1_co2 = co2_rows[co2_rows["test"] == 1]
    c8h8_co2 = co2_rows[co2_rows["test"].isin([2, 3])]
    y1, y2 = fuel_yields(1), fuel_yields(2)
    b12 = faa_only[faa_only["test"].isin([1, 2]) & ~faa_only["quantity"].str.contains("SCD41")]
    far = faa_only[(faa_only["test"] == 4) & faa_only["quantity"].str.contains("CO2")
                   & ~faa_only["quantity"].str.contains("Fwd|SCD41")]["peak_error_rel"]
    clamp_lag = (delco["t_scd41_at_limit_s"] - delco["t_measured_over_limit_s"]) \
        if "t_scd41_at_limit_s" in delco else pd.Series([float("nan")])
    over_t = (delco["scd41_readings_over_temperature"] / delco["scd41_readings"]) \
        if "scd41_readings" in delco else pd.Series([float("nan")])
    low_gain_min = delco["s_above_lepton_low_gain"] / 60.0
    delays = []
    for test in sorted(set(faa_only["test"])):
        rows = faa_only[faa_only["test"] == test]
        sensor = rows[rows["quantity"].str.contains("SCD41")]
        if len(sensor):
            bare = rows[rows["quantity"] == sensor["quantity"].iloc[0].replace(
                ", model + SCD41", "")]
            delays.append(sensor["t_rise_model_s"].iloc[0] - bare["t_rise_model_s"].iloc[0])
    delays = pd.Series(delays if delays else [float("nan")])

    criteria_md, results_md, known_md, n_ok, n_all = criteria_sections(
        checks, criteria, known_failures, fmt, OFFICE_CRITERIA if result.get("office") else None)
    office_md = office_section(result["office"], fmt) if result.get("office") else ""

    return f"""# Validation against real measurements

The physics that makes firesight's training data (fire → plume and ceiling jet → room zone
model → SCD41 device model) compared with real measurements from NIST's fire-model
validation collection: the FAA cargo-compartment tests (small flaming fires, the scale a
detector must catch) and the DelCo trainer burns (fires far past detection scale); and the
generator's ordinary-room scenarios compared with a real occupied office. The
measurements are read from `../shared/real-data/` and never copied into this repository
(credit for the fire data: National Institute of Standards and Technology, `firemodels/exp`).

Every number and picture on this page comes from

```
{command}
```

(SCD41 device draws and synthetic scenarios seeded with `--seed {result['seed']}`). The models are
described in [physics.md](physics.md). Each comparison is held to an accuracy criterion
stated beforehand with its source ([Accuracy criteria](#accuracy-criteria), at the end);
the rows that fail one are marked **outside** and explained there, and the integration
test `tests/integration/validation/` runs the same comparison and requires exactly those
failures.

## FAA cargo compartments: small flaming fires

**Inputs, none fitted to these measurements.** The fire is the FAA source as the FDS
validation suite describes it (`FAA_B707_Test_*.fds`, `FAA_DC10.fds`): a mass-loss ramp on a
0.1 m square peaking at {fmt(peak_hrr, 1)} kW after 80 s (21 kJ/g), radiative fraction
{faa_fire['radiative_fraction']}, soot and CO yields {faa_fire['soot_yield_g_per_g']} and 0.065
g/g. Each test burns its own input's fuel: the test 1 and DC-10 inputs give "C = 1, H = 12.2"
(so written; more hydrogen per carbon than any real fuel), the test 2 and 3 inputs C8H8. The
carbon balance after CO and soot (soot as pure carbon) gives CO2 yields of
{fmt(y1['co2_yield_g_per_g'], 2)} g/g (CH12.2) and {fmt(y2['co2_yield_g_per_g'], 2)} g/g (C8H8), and all
hydrogen to water H2O yields of {fmt(y1['h2o_yield_g_per_g'], 2)} and {fmt(y2['h2o_yield_g_per_g'], 2)} g/g. B707 bay: 6.73 m long, 1.37 m
high, 3.18 m wide at the ceiling, modelled as a rectangle of equal volume (2.68 m wide),
closed (leaks only by thermal expansion), 0.58 mm fibreglass ceiling liner. DC-10 bay: 14.0 m
× 4.24 m (equal volume) × 1.68 m, exhaust 0.188 m³/s ({fmt(faa_tests[4].air_changes_per_hour, 1)}
air changes per hour), 1 mm steel lining. Sensor and fire positions are those of the FDS
inputs; the DC-10 "Fwd Pan" sampler is taken to be the FDS input's `GasMid` point (y = 2.67 m),
the one nearest the fire.

**No FDS column.** FDS's own predictions of these tests are not in `../shared/real-data/` (it
holds the measurements only: `TestCase*_FAA_EXPDATA.csv` and the DelCo test files), so this
page compares with the measurements alone and quotes no FDS numbers.

**Metrics.** RMSE over the whole record; peak error = model peak − measured peak (as a
fraction of the measured peak); t_rise = first time the rise reaches 25 % of the measured
peak. "model + SCD41" passes the modelled CO2 at the sampler through the SCD41 device model
(`firesight.sensors.scd41`: 60 s response, 5 s readings, per-device error) and compares its
readings with the measured rise.

{table_md(faa_only, _FAA_COLUMNS)}

![FAA comparison](img/validation_faa.png)

**Where it agrees.** In the B707 tests the ceiling thermocouple above the fire (test 1:
{fmt(t1['measured_peak'])} K measured, {fmt(t1['model_peak'])} K modelled) follows Alpert's
plume-impingement correlation, scaled to the fire's convective output, far below the heat
release and ceiling height Alpert fitted it on; in tests 1 and 2 the ceiling starts to warm
within {fmt(b12[b12['unit'] == 'K']['t_rise_error_s'].abs().max(), 0)} s of the measurement. With its own fuel (CH12.2), test 1's CO2 peaks near the ceiling
lie within {fmt(100 * t1_co2['peak_error_rel'].abs().max(), 0)} % of the measured ones.

**Where it disagrees, and why.**

* *Ceiling average* (test 1: {fmt(t1m['model_peak'])} K modelled against
  {fmt(t1m['measured_peak'])} K measured at peak, {_mean_verdict(t1m)}). The zone model's upper
  layer is uniform, so thermocouples far from the fire read the layer temperature at once;
  in the bay the ceiling jet cools as it spreads along a 6.7 m ceiling, and the layer gas
  radiates to the walls, which the model ignores. (Before the ceiling jet was taken as a
  rise over the entrained gas instead of over the layer, the model read 11.4 K here.)
* *CO2 of tests 2 and 3 (C8H8).* With their inputs' C8H8 the model releases
  {fmt(y2['co2_yield_g_per_g'] / y1['co2_yield_g_per_g'], 1)}× test 1's CO2 per gram burnt and over-predicts the aft sampler's peak
  {fmt(1 + c8h8_co2['peak_error_rel'].min(), 1)}–{fmt(1 + c8h8_co2['peak_error_rel'].max(), 1)}×. The measurements do not show that
  difference: the same sampler, under the same fire ramp at other places in the bay, read
  {fmt(float(t1_co2[t1_co2['quantity'].str.contains('Aft')]['measured_peak'].iloc[0]), 0)} ppm in test 1 and
  {fmt(c8h8_co2['measured_peak'].min(), 0)}–{fmt(c8h8_co2['measured_peak'].max(), 0)} ppm in tests 2 and 3. The inputs are kept as
  written (each test its own fuel, nothing chosen to fit), and these rows fail their
  criterion.
* *Late decline of CO2.* The measured CO2 under the ceiling falls after about 150 s while the
  fire still burns at half its peak; the closed zone model keeps it near its peak. The bay's
  real leakage and the layer's descent to the floor sampling heights are not in the model.
* *Test 3 (fire by the side wall)*: the thermocouple nearest the fire reads
  {fmt(t3['measured_peak'])} K against {fmt(t3['model_peak'])} K modelled: a plume next to a
  wall leans and entrains differently from the free axisymmetric plume of Alpert's correlation.
* *Test 4 (DC-10)*: the model over-predicts the ceiling temperature rise by a factor
  {fmt(1 + t4['peak_error_rel'], 1)} near the fire and {fmt(1 + t4m['peak_error_rel'], 1)} on
  average (measured at most {fmt(t4['measured_peak'])} K), while the CO2 at the sampler nearest
  the fire is within {fmt(100 * abs(t4c['peak_error_rel']), 0)} %. With the same
  {fmt(peak_hrr, 1)} kW source that heats the lower B707 ceiling by 23–26 K, a 1.68 m ceiling
  can hardly stay within 4 K unless the ventilation (ceiling exhaust, {fmt(faa_tests[4].air_changes_per_hour, 1)}
  air changes per hour) sweeps the plume, or the DC-10 fire was smaller than the ramp the FDS
  suite uses for all four tests. Far from the fire (aft sampler, TC5) the modelled CO2 is
  {fmt(1 + far.min(), 1)}–{fmt(1 + far.max(), 1)}× the measured: the 14 m bay is not well mixed along its length, which a single-room zone model
  cannot show.
* *The SCD41 adds delay.* Through the device model the CO2 rise reaches the 25 % threshold
  {fmt(delays.min(), 0)}–{fmt(delays.max(), 0)} s later than the modelled gas does: the datasheet's 60 s
  response plus the 5 s reading interval. A detector trained on firesight data learns this
  delay; a real SCD41 under a real fire shows it too.

## DelCo trainers: large fires and sensor saturation

The propane and furnishing fires in the Delaware County training structure reach 6–10 % CO2
(the analyser's CO2_A channel tops out near 10 %, so the true peaks may be higher) and
500–860 °C at the ceiling.

{table_md(delco, _DELCO_COLUMNS)}

* **SCD41 clamps.** Fed the measured CO2, the SCD41 model reports at most
  {fmt(float(delco['scd41_peak_ppm'].max()) if 'scd41_peak_ppm' in delco else float('nan'), 0)} ppm in every test — the
  datasheet's output limit — and reaches it {fmt(clamp_lag.min(), 0)}–{fmt(clamp_lag.max(), 0)} s
  after the gas does (its 60 s response). It also flags readings taken above its 60 °C
  operating limit (status 4) where the thermocouple at the sampling point says the gas is
  hotter: {fmt(100 * over_t.min(), 0)}–{fmt(100 * over_t.max(), 0)} % of the readings in these burns.
* **Lepton ranges.** The hottest ceiling-level thermocouple exceeds the Lepton's high-gain
  range ({fmt(lepton['high_gain'], 0)} °C) for most of every test and its low-gain range
  ({fmt(lepton['low_gain'], 0)} °C) for {fmt(low_gain_min.min(), 0)}–{fmt(low_gain_min.max(), 0)} minutes; the Lepton model (`sensors/lepton.py`)
  switches to low gain above {fmt(lepton['high_gain'], 0)} °C and saturates at
  {fmt(lepton['low_gain'], 0)} °C, as the real camera does. A hot layer is rarely that hot when
  a detector matters, but the synthetic data must not show a camera reading 700 °C.

**Zone model at a large fire (test 2 burn room).** 3.7 × 6.1 × 2.4 m, three propane burners
(415 + 387 + 94 kW, switched on at 5, 185 and 365 s, from the FDS input), open to the next
room through a 1 × 2 m doorway. firesight's zone model has no doorway flow, so it gets the
equivalent air exchange of Kawagoe's opening flow (0.5 A√H kg/s: {fmt(zone['ach'], 0)} air
changes per hour).

{table_md(zone_rows, _FAA_COLUMNS[1:])}

![DelCo comparison](img/validation_delco.png)

The upper-layer temperature peaks within {fmt(100 * abs(zt['peak_error_rel']), 0)} %
({fmt(zt['model_peak'] + zone['series']['measured_t_upper_c'][0], 0)} °C modelled against
{fmt(zt['measured_peak'] + zone['series']['measured_t_upper_c'][0], 0)} °C) and the model stays
bounded (layer depth at most {fmt(zone['model_max_layer_depth_m'], 2)} m of 2.4 m, CO2 at most
{fmt(zone['model_max_co2_ppm'] / 1e4, 1)} %). It cools more slowly than the real room once the
burners stop (its linings are a single lumped node; the doors opened at 420–600 s, which the
model does not know). The CO2 is {fmt(100 * abs(zc['peak_error_rel']), 0)} % too low: a
ventilation-limited burn room fills with near-stoichiometric products (~11.6 % CO2 for
propane), but the zone model dilutes the products with the full opening flow; its oxygen
limit (CFAST's, on the O2 the plume entrains from the lower layer) never cuts the burners below
{fmt(100 * zone['model_min_burning_fraction'], 0)} % of their rate here, as that flow
keeps the lower layer at {fmt(zone['model_min_lower_o2_pct'], 1)} % O2 or more. This does not matter for detection — the SCD41 clamps at
4 % — but firesight's scenarios must keep fires well-ventilated (see
[physics.md](physics.md), "Known limits").

{office_md}
## Accuracy criteria

Each criterion was stated before the comparison was run, from a published source; none
was widened to fit today's numbers. Where the model fails one, the row below says
**outside** and the integration test (`tests/integration/validation/`) requires exactly
the failures listed in `KNOWN_FAILURES` (`src/firesight/validation/criteria.py`): a row
that newly fails, or a listed one that passes again, fails the test. Peak and timing
criteria hold firesight's zone model to the accuracy of CFAST, NIST's zone model, on its
own validation set: the central 95 % of CFAST's model/experiment ratio M/E for the same
quantity (CFAST Validation Guide, NIST TN 1889v3, model-uncertainty statistics; the
distribution of ln(M/E) as in the FDS Validation Guide and NUREG-1824 Supplement 1).

{criteria_md}

**{n_ok} of {n_all} checks pass.**

{results_md}

{known_md}
"""
