"""Field windows from the analysis agent to the learning agent over the durable queue
``field-windows`` (a real SQLite queue and folder object store): which windows are sampled,
the bound, the message format, and at-least-once delivery with de-duplication: a window is
acknowledged only once written, a crash loses none and a redelivery counts once."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.objectstore import FsspecObjectStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.drift import TrainingReference
from firesight.agents.events import FIELD_WINDOWS_QUEUE
from firesight.agents.field_windows import FieldWindowSampler, field_window_message, parse_field_window
from firesight.agents.learning import LearningAgent, LearningSettings
from firesight.errors import DataError

T0_MS = 1_800_000_000_000


def offer(sampler, k, *, level="normal", changed=False, probability=0.1, thing="n1", a=None):
    return sampler.offer(site="s", thing=thing, ts_ms=T0_MS + 1000 * k, time_s=float(k),
                         features={"a": float(k) if a is None else a, "b": math.nan}, variant="full",
                         probability=probability, level=level, model_version="3", changed=changed)


def queued(queue):
    return [json.loads(m["body"]) for m in queue.receive(FIELD_WINDOWS_QUEUE, max_messages=10, visibility_timeout_s=0)]


def drain(queue):
    out = []
    while batch := queue.receive(FIELD_WINDOWS_QUEUE, max_messages=10, visibility_timeout_s=600):
        out += [json.loads(m["body"]) for m in batch]
    return out


def test_every_nth_window_and_the_windows_around_a_level_change_are_sent_once_each():
    queue = SQLiteMessageQueue(":memory:")
    sampler = FieldWindowSampler(queue, every_n=10, around_change=3)
    for k in range(1, 50):
        offer(sampler, k)
    offer(sampler, 50, level="watch", changed=True, probability=0.7)
    for k in range(51, 75):
        offer(sampler, k, level="watch", probability=0.7)
    offer(sampler, 75, level="watch", probability=math.nan)  # not scored: no evidence
    sent = [(m["time_s"], m["sampled"]) for m in drain(queue)]
    assert sent == [(10.0, "every_n"), (20.0, "every_n"), (30.0, "every_n"), (40.0, "every_n"),
                    (47.0, "before_change"), (48.0, "before_change"), (49.0, "before_change"),
                    (50.0, "change"), (51.0, "after_change"), (52.0, "after_change"), (53.0, "after_change"),
                    (60.0, "every_n"), (70.0, "every_n")]
    assert sampler.counts["sent"] == 13 and sampler.counts["sent:every_n"] == 6


def test_the_queue_is_bounded_and_what_is_not_sent_is_counted():
    queue = SQLiteMessageQueue(":memory:")
    now = [0.0]
    sampler = FieldWindowSampler(queue, every_n=1, around_change=0, max_queued=5, check_s=1.0,
                                 clock=lambda: now[0])
    for k in range(12):
        offer(sampler, k)
        now[0] += 0.5  # the depth is looked at every second: at most a few over the bound
    held = sum(queue.counts(FIELD_WINDOWS_QUEUE).values())
    assert 5 <= held <= 7 and sampler.counts["shed"] == 12 - held
    drain_all = queue.receive(FIELD_WINDOWS_QUEUE, max_messages=10)
    for m in drain_all:
        queue.delete(FIELD_WINDOWS_QUEUE, m["receipt_handle"])
    now[0] += 1.0
    offer(sampler, 100)  # drained: sending resumes
    assert sampler.counts["sent"] == held + 1


def test_messages_round_trip_and_malformed_ones_name_the_problem():
    body = field_window_message(site="s", thing="n1", ts_ms=T0_MS, time_s=3.0, features={"a": 1.5, "b": math.nan},
                                variant="gas", probability=0.25, level="watch", model_version="", sampled="change")
    row = parse_field_window(body)
    assert row["thing"] == "n1" and row["ts_ms"] == T0_MS and row["variant"] == "gas" and row["level"] == "watch"
    assert row["a"] == 1.5 and math.isnan(row["b"]) and row["sampled"] == "change"
    good = json.loads(body)
    for change, words in [({"thing": ""}, "thing"), ({"ts_ms": 1.5}, "ts_ms"), ({"probability": 2}, "probability"),
                          ({"level": "panic"}, "level"), ({"sampled": "all"}, "sampled"),
                          ({"features": {"a": "hot"}}, "feature 'a'"), ({"features": {"level": 1.0}}, "reserved")]:
        with pytest.raises(DataError, match=words):
            parse_field_window(json.dumps({**good, **change}))
    with pytest.raises(DataError, match="not JSON"):
        parse_field_window(b"{")


def reference():
    rng = np.random.default_rng(0)
    import pandas as pd

    return TrainingReference.from_table(pd.DataFrame({"a": rng.normal(0, 1, 2000)}), ["a"])


def learner(tmp_path, queue, clock=None, **settings):
    settings.setdefault("field_flush_s", 3600.0)
    settings.setdefault("field_flush_rows", 10_000)
    return LearningAgent(queue, SQLiteMetadataStore(str(tmp_path / "m.db")), lambda *a: None, reference=reference,
                         settings=LearningSettings(**settings), objects=FsspecObjectStore(str(tmp_path / "objects")),
                         **({"clock": clock} if clock else {}))


def test_windows_are_acknowledged_only_once_written_and_a_crash_loses_none(tmp_path):
    now = [1000.0]
    queue = SQLiteMessageQueue(str(tmp_path / "q.db"), clock=lambda: now[0])
    sampler = FieldWindowSampler(queue, every_n=1, around_change=0)
    for k in range(1, 31):
        offer(sampler, k, thing="n1" if k % 2 else "n2")
    first = learner(tmp_path, queue, field_hold_s=60.0)
    assert first.poll_field_windows() == 30
    held = first.field_windows()
    assert len(held) == 30 and first.health()["devices_with_windows"] == 2
    assert {"ts_ms", "variant", "probability", "level", "model_version", "sampled", "a"} <= set(held.columns)
    assert queue.counts(FIELD_WINDOWS_QUEUE) == {"visible": 0, "in_flight": 30}  # received, not yet written

    # the agent dies before writing: the messages come back after the hold, nothing is lost
    now[0] += 61.0
    second = learner(tmp_path, queue, field_hold_s=60.0)
    assert second.field_windows().empty
    assert second.poll_field_windows() == 30
    second.flush_field_windows()
    assert queue.counts(FIELD_WINDOWS_QUEUE) == {"visible": 0, "in_flight": 0}  # written: acknowledged

    # a restart reloads them; the same windows sent again count once
    third = learner(tmp_path, queue)
    assert len(third.field_windows()) == 30
    for k in range(1, 6):
        offer(FieldWindowSampler(queue, every_n=1, around_change=0), k, thing="n1" if k % 2 else "n2")
    assert third.poll_field_windows() == 0
    assert third.counters["field_windows_duplicate"] == 5
    assert queue.counts(FIELD_WINDOWS_QUEUE) == {"visible": 0, "in_flight": 0}


def test_a_redelivery_while_the_window_waits_replaces_its_receipt(tmp_path):
    now = [1000.0]
    queue = SQLiteMessageQueue(str(tmp_path / "q.db"), clock=lambda: now[0])
    offer(FieldWindowSampler(queue, every_n=1, around_change=0), 1)
    agent = learner(tmp_path, queue, field_hold_s=10.0)
    assert agent.poll_field_windows() == 1
    now[0] += 11.0  # the hold ran out (no extension here): the message is back
    assert agent.poll_field_windows() == 0 and agent.counters["field_windows_duplicate"] == 1
    agent.flush_field_windows()  # written: the newest receipt deletes it
    assert queue.counts(FIELD_WINDOWS_QUEUE) == {"visible": 0, "in_flight": 0}


def test_held_messages_are_kept_invisible_while_they_wait(tmp_path):
    now = [1000.0]
    queue = SQLiteMessageQueue(str(tmp_path / "q.db"), clock=lambda: now[0])
    offer(FieldWindowSampler(queue, every_n=1, around_change=0), 1)
    agent = learner(tmp_path, queue, clock=lambda: now[0], field_hold_s=30.0)
    agent.poll_field_windows()
    for _ in range(5):  # 100 s of steps, each past a third of the hold
        now[0] += 20.0
        agent._extend_holds()
        assert queue.counts(FIELD_WINDOWS_QUEUE) == {"visible": 0, "in_flight": 1}
    agent.stop()  # written at stop, then acknowledged
    assert queue.counts(FIELD_WINDOWS_QUEUE) == {"visible": 0, "in_flight": 0}


def test_malformed_messages_are_counted_and_dropped(tmp_path):
    queue = SQLiteMessageQueue(str(tmp_path / "q.db"))
    queue.send(FIELD_WINDOWS_QUEUE, '{"thing": "n1"}')
    queue.send(FIELD_WINDOWS_QUEUE, "not json")
    agent = learner(tmp_path, queue)
    assert agent.poll_field_windows() == 0
    assert agent.counters["field_windows_rejected"] == 2
    assert queue.counts(FIELD_WINDOWS_QUEUE) == {"visible": 0, "in_flight": 0}


def test_drift_is_judged_on_the_regular_sample_only(tmp_path):
    """Windows around level changes over-represent fires: they are kept, but PSI is computed
    on the every-N-th sample."""
    queue = SQLiteMessageQueue(str(tmp_path / "q.db"))
    sampler = FieldWindowSampler(queue, every_n=1, around_change=0)
    rng = np.random.default_rng(1)
    for k in range(1, 401):
        offer(sampler, k, a=float(rng.normal(0, 1)))
    agent = learner(tmp_path, queue, min_field_windows=300)
    agent.poll_field_windows()
    calm = agent.drift()
    assert calm["judged"] and not calm["drift"]
    change = FieldWindowSampler(queue, every_n=0, around_change=0)
    for k in range(401, 801):  # far-off windows, each one a level change
        change.offer(site="s", thing="n1", ts_ms=T0_MS + 1000 * k, time_s=float(k), features={"a": 8.0},
                     variant="full", probability=0.9, level="alarm", model_version="3", changed=True)
    agent.poll_field_windows()
    assert len(agent.field_windows()) == 800
    assert agent.drift()["n_windows"] == 400 and not agent.drift()["drift"]
