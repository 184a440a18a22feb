"""``firesight validate`` command line and the comparison metrics."""

import math

import numpy as np
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from firesight.cli import app
from firesight.errors import NotFoundError
from firesight.validation.metrics import compare_series, time_to_rise_s


def test_validate_rejects_missing_folder(tmp_path):
    result = CliRunner().invoke(app, ["validate", "--real-data", str(tmp_path / "nope"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert isinstance(result.exception, NotFoundError)
    assert "FAA_Cargo_Compartments" in str(result.exception)
    assert not (tmp_path / "out" / "validation.md").exists()


def test_validate_rejects_negative_seed(tmp_path):
    result = CliRunner().invoke(app, ["validate", "--seed", "-1", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "--seed" in str(result.exception)


def test_time_to_rise_interpolates():
    t = np.array([0.0, 10.0, 20.0])
    assert_allclose(time_to_rise_s(t, [0.0, 2.0, 4.0], 3.0), 15.0)
    assert math.isnan(time_to_rise_s(t, [0.0, 1.0, 1.0], 3.0))


def test_compare_series_known_errors():
    t = np.arange(0.0, 100.0)
    measured = np.clip(t - 20.0, 0, None)
    model = np.clip(t - 30.0, 0, None) * 1.5
    m = compare_series(t, measured, model)
    assert_allclose(m["measured_peak"], 79.0)
    assert_allclose(m["model_peak"], 1.5 * 69.0)
    assert_allclose(m["peak_error_rel"], (1.5 * 69.0 - 79.0) / 79.0)
    # 25 % of 79 = 19.75: measured at 39.75 s, model at 30 + 19.75/1.5 = 43.17 s
    assert_allclose(m["t_rise_error_s"], 30 + 19.75 / 1.5 - 39.75)
    assert m["rmse"] > 0
