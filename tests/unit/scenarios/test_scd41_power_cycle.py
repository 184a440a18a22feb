"""The ``scd41_faults`` family power-cycles the SCD41 in some scenarios, and the scenario's
readings then go through the device's warm-up (:mod:`firesight.sensors.scd41_warmup`).

Numbers pinned and where they come from: Sensirion *Datasheet SCD4x* v1.3, section 3.5
(periodic measurement: the first reading one 5 s interval after the start) and v1.4
table 1 (temperature response time tau63 = 120 s); the settled self-heating the offset
compensates, 4 C (section 3.6.1, the default temperature offset). The module starts at the
enclosure air's temperature, so its reading starts about 4 K low and climbs with tau.
"""

from __future__ import annotations

import numpy as np

from firesight.scenarios.families import SCD41_HISTORY_S, SCD41_POWER_ON_SPAN, get_family
from firesight.scenarios.simulate import scd41_true_fields, seed_sequences, simulate_scenario


def _params(index: int, seed: int = 7) -> dict:
    fam = get_family("scd41_faults")
    return fam.sample(np.random.default_rng(seed_sequences(seed, index)[0]), fam.natural_duration_s)


def test_some_scd41_fault_scenarios_power_cycle_the_device_within_the_stated_span():
    drawn = [_params(i)["scd41_history"].get("power_on_s") for i in range(40)]
    cycled = [t for t in drawn if t is not None]
    assert 10 <= len(cycled) <= 30  # probability 0.5 of 40 draws
    low, high = SCD41_POWER_ON_SPAN
    assert all(low * SCD41_HISTORY_S <= t <= high * 300.0 for t in cycled)
    # every other fault family's parameters come from the same draws as before (the power
    # cycle is drawn last): the lepton faults never carry one
    lepton = get_family("lepton_faults")
    assert all("power_on_s" not in lepton.sample(np.random.default_rng(seed_sequences(7, i)[0]), 300.0)
               ["scd41_history"] for i in range(10))


def test_a_power_cycled_scenario_reads_through_the_warm_up():
    def fits(p: dict) -> bool:  # periodic mode (full self-heating), powered on in the scenario, not stuck
        return (p["scd41_mode"] == "periodic" and (p["scd41_history"].get("power_on_s") or -1) > 30.0
                and p["faults"]["scd41"]["stuck_after_s"] is None)

    index = next(i for i in range(400) if fits(_params(i)))
    power_on = _params(index)["scd41_history"]["power_on_s"]
    sim = simulate_scenario("scd41_faults", seed=7, index=index, duration_s=None)
    r = sim.scd41[sim.scd41["status"] == 0]
    assert r["time_s"].min() >= power_on + 5.0 - 1e-6  # nothing before power-on + one interval
    t, _, temp, _ = scd41_true_fields(sim.built, sim.built.params["scd41_history"])
    error = r["temperature_c"].to_numpy() - np.interp(r["time_s"].to_numpy(), t, temp)
    early = error[r["time_s"].to_numpy() < power_on + 30.0].mean()
    late = error[r["time_s"].to_numpy() > r["time_s"].max() - 60.0].mean()
    # 4 K of self-heating still missing at first, (1 - e^(-(T-60)/120)) of it recovered by the end
    assert early < -2.5, early
    assert late - early > 4.0 * (1 - np.exp(-(r["time_s"].max() - 60.0 - power_on - 30.0) / 120.0)) - 1.0
