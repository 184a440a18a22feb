"""The office comparison's statistics on made-up logs with known answers (no real data)."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from firesight.errors import DataError, NotFoundError
from firesight.validation.office import (
    OFFICE_FILES,
    real_office_statistics,
    summarise,
    synthetic_statistics,
)


def _write_log(folder, frame: pd.DataFrame) -> None:
    """The Occupancy Detection format, the rows split over the two files."""
    out = pd.DataFrame({"Date": frame["time"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                        "Temperature": frame["temperature_c"], "Humidity": 30.0, "Light": 0.0,
                        "CO2": frame["co2_ppm"], "HumidityRatio": 0.005,
                        "Occupancy": frame["occupied"].astype(int)})
    half = len(out) // 2
    out.iloc[:half].to_csv(folder / OFFICE_FILES[0], index=False)
    out.iloc[half:].to_csv(folder / OFFICE_FILES[1], index=False)


def _monday_log(arrival: str, rate_ppm_min: float, drift_k_per_h: float) -> pd.DataFrame:
    """A Monday minute by minute: empty, then people from ``arrival`` with CO2 rising at
    ``rate_ppm_min``; temperature rising steadily at ``drift_k_per_h``."""
    time = pd.date_range("2015-02-02 05:00", "2015-02-02 19:00", freq="1min")
    t_min = (time - time[0]).total_seconds().to_numpy() / 60.0
    a = (pd.Timestamp(arrival) - time[0]).total_seconds() / 60.0
    occupied = t_min >= a
    co2 = 450.0 + np.where(occupied, (t_min - a) * rate_ppm_min, 0.0)
    temp = 20.0 + drift_k_per_h * t_min / 60.0
    return pd.DataFrame({"time": time, "co2_ppm": co2, "temperature_c": temp, "occupied": occupied})


def test_real_statistics_find_the_arrival_its_rate_and_the_drift(tmp_path):
    _write_log(tmp_path, _monday_log("2015-02-02 08:30", rate_ppm_min=5.0, drift_k_per_h=0.6))
    stats = real_office_statistics(tmp_path)
    assert stats["arrival_times"] == ["2015-02-02 08:30:00"]
    assert_allclose(stats["arrival_rates_ppm_min"], [5.0], rtol=1e-9)
    # working day 08:00-18:00: 60 windows of 10 min, each drifting 0.6 K/h
    assert stats["drift_k_per_h"].size == 60
    assert_allclose(stats["drift_k_per_h"], 0.6, rtol=1e-6)
    assert stats["co2_ppm"].min() == 450.0


def test_an_arrival_after_a_short_absence_is_not_counted(tmp_path):
    log = _monday_log("2015-02-02 08:30", rate_ppm_min=5.0, drift_k_per_h=0.0)
    # someone in the room 20 min before the arrival: the room was not empty for 30 min
    log.loc[(log["time"] >= "2015-02-02 08:05") & (log["time"] < "2015-02-02 08:10"), "occupied"] = True
    _write_log(tmp_path, log)
    stats = real_office_statistics(tmp_path)
    # 08:05 follows three empty hours and counts; 08:30 follows 20 empty minutes and does not
    assert stats["arrival_times"] == ["2015-02-02 08:05:00"]
    assert_allclose(stats["arrival_rates_ppm_min"], [0.0], atol=1e-9)


def test_an_arrival_with_a_gap_in_its_window_is_not_counted(tmp_path):
    log = _monday_log("2015-02-02 08:30", rate_ppm_min=5.0, drift_k_per_h=0.0)
    log = log[~((log["time"] > "2015-02-02 08:32") & (log["time"] < "2015-02-02 08:36"))]
    _write_log(tmp_path, log)
    assert real_office_statistics(tmp_path)["arrival_times"] == []


def test_reading_errors_are_typed(tmp_path):
    with pytest.raises(NotFoundError):
        real_office_statistics(tmp_path)
    (tmp_path / OFFICE_FILES[0]).write_text("a,b\n1,2\n")
    (tmp_path / OFFICE_FILES[1]).write_text("a,b\n1,2\n")
    with pytest.raises(DataError):
        real_office_statistics(tmp_path)


def test_summarise_percentiles_and_empty():
    s = summarise(np.arange(101.0))
    assert (s["n"], s["min"], s["p25"], s["median"], s["p95"], s["max"]) == (101, 0.0, 25.0, 50.0, 95.0, 100.0)
    assert summarise([])["n"] == 0 and np.isnan(summarise([])["median"])


def test_people_gathering_arrivals_raise_co2():
    """Two synthetic gatherings from the generator: people walk into an empty room, so each
    has an arrival, and exhaled CO2 makes the rate positive."""
    stats = synthetic_statistics("people_gathering", seed=3, count=2)
    assert stats["scenarios"] == 2
    assert stats["arrivals"] >= 1
    assert np.all(stats["arrival_rates_ppm_min"] > 0)
    assert stats["drift_k_per_h"].size == 4  # two 10-min windows per 20-min scenario
