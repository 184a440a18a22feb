"""Enough operator feedback makes the learning agent run the retraining workflow for real:
a new synthetic training set with more of the families the operators named, a candidate
registered as PendingManualApproval beside the current model; after approval the watch
reports the new version."""

from __future__ import annotations

import json

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.events import FEEDBACK_QUEUE
from firesight.agents.learning import (FEEDBACK_TABLE, RUNS_TABLE, ApprovedVersionWatch, LearningAgent,
                                       LearningSettings, running_model_reference)
from firesight.bootstrap import metadata_store
from firesight.config import load_config
from firesight.model_registry import APPROVED, PENDING, registry_for
from firesight.workflows import workflow_runner
from firesight.workflows.tasks import COMPARISONS_TABLE

FAMILIES = ["tf1_open_wood", "tf5_heptane_pool", "gas_stove_cooking", "empty_room"]


@pytest.mark.slow
def test_feedback_threshold_runs_the_retraining_workflow(tmp_path):
    config = load_config(environ={}, home=tmp_path / "home")
    data = {"duration_s": 30.0, "frame_rate_hz": 1.0, "families": FAMILIES}
    settings = LearningSettings(feedback_threshold=2, per_feedback=1, base_request={
        "train": {"count": 4, "seed": 5, **data}, "test": {"count": 3, "seed": 6, **data},
        "model": {"kind": "rf", "params": {"rf": {"n_estimators": 15}}}, "gate": {"min_detection_rate": 0.0}})
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    store = SQLiteMetadataStore(str(tmp_path / "learning.db"))
    agent = LearningAgent(queue, store, workflow_runner(config),
                          reference=lambda: running_model_reference(config), settings=settings)
    for i in range(2):
        queue.send(FEEDBACK_QUEUE, json.dumps({"kind": "false_alarm", "thing": f"kitchen-{i}", "alert_id": f"a{i}",
                                               "at_s": 10.0 + i, "family": "gas_stove_cooking"}))
    result = agent.step()
    assert result["retrained"] is True, result
    assert result["registered"] is True and result["status"] == PENDING
    version = result["version"]
    registry = registry_for(config)
    assert {v["version"]: v["status"] for v in registry.list_versions()} == {version: PENDING}
    # the plan added 1 gas-stove scenario per false alarm naming it, to synthetic data only
    assert result["trigger"]["extra_families"] == {"gas_stove_cooking": 2}
    comparison = metadata_store(config).get(COMPARISONS_TABLE, version)
    assert comparison["trigger"]["reason"] == "feedback"
    assert any("extra-gas_stove_cooking" in url for url in comparison["datasets"]["train"])
    assert comparison["current"]["model"]["source"] == "default"
    # the feedback is used up and the run recorded: the next step does not retrain again
    assert all(i["used_by"] == result["run_id"] for i in store.query(FEEDBACK_TABLE))
    assert store.get(RUNS_TABLE, result["run_id"])["status"] == "SUCCEEDED"
    assert agent.step()["retrained"] is False

    # an operator approves: the watch (what the analysis agent polls) reports it once, and the
    # running model is now the candidate, with its training reference for drift checks
    watch = ApprovedVersionWatch(registry)
    assert watch.poll() is None
    registry.approve(version)
    entry = watch.poll()
    assert entry["version"] == version and entry["status"] == APPROVED
    assert watch.poll() is None
    reference = running_model_reference(config)
    assert reference is not None and reference.n_windows > 0
