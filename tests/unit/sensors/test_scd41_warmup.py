"""SCD41 power-on warm-up (optional, ``SCD41Sensor(power_on_s=...)``).

Sources (see :mod:`firesight.sensors.scd41_warmup`): Sensirion *Datasheet SCD4x* v1.3
(Sept. 2022) — section 3.1 (1000 ms from power-up to idle), section 3.5 (signal update
interval 5 s), section 3.6.1 (temperature offset, default 4 C, set "in thermal
equilibrium"), section 3.7.1 (operate > 3 minutes before a forced recalibration),
section 3.10 / 3.10.4 ("After a power cycle, the initial single shot reading should be
discarded"; the same after ``wake_up``); datasheet v1.4 tables 1–3 (accuracy ±(40 ppm +
5 % of reading), temperature tau63 120 s); Sensirion/arduino-snippets issue #5 (Sensirion,
2023-11-07: wait 5 minutes to equilibrate before FRC). No source gives the transient's
shape: it is a first-order warm-up with the module's tau, amplitudes stated a priori.
Real SCD40 logs in ../shared/real-data/SCD40_Rooms are used for a check only.
"""

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from firesight.errors import InvalidParameterError
from firesight.physics.psychrometrics import magnus_saturation_vapour_pressure_pa
from firesight.sensors import scd41_warmup as warmup
from firesight.sensors.scd41 import SCD41, SCD41_MODEL, SCD41Sensor

QUIET = {"co2_repeatability_ppm": 0.0, "temperature_repeatability_c": 0.0, "humidity_repeatability_rh": 0.0}
EXACT = {"co2_offset_max_ppm": 0.0, "co2_assembly_offset_max_ppm": 0.0, "co2_gain_max_fraction": 0.0,
         "temperature_error_max_c": 0.0, "humidity_error_max_rh": 0.0}
REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "real-data" / "SCD40_Rooms"


def _constant(duration_s=1800.0, co2=800.0, temp=21.0, rh=45.0, step=1.0):
    t = np.arange(0.0, duration_s + 1.0, step)
    return t, np.full(t.size, co2), np.full(t.size, temp), np.full(t.size, rh)


def _quiet(seed=0, **kw):
    return SCD41Sensor(rng=np.random.default_rng(seed), constants=QUIET, model=EXACT, asc_enabled=False, **kw)


def test_a_priori_parameters_are_the_datasheet_numbers():
    """tau = the datasheet temperature tau63 (120 s); CO2 amplitude = the accuracy bound
    40 ppm + 5 % (v1.4 tables 1–3); self-heating 4 C = the default temperature offset (3.6.1)."""
    assert warmup.SCD41_WARMUP["tau_s"] == SCD41["temperature_tau63_s"] == 120.0
    assert warmup.SCD41_WARMUP["co2_amplitude_offset_ppm"] == SCD41["co2_accuracy_offset_ppm"] == 40.0
    assert warmup.SCD41_WARMUP["co2_amplitude_fraction"] == SCD41["co2_accuracy_fraction"] == 0.05
    assert SCD41_MODEL["self_heating_periodic_c"] == SCD41["default_temperature_offset_c"] == 4.0


def test_default_is_settled_and_unchanged():
    """Without ``power_on_s`` the device reads exactly what it read before the warm-up
    existed (same draws, same readings): existing scenarios and datasets are unchanged."""
    fields = _constant(600.0)
    a = SCD41Sensor(rng=np.random.default_rng(7)).measure(*fields)
    b = SCD41Sensor(rng=np.random.default_rng(7), power_on_s=None).measure(*fields)
    for name in ("time_s", "co2_ppm", "temperature_c", "humidity_rh", "status"):
        assert_allclose(getattr(a, name), getattr(b, name))
    # construction takes no extra draws from the caller's generator
    r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
    SCD41Sensor(rng=r1)
    SCD41Sensor(rng=r2, power_on_s=0.0)
    assert r1.random() == r2.random()


@pytest.mark.parametrize("mode", ["periodic", "low_power"])
def test_temperature_climbs_to_its_settled_reading_with_the_module_tau(mode):
    """A cold start reads ambient − self-heating at power-on and climbs as
    ``dT_sh (1 − exp(−t/120 s))`` (lumped module, datasheet tau63 120 s): 63 % of the
    self-heating at 120 s, within 0.1 C of settled by ~5 tau."""
    fields = _constant()
    cold = _quiet(mode=mode, power_on_s=0.0)
    r = cold.measure(*fields)
    settled = _quiet(mode=mode).measure(*fields)
    dt_sh = cold.self_heating_c
    expected = settled.temperature_c - dt_sh * np.exp(-r.time_s / 120.0)
    assert_allclose(r.temperature_c, expected, atol=0.011)  # both rounded to 0.01 C
    # first reading one interval (5 s / 30 s) after power-on, nearly the whole deficit left
    assert r.time_s[0] == cold.interval_s
    assert_allclose(settled.temperature_c[0] - r.temperature_c[0], dt_sh * np.exp(-cold.interval_s / 120.0),
                    atol=0.011)
    i120 = np.searchsorted(r.time_s, 120.0)  # 63 % of the self-heating reached at tau
    assert_allclose(settled.temperature_c[0] - r.temperature_c[i120], (1.0 - 0.632) * dt_sh, atol=0.011)
    assert abs(r.temperature_c[r.time_s >= 600.0] - settled.temperature_c[0]).max() < 0.1


def test_humidity_keeps_the_vapour_while_the_module_warms():
    """The vapour is unchanged: reported RH × p_ws(reported T) is the true vapour pressure
    at every reading (Magnus, Sensirion humidity note), so the cold first readings read
    humid and converge to the settled RH."""
    fields = _constant(rh=45.0)
    r = _quiet(power_on_s=0.0).measure(*fields)
    vapour = r.humidity_rh / 100.0 * magnus_saturation_vapour_pressure_pa(r.temperature_c)
    assert_allclose(vapour, 0.45 * magnus_saturation_vapour_pressure_pa(21.0), rtol=0.002)
    assert r.humidity_rh[0] > 45.0 * 1.2 and abs(r.humidity_rh[-1] - 45.0) < 0.05


@pytest.mark.parametrize("level", [450.0, 1100.0, 3000.0])
def test_co2_starts_one_accuracy_bound_off_and_converges(level):
    """The first reading (5 s after power-on, datasheet 3.5) is off by about the accuracy
    bound (40 ppm + 5 %), the deviation the datasheet tells to discard (3.10); it decays
    with tau = 120 s: at 3 min (the FRC's minimum operating time, 3.7.1) it is 22 % of
    that, inside the accuracy bound; by 10 min it is below 1 ppm."""
    fields = _constant(co2=level)
    sensor = _quiet(power_on_s=0.0)
    r = sensor.measure(*fields)
    base = _quiet().measure(*fields).co2_ppm
    dev = r.co2_ppm - base
    bound = 40.0 + 0.05 * base
    assert sensor.warmup_sign in (1.0, -1.0)
    assert_allclose(dev, sensor.warmup_sign * bound * np.exp(-r.time_s / 120.0), atol=1.0)
    assert abs(dev[0]) > 0.9 * bound[0]
    i180 = np.searchsorted(r.time_s, 180.0)
    assert abs(dev[i180]) < 0.25 * bound[i180]
    assert np.all(np.abs(dev[r.time_s >= 600.0]) <= 1.0)


def test_sign_is_per_device_and_both_signs_occur():
    """No source gives the sign: both occur, about half each over 200 devices, and a
    device keeps its own."""
    signs = np.array([SCD41Sensor(rng=np.random.default_rng(s), power_on_s=0.0).warmup_sign for s in range(200)])
    assert 70 < (signs > 0).sum() < 130
    assert SCD41Sensor(rng=np.random.default_rng(5)).warmup_sign == SCD41Sensor(
        rng=np.random.default_rng(5), power_on_s=10.0).warmup_sign


def test_power_on_inside_the_record_starts_readings_there_and_asc_counts_from_it():
    """Powered on at 300 s: no readings before 305 s (first reading one interval after the
    start, datasheet 3.5), the warm-up counts from 300 s, and the ASC initial period (44 h,
    datasheet 3.7) ends 44 h after power-on."""
    t = np.arange(0.0, 46 * 3600.0 + 1.0, 60.0)
    fields = (t, np.full(t.size, 420.0), np.full(t.size, 21.0), np.full(t.size, 45.0))
    sensor = SCD41Sensor(rng=np.random.default_rng(1), constants=QUIET, power_on_s=300.0)
    r = sensor.measure(*fields)
    assert r.time_s[0] == 305.0 and np.all(np.diff(r.time_s) == 5.0)
    assert [c[0] for c in r.asc_corrections] == [300.0 + 44 * 3600.0]
    early = _quiet(power_on_s=300.0).measure(*_constant(900.0))
    assert early.temperature_c[0] < 21.0 - 3.5
    # powered on before the record: partly warmed at the first reading
    late = _quiet(power_on_s=-240.0).measure(*_constant(900.0))
    assert_allclose(late.temperature_c[0] - 21.0, -4.0 * np.exp(-245.0 / 120.0), atol=0.006)


def test_power_on_is_validated():
    with pytest.raises(InvalidParameterError):
        SCD41Sensor(rng=np.random.default_rng(0), power_on_s=float("nan"))


def test_warm_up_is_vectorised_and_fast():
    """A week at 1 s with warm-up costs no more than without it (within 50 %)."""
    import time

    fields = _constant(7 * 86400.0)
    timings = []
    for power_on in (None, 0.0):
        sensor = SCD41Sensor(rng=np.random.default_rng(0), power_on_s=power_on)
        sensor.measure(*_constant(60.0))
        t0 = time.perf_counter()
        sensor.measure(*fields)
        timings.append(time.perf_counter() - t0)
    assert timings[1] < 1.5 * timings[0] + 0.05, timings


# --- check against the real SCD40 logs (never fitted) -------------------------------------

def _t63(t, y, first, rise):
    hit = np.nonzero(y >= first + 0.63 * rise)[0] if rise > 0 else np.nonzero(y <= first + 0.63 * rise)[0]
    return float(t[hit[0]]) if hit.size else np.inf


def _warmup_metrics(t, co2, temp):
    """(temperature rise [C], temperature t63 [s], CO2 first-minute excess [ppm], CO2
    half-decay time [s]), settled = median over 600–1200 s."""
    settled = (t >= 600.0) & (t <= 1200.0)
    t_set, c_set = float(np.median(temp[settled])), float(np.median(co2[settled]))
    rise = t_set - float(temp[0])
    excess = co2 - c_set
    first_minute = float(np.mean(excess[t <= 60.0]))
    smooth = np.convolve(excess, np.ones(3) / 3.0, mode="same")
    below = np.nonzero((t > 0.0) & (np.abs(smooth) <= 0.5 * abs(first_minute)))[0]
    return rise, _t63(t, temp, float(temp[0]), rise), first_minute, float(t[below[0]]) if below.size else np.inf


def _check(session):
    """CHECK, not a fit. Criterion stated before the logs were examined for this test (the
    brief's summary — session_A ~240 ppm above its settled level in its first minute, its
    temperature rising ~3 C in 6 min — was known; the model's parameters come from the
    datasheet above and were fixed first).

    Log time 0 is taken as the first periodic reading, 5 s after power-on (assumption: the
    AirScout32 start-up is not documented); the module starts at ambient (cold start).
    Settled = median over 600–1200 s of the log (>= 5 tau). The same four metrics are
    computed on the log and on a noise-free model device (power-on at −5 s, constant true
    fields at the log's settled CO2 and temperature), sampled at the log's own times:

    (a) temperature rise T_settled − T_first: real / model within [1/2, 2];
    (b) temperature t63 (first time T passes T_first + 0.63 rise): within [1/3, 3];
    (c) |CO2 first-minute mean excess| over settled (the sign is not modelled): within [1/3, 3];
    (d) CO2 half-decay time (3-reading running mean of the excess first <= half the
        first-minute excess): within [1/3, 3].
    """
    from firesight.validation.realcheck import read_scd40_session

    paths = sorted(REAL.glob(f"{session}_*.csv"))
    assert paths, f"no {session} in {REAL}"
    f = read_scd40_session(paths[0])
    t = f["time_s"].to_numpy()
    real = _warmup_metrics(t, f["co2_ppm"].to_numpy(), f["temperature_c"].to_numpy())
    settled = (t >= 600.0) & (t <= 1200.0)
    level, temp = float(f["co2_ppm"][settled].median()), float(f["temperature_c"][settled].median())
    fine = np.arange(-5.0, t[-1] + 6.0, 1.0)
    sensor = _quiet(power_on_s=-5.0)
    sensor.warmup_sign = float(np.sign(real[2]) or 1.0)  # compare magnitudes only
    r = sensor.measure(fine, np.full(fine.size, level), np.full(fine.size, temp), np.full(fine.size, 45.0))
    model = _warmup_metrics(t, np.interp(t, r.time_s, r.co2_ppm), np.interp(t, r.time_s, r.temperature_c))
    ratios = [real[0] / model[0], real[1] / model[1], abs(real[2]) / abs(model[2]), real[3] / model[3]]
    print(session, "real", np.round(real, 2), "model", np.round(model, 2), "ratios", np.round(ratios, 2))
    bounds = [(0.5, 2.0), (1 / 3, 3.0), (1 / 3, 3.0), (1 / 3, 3.0)]
    return real, model, ratios, [lo <= x <= hi for x, (lo, hi) in zip(ratios, bounds)]


def test_warm_up_against_the_real_scd40_log_session_a():
    """The check (criterion in :func:`_check`) passes for session_A: temperature rise 3.74 C
    vs 3.83 C modelled (x0.98), t63 222 s vs 122 s (x1.8: the logger's board warms more
    slowly than the module alone), CO2 first-minute excess +191 ppm vs 70 ppm modelled
    (x2.7: the a-priori amplitude is low, near the edge of the factor 3), CO2 half-decay
    111 s vs 111 s (x1.0)."""
    real, model, ratios, ok = _check("session_A")
    assert all(ok), ("temperature rise, t63, CO2 excess, CO2 half-decay", real, model, ratios)


def test_warm_up_check_fails_for_session_b_which_is_no_cold_start():
    """The same check FAILS for session_B (reported, not tuned; ratios 0.13, 4.9, 4.3, 5.9).
    session_B starts 2.8 min after session_A ended, at 25.1 C where A ended, and its
    temperature stays flat (+0.5 C in 10 min): no cold start, so the criterion's
    precondition is not met; its CO2 climbs from ~900 to ~1,900 ppm with the room, so its
    "settled" window is not settled either. This test pins that outcome: if it ever
    passes the check, look again (the suite counts xfail as a failure, hence no xfail)."""
    real, model, ratios, ok = _check("session_B")
    assert not any(ok), ratios
    assert real[0] < 1.0 < model[0]  # no cold-start temperature rise in the log


def test_scenario_parameter_switches_the_warm_up_on(monkeypatch):
    """The hook the lead turns on: ``params["scd41_history"]["power_on_s"]`` (scenario clock
    [s]) reaches the device in ``simulate_scenario``; absent, the readings are unchanged."""
    from firesight.scenarios import simulate

    real_get = simulate.get_family

    class PoweredOn:
        def __init__(self, fam):
            self.fam, self.natural_duration_s = fam, fam.natural_duration_s

        def sample(self, rng, duration_s):
            params = self.fam.sample(rng, duration_s)
            params["scd41_history"]["power_on_s"] = 0.0
            return params

        def build(self, *a, **kw):
            return self.fam.build(*a, **kw)

    settled = simulate.simulate_scenario("toaster", seed=3, index=0, duration_s=240.0).scd41
    monkeypatch.setattr(simulate, "get_family", lambda name: PoweredOn(real_get(name)))
    cold = simulate.simulate_scenario("toaster", seed=3, index=0, duration_s=240.0).scd41
    interval = float(np.diff(settled["time_s"]).min())
    assert cold["time_s"].iloc[0] == interval  # nothing before power-on at t = 0
    same = settled.set_index("time_s").loc[cold["time_s"]]
    heating = 4.0 if interval == 5.0 else 4.0 * 3.2 / 15.0
    t = cold["time_s"].to_numpy()
    deficit = same["temperature_c"].to_numpy() - cold["temperature_c"].to_numpy()
    for window in (t <= 30.0, t > 200.0):  # window means: the two runs' noise draws differ
        assert_allclose(deficit[window].mean(), (heating * np.exp(-t[window] / 120.0)).mean(), atol=0.1)
    assert deficit[t <= 30.0].mean() > 0.8 * heating
