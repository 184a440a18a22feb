"""Field windows of the learning agent persist behind the object-store port (a real local
folder store): a restarted agent holds the same windows and judges the same drift; the
store stays bounded (compaction), survives a compaction cut short and a damaged part, and a
retraining clears it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.objectstore import FsspecObjectStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.drift import TrainingReference
from firesight.agents.field_windows import FieldWindowStore
from firesight.agents.learning import LearningAgent, LearningSettings

PREFIX = "learning/field-windows"


class Refusing:
    def __call__(self, name, payload):
        raise AssertionError(f"no retraining expected, got {name}")


class FailingDeletes(FsspecObjectStore):
    """A folder store whose deletes fail (a compaction cut short after its base is written)."""

    def delete(self, key):
        raise OSError("delete refused")


def reference():
    rng = np.random.default_rng(0)
    return TrainingReference.from_table(pd.DataFrame({"a": rng.normal(0, 1, 2000), "b": rng.normal(10, 2, 2000)}),
                                        ["a", "b"])


def agent(tmp_path, objects, **settings):
    settings.setdefault("field_flush_s", 0.0)
    return LearningAgent(SQLiteMessageQueue(str(tmp_path / "queue.db")), SQLiteMetadataStore(str(tmp_path / "m.db")),
                         Refusing(), reference=reference, settings=LearningSettings(**settings), objects=objects)


def windows(rng, n, shift=0.0):
    return pd.DataFrame({"a": rng.normal(shift, 1, n), "b": rng.normal(10 + shift, 2, n), "label": "x"})


def test_a_restarted_agent_holds_the_same_windows_and_judges_the_same_drift(tmp_path):
    objects = FsspecObjectStore(str(tmp_path / "objects"))
    rng = np.random.default_rng(1)
    first = agent(tmp_path, objects, min_field_windows=300)
    for _ in range(4):
        first.record_field_windows("dev-1", windows(rng, 100, shift=3.0))
    first.record_field_windows("dev-2", windows(rng, 50))
    before, drift = first.field_windows(), first.drift()
    assert drift["judged"] and drift["drift"]
    assert len(objects.list(PREFIX)) == 5 and all("/day=" in k for k in objects.list(PREFIX))

    again = agent(tmp_path, objects, min_field_windows=300)
    assert_frame_equal(again.field_windows(), before)
    assert again.drift() == drift
    assert again.counters["field_windows_loaded"] == 450


def test_windows_wait_for_the_flush_interval_and_stop_writes_them(tmp_path):
    objects = FsspecObjectStore(str(tmp_path / "objects"))
    now = [1000.0]
    a = LearningAgent(SQLiteMessageQueue(":memory:"), SQLiteMetadataStore(":memory:"), Refusing(),
                      reference=lambda: None, clock=lambda: now[0], objects=objects,
                      settings=LearningSettings(field_flush_s=60.0, field_flush_rows=1000))
    rng = np.random.default_rng(2)
    a.record_field_windows("dev-1", windows(rng, 10))
    assert objects.list(PREFIX) == []              # not yet: batched
    now[0] += 61.0
    a.record_field_windows("dev-1", windows(rng, 10))
    assert len(objects.list(PREFIX)) == 1          # the interval passed: both batches in one part
    a.record_field_windows("dev-1", windows(rng, 5))
    a.stop()                                        # the rest is written at stop
    assert len(objects.list(PREFIX)) == 2
    assert len(agent(tmp_path, objects).field_windows()) == 25


def test_the_store_stays_bounded_and_keeps_the_newest_windows_in_order(tmp_path):
    objects = FsspecObjectStore(str(tmp_path / "objects"))
    a = agent(tmp_path, objects, max_windows_per_device=50, field_max_parts=3)
    for k in range(12):
        a.record_field_windows("dev-1", pd.DataFrame({"a": np.arange(k * 20, k * 20 + 20, dtype=float)}))
    keys = objects.list(PREFIX)
    bases = [k for k in keys if "/base-" in k]
    assert len(bases) == 1 and len(keys) <= 1 + 3, keys
    assert a.counters["field_compactions"] >= 2
    again = agent(tmp_path, objects, max_windows_per_device=50)
    assert again.field_windows()["a"].tolist() == [float(v) for v in range(190, 240)]


def test_a_compaction_cut_short_counts_nothing_twice(tmp_path):
    root = str(tmp_path / "objects")
    a = agent(tmp_path, FailingDeletes(root), field_max_parts=2)
    for k in range(4):
        a.record_field_windows("dev-1", pd.DataFrame({"a": [float(k)]}))
    assert a.counters["field_compaction_errors"] >= 1  # the base is written, the parts stay
    store = FieldWindowStore(FsspecObjectStore(root))
    assert store.load()["a"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert agent(tmp_path, FsspecObjectStore(root)).field_windows()["a"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_damaged_part_is_skipped_and_counted(tmp_path):
    objects = FsspecObjectStore(str(tmp_path / "objects"))
    a = agent(tmp_path, objects)
    a.record_field_windows("dev-1", pd.DataFrame({"a": [1.0, 2.0]}))
    objects.put_bytes(f"{PREFIX}/day=2030-01-01/part-{'9' * 20}.parquet", b"not parquet")
    again = agent(tmp_path, objects)
    assert again.field_windows()["a"].tolist() == [1.0, 2.0]
    assert again.counters["field_parts_unreadable"] == 1


def test_clearing_supersedes_everything_stored(tmp_path):
    objects = FsspecObjectStore(str(tmp_path / "objects"))
    store = FieldWindowStore(objects)
    store.append(pd.DataFrame({"thing": ["d"], "recorded_s": [1.0], "a": [1.0]}))
    store.clear()
    assert store.load().empty
    assert [k for k in objects.list(PREFIX) if "/part-" in k] == []
    store.append(pd.DataFrame({"thing": ["d"], "recorded_s": [2.0], "a": [2.0]}))
    assert store.load()["a"].tolist() == [2.0]
    with pytest.raises(Exception, match="thing"):
        store.append(pd.DataFrame({"a": [1.0]}))
