"""Real-data checks of the shipped detector: ordinary rooms stay quiet, real fires alarm.

The recordings live in ``<repo>/../shared/real-data`` (never copied here, never used for
training or for choosing a threshold). Missing data is a failure, not a skip, unless
``FIRESIGHT_ALLOW_SKIP=1``. How each recording becomes node input is documented in
:mod:`firesight.validation.realcheck` and docs/evaluation.md ("Real-data checks").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from firesight.detection.bundle import DetectorBundle
from firesight.detection.shipped_model import default_model_path
from firesight.validation.realcheck import DELCO_TESTS, FAA_TESTS, run_realcheck

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "real-data"
NEEDED = ("Occupancy_Office/datatest.txt", "Occupancy_Office/datatraining.txt", "SCD40_Rooms",
          "Lepton35_Indoor", "FAA_Cargo_Compartments", "DelCo_Trainers")


@pytest.fixture(scope="module")
def report() -> dict:
    missing = [n for n in NEEDED if not (REAL / n).exists()]
    if missing:
        if os.environ.get("FIRESIGHT_ALLOW_SKIP") == "1":
            pytest.skip(f"real data missing: {missing}")
        pytest.fail(f"real data missing under {REAL.resolve()}: {missing} (set FIRESIGHT_ALLOW_SKIP=1 to skip)")
    return run_realcheck(DetectorBundle.load(default_model_path()), REAL, seed=0)


def _checks(report, prefix):
    found = [c for c in report["checks"] if c["name"].startswith(prefix)]
    assert found, f"no {prefix} recordings were checked"
    return found


def test_no_office_day_alarms(report):
    """Each of the office log's 9 calendar days (2-10 Feb 2015: people arriving, leaving,
    heating, nights, a weekend, glitches), replayed at the SCD41's 5 s period: no alarm.
    (The stricter "no watch over a minute" fails on 10 Feb with the shipped model — a 61 s
    watch — and is reported by `firesight realcheck`, not asserted here.)"""
    days = _checks(report, "office")
    assert len(days) == 9
    assert sum(c["n_windows"] for c in days) > 500_000  # the whole week, at 1 s windows
    for c in days:
        assert c["variant"] == "gas"
        assert c["first_alarm_s"] is None, c


def test_real_fires_are_replayed_and_judged(report):
    """The NIST FAA cargo-bay fires and DelCo trainer fires, measured CO2 and gas
    temperature fed through the SCD41 device model, are all replayed (15 min of history,
    then the fire) and judged: a fire passes only if the model alarms. The fires do reach
    the CO2-rate-plus-temperature rule, so the data and the SCD41 model carry a fire signal;
    and the shipped SCD41-only variant (humidity left out, co-rise guard confirmed at its
    watch level, both chosen on synthetic data only) alarms on at least 12 of the 13 —
    a regression guard of the shipped model on real data, never a fitting target (FAA test
    4, the smallest fire, reaches no rule either)."""
    fires = _checks(report, "faa") + _checks(report, "delco")
    assert len(fires) == len(FAA_TESTS) + len(DELCO_TESTS)
    for c in fires:
        assert c["passed"] == (c["first_alarm_s"] is not None)
        assert c["duration_s"] > 900.0  # history plus fire
    rule = [c["baselines"]["baseline_rate_temperature"]["first_alarm_s"] for c in fires]
    assert sum(t is not None and t >= 0.0 for t in rule) >= len(fires) - 2
    alarmed = [c["name"] for c in fires if c["first_alarm_s"] is not None and c["first_alarm_s"] >= 0.0]
    assert len(alarmed) >= len(fires) - 1, alarmed


def test_the_report_sets_the_detector_beside_the_rules(report):
    """The baselines ran on the same windows; the report is JSON-serialisable."""
    for c in report["checks"]:
        expected = {"baseline_thermal_max"} if c["variant"] == "thermal" else \
            {"baseline_co2", "baseline_rate_temperature", "baseline_heat_ul521"}
        assert set(c["baselines"]) == expected
    json.dumps(report)
    assert report["passed"] is all(c["passed"] for c in report["checks"])
