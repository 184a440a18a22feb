"""The Spark engine in local mode: same features file as the local engine, ordered
results, and job errors raised on the driver as they are. One Spark session for the module
(starting the JVM takes tens of seconds)."""

from __future__ import annotations

import functools
import hashlib
import shutil

import pytest

from firesight.errors import DataError, FiresightError, NotFoundError

pytestmark = [pytest.mark.spark, pytest.mark.slow]

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # `make system-deps` installs it
    pytest.skip("Spark needs Java", allow_module_level=True)


@pytest.fixture(scope="module")
def spark():
    from firesight.engines.spark import spark_session

    session = spark_session("local[2]", app_name="firesight-tests")
    yield session
    session.stop()


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_spark_features_equal_local(spark, tiny_dataset, tmp_path):
    from firesight.features.dataset import compute_dataset_features, read_features

    local = compute_dataset_features(tiny_dataset, str(tmp_path / "local.parquet"), engine="local")
    on_spark = compute_dataset_features(tiny_dataset, str(tmp_path / "spark.parquet"), engine="spark",
                                        spark_master="local[2]")
    assert on_spark["windows"] == local["windows"] > 0
    assert _sha(local["path"]) == _sha(on_spark["path"])
    assert read_features(on_spark["path"])["scenario_id"].nunique() == 3


def test_results_come_back_in_item_order(spark):
    from firesight.engines.spark import run_scenarios_spark

    items = list(range(11, 0, -1))
    assert list(run_scenarios_spark(functools.partial(pow, exp=2), items, spark=spark)) == [i * i for i in items]
    assert list(run_scenarios_spark(abs, [], spark=spark)) == []


def test_job_errors_are_raised_on_the_driver(spark, tiny_dataset, tmp_path):
    """A job's DataError reaches the caller as a DataError with its message, not as a JVM
    stack trace; the session stays usable."""
    from firesight.engines.spark import run_scenarios_spark
    from firesight.features.dataset import scenario_feature_table

    job = functools.partial(scenario_feature_table, str(tmp_path / "no-such-dataset"))
    with pytest.raises(DataError, match="not a firesight dataset"):
        list(run_scenarios_spark(job, ["s00000-x"], spark=spark))
    job = functools.partial(scenario_feature_table, tiny_dataset)
    with pytest.raises(NotFoundError, match="is not in"):
        list(run_scenarios_spark(job, ["s99999-missing"], spark=spark))
    assert list(run_scenarios_spark(abs, [-1, 2], spark=spark)) == [1, 2]


def test_bad_master_is_a_clear_error():
    from firesight.engines.spark import spark_session

    with pytest.raises(FiresightError, match="spark_master"):
        spark_session("")


def test_spark_generate_writes_the_same_bytes_as_local(spark, tmp_path):
    """`firesight generate --engine spark` runs the same scenario jobs on Spark and commits
    byte-identical files (the layout is the contract; the engine must not show in it)."""
    import os

    from firesight.datasets import generate_dataset

    args = dict(count=2, seed=5, duration_s=30.0, frame_rate_hz=2.0)
    local = generate_dataset(str(tmp_path / "local"), workers=1, **args)
    on_spark = generate_dataset(str(tmp_path / "spark"), engine="spark", spark_master="local[2]", **args)
    assert sorted(on_spark["generated"]) == sorted(local["generated"]) and len(local["generated"]) == 2

    def files(root):
        out = {}
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                out[os.path.relpath(path, root)] = _sha(path)
        return out

    assert files(tmp_path / "spark") == files(tmp_path / "local")


def test_generate_rejects_unknown_engine(tmp_path):
    from firesight.datasets import generate_dataset
    from firesight.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="engine"):
        generate_dataset(str(tmp_path / "x"), count=1, seed=1, duration_s=60.0, engine="dask")
