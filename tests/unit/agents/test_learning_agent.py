"""Learning agent: feedback collected once per id from the real durable queue, field windows
bounded per device, PSI drift against a training reference, the approved-version watch."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.drift import (PSI_FLOOR, FeatureReference, TrainingReference, drift_report,
                                    population_stability_index)
from firesight.agents.events import FEEDBACK_QUEUE
from firesight.agents.learning import (FEEDBACK_TABLE, ApprovedVersionWatch, LearningAgent, LearningSettings)
from firesight.errors import DataError


class Refusing:
    """A workflow runner for tests that must not retrain: calling it is a failure."""

    def __call__(self, name, payload):
        raise AssertionError(f"no retraining expected, got {name}")


def agent(tmp_path, reference=None, **settings):
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    store = SQLiteMetadataStore(str(tmp_path / "meta.db"))
    a = LearningAgent(queue, store, Refusing(), reference=lambda: reference,
                      settings=LearningSettings(**settings))
    return a, queue, store


def message(**kw):
    body = {"kind": "false_alarm", "thing": "dev-1", "alert_id": "a1", "at_s": 100.0, "by": "op"}
    body.update(kw)
    return json.dumps(body)


def test_feedback_is_stored_once_per_id_and_bad_messages_are_counted(tmp_path):
    a, queue, store = agent(tmp_path)
    queue.send(FEEDBACK_QUEUE, message())
    queue.send(FEEDBACK_QUEUE, message())  # the same verdict redelivered: same derived id
    queue.send(FEEDBACK_QUEUE, message(kind="missed_fire", alert_id="a2", family="tf2_smouldering_wood"))
    queue.send(FEEDBACK_QUEUE, message(kind="confirmed_fire", feedback_id="explicit-1", alert_id="a3"))
    queue.send(FEEDBACK_QUEUE, "{not json")
    queue.send(FEEDBACK_QUEUE, message(kind="praise"))
    queue.send(FEEDBACK_QUEUE, message(family="dragon_breath"))
    assert a.poll_feedback() == 3
    assert a.counters["feedback_duplicate"] == 1 and a.counters["feedback_rejected"] == 3
    assert queue.counts(FEEDBACK_QUEUE) == {"visible": 0, "in_flight": 0}
    items = {i["feedback_id"]: i for i in store.query(FEEDBACK_TABLE)}
    assert len(items) == 3 and "explicit-1" in items
    evidence = a.evidence()
    assert evidence["errors"] == 2 and evidence["feedback"] == {"false_alarm": 1, "missed_fire": 1,
                                                                 "confirmed_fire": 1}
    assert evidence["families"] == {"tf2_smouldering_wood": 1}
    assert evidence["reason"] is None  # 2 errors < threshold 5, no reference: no drift judged
    assert a.step()["retrained"] is False


def test_feedback_parse_errors_name_the_problem():
    with pytest.raises(DataError, match="kind must be one of"):
        from firesight.agents.learning import Feedback

        Feedback.from_message(message(kind="nope"))


def test_psi_matches_the_formula_on_a_hand_computed_case():
    """PSI = sum (a - e) ln(a / e) (Siddiqi 2006): training shares [0.5, 0.5] on one edge
    at 0, every field value above it; the empty bin and the missing bin floored at 1e-4."""
    ref = FeatureReference(edges=(0.0,), shares=(0.5, 0.5), missing_share=0.0)
    expected = (PSI_FLOOR - 0.5) * math.log(PSI_FLOOR / 0.5) + (1.0 - 0.5) * math.log(1.0 / 0.5)
    assert population_stability_index(ref, np.array([1.0, 2.0, 3.0])) == pytest.approx(expected, rel=1e-12)
    assert population_stability_index(ref, np.array([-1.0, 1.0])) == pytest.approx(0.0, abs=1e-12)


def test_drift_is_judged_only_on_enough_windows_and_names_the_shifted_feature(tmp_path):
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"a": rng.normal(0, 1, 5000), "b": rng.normal(10, 2, 5000)})
    reference = TrainingReference.from_table(train, ["a", "b"])
    assert reference.to_dict() == TrainingReference.from_dict(reference.to_dict()).to_dict()
    same = pd.DataFrame({"a": rng.normal(0, 1, 600), "b": rng.normal(10, 2, 600)})
    report = drift_report(reference, same)
    assert report["judged"] and not report["drift"] and report["max_psi"] < 0.1
    shifted = same.assign(b=same["b"] + 3.0)  # 1.5 standard deviations
    report = drift_report(reference, shifted)
    assert report["drift"] and report["drifted"] == ["b"] and report["psi"]["b"] > 0.25
    few = drift_report(reference, shifted.head(50))
    assert few["drifted"] == ["b"] and not few["judged"] and not few["drift"]
    # a sensor that stops reporting (NaN) drifts too
    dead = same.assign(a=np.nan)
    assert drift_report(reference, dead)["drifted"] == ["a"]


def test_field_windows_are_bounded_per_device_and_drive_the_evidence(tmp_path):
    rng = np.random.default_rng(4)
    reference = TrainingReference.from_table(pd.DataFrame({"a": rng.normal(0, 1, 2000)}), ["a"])
    a, _, _ = agent(tmp_path, reference=reference, max_windows_per_device=400, min_field_windows=300)
    with pytest.raises(DataError):
        a.record_field_windows("dev-1", [1, 2])
    held = a.record_field_windows("dev-1", pd.DataFrame({"a": rng.normal(5, 1, 500), "label": "x"}))
    assert held == 400  # the oldest 100 dropped
    evidence = a.evidence()
    assert evidence["reason"] == "drift" and evidence["drifted"] == ["a"]


def test_approved_version_watch_reports_each_change_once():
    class Registry:  # the registry's approved_version contract: newest Approved entry or None
        def __init__(self):
            self.entry = None

        def approved_version(self):
            return self.entry

    reg = Registry()
    watch = ApprovedVersionWatch(reg)
    assert watch.poll() is None
    reg.entry = {"version": "3", "status": "Approved"}
    assert watch.poll()["version"] == "3"
    assert watch.poll() is None
    reg.entry = {"version": "4", "status": "Approved"}
    assert watch.poll()["version"] == "4" and watch.current == "4"
