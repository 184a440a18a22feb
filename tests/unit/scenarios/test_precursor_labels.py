"""The truth's ``precursor`` label: True exactly while a fire's fuel or apparatus is being
heated towards ignition (state still 0), for the EN 54 hotplate fires, the overloaded
cable and the home fires; False in every non-fire family.

EN 54-7 / ISO 7240-9 TF2 and TF7 heat beech wood on a hotplate: the wood pyrolyses (the
ignition) once the plate passes its onset temperature, so the plate has been heating from
ambient since its switch-on; an overloaded PVC cable heats resistively for minutes before
its insulation pyrolyses (Babrauskas, Ignition Handbook, Sections 7 and 14).
"""

from __future__ import annotations

import numpy as np
import pytest

from firesight.scenarios import FAMILIES, get_family
from firesight.scenarios.fires import precursor_flags, precursor_start_s

NON_FIRE = [f.name for f in FAMILIES.values() if f.label != "fire"]


def _built(family: str, seed: int, duration_s: float):
    fam = get_family(family)
    params = fam.sample(np.random.default_rng(seed), duration_s)
    return params, fam.build(params, np.random.default_rng(seed))


@pytest.mark.parametrize("family", ["tf2_smouldering_wood", "tf7_slow_smouldering"])
def test_hotplate_precursor_is_the_plate_heating_before_the_wood_pyrolyses(family):
    for seed in range(4):
        params, built = _built(family, seed, 900.0)
        ambient = params["room"]["ambient_temperature_c"]
        truth = built.truth
        t, pre = truth["time_s"].to_numpy(), truth["precursor"].to_numpy()
        plate = next(o for o in built.scene.objects if o.name == "hotplate")
        plate_c = np.interp(t, built.scene.time_s, np.asarray(plate.temperature_k, dtype=float) - 273.15)
        heating = (plate_c > ambient + 1e-6) & (t < built.ignition_time_s)
        np.testing.assert_array_equal(pre, heating)  # plate above ambient, wood not yet pyrolysing
        hp = params["fire"]["hotplate"]
        expected = params["fire"]["ignition_time_s"] - (hp["onset_c"] - ambient) / hp["rate_c_per_s"]
        assert precursor_start_s(params["fire"], ambient) == pytest.approx(expected)
        assert pre.any() and not pre[truth["state"].to_numpy() != 0].any()


def test_cable_precursor_is_the_overload_heating_before_pyrolysis():
    for seed in range(4):
        params, built = _built("cable_overheating", seed, 300.0)
        fire = params["fire"]
        truth = built.truth
        t, pre = truth["time_s"].to_numpy(), truth["precursor"].to_numpy()
        start = fire["ignition_time_s"] - fire["cable"]["overload_s"]
        np.testing.assert_array_equal(pre, (t >= start) & (t < built.ignition_time_s))
        cable = next(o for o in built.scene.objects if o.name == "cable")
        cable_c = np.interp(t, built.scene.time_s, np.asarray(cable.temperature_k, dtype=float) - 273.15)
        ambient = params["room"]["ambient_temperature_c"]
        inside = pre & (t > start + 1.0)
        assert (cable_c[inside] > ambient).all()  # the cable is visibly warming
        assert (cable_c[t < start] <= ambient + 1e-6).all()


def test_fires_without_a_heated_apparatus_have_no_precursor():
    for family in ("tf1_open_wood", "tf5_heptane_pool", "smoulder_to_flaming"):
        params, built = _built(family, 2, 120.0)
        assert precursor_start_s(params["fire"], 20.0) is None
        assert not built.truth["precursor"].any()


@pytest.mark.parametrize("family", NON_FIRE)
def test_non_fire_families_have_no_precursor(family):
    _, built = _built(family, 3, 60.0)
    assert built.truth["precursor"].dtype == bool and not built.truth["precursor"].any()


def test_precursor_ends_at_the_truths_ignition_even_if_it_relights():
    spec = {"ignition_time_s": 10.0, "precursor_start_s": 4.0}
    t = np.arange(0.0, 20.0)
    state = np.where((t >= 10) & (t < 14), 2, 0)  # burns, goes out at 14 s
    np.testing.assert_array_equal(precursor_flags(spec, t, state, 20.0), (t >= 4) & (t < 10))
    assert not precursor_flags(None, t, state, 20.0).any()
