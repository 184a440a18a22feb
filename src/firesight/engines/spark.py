"""Spark engine: run the same per-scenario jobs as the local engine on Spark.

``local[*]`` (every core of this machine) by default, or any master URL (``spark://...``,
``yarn`` on EMR, a Glue job's session) — the path from one machine to a cluster without
changing the jobs. A job is a plain picklable function of one item (a scenario id, a
scenario spec) that reads and writes the dataset layout itself through fsspec; Spark only
distributes the items and brings the (small) results back, in item order, one partition
at a time, so the driver's memory holds one partition's results at once.

Typical use::

    for row in run_scenarios_spark(functools.partial(job, url), ids, master="local[*]"):
        ...

References
----------
1. Apache Spark documentation, "RDD Programming Guide" (``parallelize``, ``mapPartitions``,
   ``toLocalIterator``) and "Submitting Applications" (master URLs).
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from firesight.errors import FiresightError, InvalidParameterError, require

T = TypeVar("T")
R = TypeVar("R")

#: Spark settings for these jobs: no web UI, quiet logs, Python workers reused.
SPARK_DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.python.worker.reuse": "true",
    "spark.driver.memory": "2g",
    "spark.sql.shuffle.partitions": "4",
}
#: Extra settings in local mode: driver and executors on the loopback interface only.
SPARK_LOCAL_CONF = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def spark_session(master: str = "local[*]", *, app_name: str = "firesight", conf: dict[str, str] | None = None):
    """A Spark session on ``master`` (the active one if a session already runs).

    The Python workers run this interpreter (``sys.executable``) unless ``PYSPARK_PYTHON``
    says otherwise, so they import the same firesight.
    """
    require(isinstance(master, str) and master != "", "spark_master", "a Spark master URL such as local[*]", master)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a declared dependency
        raise InvalidParameterError("engine", "spark with pyspark installed", "spark") from exc
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    local = SPARK_LOCAL_CONF if master.startswith("local") else {}
    for key, value in {**SPARK_DEFAULT_CONF, **local, **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        with warnings.catch_warnings():  # pyspark warns that pandas 3 is newer than it tested
            warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                    category=FutureWarning)
            session = builder.getOrCreate()
    except Exception as exc:  # JVM start failures surface as several py4j / runtime types
        raise FiresightError(f"could not start Spark on master {master!r}: {type(exc).__name__}: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _run_partition(fn: Callable[[Any], Any], rows: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, bool, Any]]:
    """Apply ``fn`` to each ``(index, item)``; firesight errors come back as values so the
    driver can raise them as they are (not buried in a JVM stack trace)."""
    for index, item in rows:
        try:
            yield index, True, fn(item)
        except FiresightError as exc:
            try:
                pickle.loads(pickle.dumps(exc))
                error: Exception = exc
            except Exception:
                error = FiresightError(str(exc))
            yield index, False, error


def run_scenarios_spark(fn: Callable[[T], R], items: Iterable[T], *, master: str = "local[*]",
                        app_name: str = "firesight", spark: Any = None,
                        max_partitions: int = 10_000) -> Iterator[R]:
    """Yield ``fn(item)`` for every item, in item order, computed on Spark.

    Parameters
    ----------
    fn : callable
        A picklable function (top-level function or ``functools.partial`` of one).
    items : iterable
        Picklable items, one Spark task each (up to ``max_partitions`` partitions).
    master : str
        Spark master URL; ``local[*]`` runs on every core of this machine.
    spark : SparkSession, optional
        A session to use (kept open). Without it the active session is used (kept open), or
        one is started for this call and stopped when the iteration ends.

    Raises
    ------
    FiresightError
        The error a job raised (e.g. :class:`firesight.errors.DataError`), re-raised on the
        driver; the remaining jobs are abandoned.
    """
    indexed = list(enumerate(items))
    if not indexed:
        return
    own = False
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:
            spark = spark_session(master, app_name=app_name)
            own = True
    try:
        context = spark.sparkContext
        slices = max(1, min(len(indexed), max_partitions))
        rdd = context.parallelize(indexed, numSlices=slices)
        results = rdd.mapPartitions(lambda rows: _run_partition(fn, rows))
        expected = 0
        for index, ok, value in results.toLocalIterator(prefetchPartitions=True):
            if index != expected:  # parallelize keeps order; anything else is a Spark bug
                raise FiresightError(f"Spark returned item {index} where {expected} was expected")
            if not ok:
                raise value
            expected += 1
            yield value
    finally:
        if own:
            spark.stop()
