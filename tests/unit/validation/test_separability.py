"""The domination bound of firesight.validation.separability: which fire windows a detector
monotone in the evidence features can alarm on without alarming on any nuisance window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from firesight.errors import DataError
from firesight.validation.separability import (EVIDENCE, dominated, earliest_escape_s, nuisance_front,
                                               pareto_front, summarize, synthetic_fire_escapes)


def test_pareto_front_keeps_exactly_the_maximal_points():
    pts = np.array([[1, 5], [2, 2], [5, 1], [1, 1], [2, 2], [0, 5], [3, 3]], dtype=float)
    front = {tuple(p) for p in pareto_front(pts)}
    assert front == {(1.0, 5.0), (5.0, 1.0), (3.0, 3.0)}  # (2,2) and (1,1) under (3,3); (0,5) under (1,5)
    rng = np.random.default_rng(0)
    cloud = rng.normal(size=(400, 3))
    f = pareto_front(cloud)
    # every point is matched or exceeded by a front point, and no front point by another
    assert dominated(cloud, f).all()
    for i, p in enumerate(f):
        others = np.delete(f, i, axis=0)
        assert not np.any(np.all(others >= p, axis=1))


def test_earliest_escape_is_the_first_window_after_ignition_no_nuisance_matches():
    front = pareto_front(np.array([[100.0, 1.0], [10.0, 5.0]]))  # a person (CO2) and a heater (heat)
    t = np.array([-10.0, 0.0, 10.0, 20.0, 30.0, 40.0])
    fire = np.array([[500.0, 9.0],    # before ignition: never counted
                     [5.0, 0.5],      # under both nuisances
                     [50.0, 1.0],     # under the person
                     [np.nan, 9.0],   # not finite: skipped
                     [20.0, 2.0],     # more CO2 than the heater, more heat than the person: escapes
                     [200.0, 9.0]])
    assert earliest_escape_s(t, fire, front) == 30.0
    assert earliest_escape_s(t, fire, front, horizon_s=20.0) is None
    assert earliest_escape_s(t, fire, pareto_front(np.empty((0, 2)))) == 0.0  # no nuisances: at once


def _table(rows):
    return pd.DataFrame(rows, columns=["scenario_id", "family", "is_fire", "ignition_time_s", "time_s", *EVIDENCE])


def test_nuisances_and_synthetic_fires_come_from_a_features_table():
    table = _table([
        ("n1", "gas_stove", False, np.nan, 0.0, 300.0, 40.0, 2.0, 1.0),
        ("n1", "gas_stove", False, np.nan, 1.0, 320.0, 30.0, 2.5, 0.5),
        ("n2", "people", False, np.nan, 0.0, 150.0, 20.0, 0.1, 0.0),
        ("f1", "tf1", True, 10.0, 10.0, 10.0, 5.0, 0.1, 0.1),
        ("f1", "tf1", True, 10.0, 70.0, 400.0, 50.0, 3.0, 2.0),   # beyond every nuisance: 60 s
        ("f2", "tf7", True, 0.0, 0.0, 100.0, 10.0, 0.5, 0.1),     # never escapes
    ])
    front, info = nuisance_front(table)
    assert info == {"n_scenarios": 2, "n_windows": 3, "front_size": 2, "families": ["gas_stove", "people"]}
    escapes = synthetic_fire_escapes(table, front)
    assert escapes == [{"name": "f1", "family": "tf1", "escape_s": 60.0},
                       {"name": "f2", "family": "tf7", "escape_s": None}]
    assert summarize(escapes) == {"n": 2, "by_60s": 1, "by_120s": 1, "by_300s": 1, "median_escape_s": 60.0}
    only_people, _ = nuisance_front(table, ["people"])
    assert synthetic_fire_escapes(table, only_people)[1]["escape_s"] == 0.0  # warmer than people make
    with pytest.raises(DataError, match="tf9"):  # a typo would otherwise make every fire separable
        nuisance_front(table, ["people", "tf9"])
    with pytest.raises(DataError, match="lacks"):
        nuisance_front(table.drop(columns=["family"]))


def test_persistence_compares_fire_runs_with_the_floors_of_nuisance_runs():
    from firesight.validation.separability import run_floors

    # a nuisance that spikes for one window (a flambé's flare) and stays low otherwise
    nuisance = np.array([[10.0, 1.0], [300.0, 9.0], [12.0, 1.0], [11.0, 1.5], [np.nan, 0.0], [10.0, 1.0]])
    assert run_floors(nuisance, 1).tolist() == [[10, 1], [300, 9], [12, 1], [11, 1.5], [10, 1]]
    assert run_floors(nuisance, 3).tolist() == [[10, 1], [11, 1]]        # runs across the NaN are broken
    t = np.arange(0.0, 8.0)
    fire = np.array([[50.0, 3.0]] * 8)
    fire[4] = [5.0, 0.5]                                                 # one weak window breaks a run
    spike_front = pareto_front(run_floors(nuisance, 1))
    assert earliest_escape_s(t, fire, spike_front) is None              # the flare dominates every fire window
    floor_front = pareto_front(run_floors(nuisance, 3))
    assert earliest_escape_s(t, fire, floor_front, persistence=3) == 2.0
    assert earliest_escape_s(t, fire, floor_front, persistence=4) == 3.0
    assert earliest_escape_s(t, fire, floor_front, persistence=5) is None  # windows 5-7 are only 3 long
    with pytest.raises(DataError, match="persistence"):
        nuisance_front(_table([("n1", "gas", False, np.nan, 0.0, 1.0, 1.0, 1.0, 1.0)]), persistence=0)


def test_an_or_of_rules_reaches_each_fire_at_its_earliest_rule():
    from firesight.validation.separability import NODE, THERMAL, union_of_rules

    fast = [{"name": "a", "family": "tf1", "escape_s": 8.0}, {"name": "b", "family": "tf7", "escape_s": None},
            {"name": "c", "family": "tf3", "escape_s": None}]
    slow = [{"name": "a", "family": "tf1", "escape_s": 60.0}, {"name": "b", "family": "tf7", "escape_s": 299.0},
            {"name": "c", "family": "tf3", "escape_s": None}]
    assert [(e["name"], e["escape_s"]) for e in union_of_rules([fast, slow])] == [("a", 8.0), ("b", 299.0),
                                                                                 ("c", None)]
    assert fast[1]["escape_s"] is None  # the inputs are left as they were
    from firesight.features import FEATURE_NAMES

    assert set(THERMAL) <= set(NODE) <= set(FEATURE_NAMES)  # every evidence feature is one the models see
