"""The training pipeline end to end on a tiny synthetic dataset: generate -> features ->
train -> evaluate beside the current model -> register as PendingManualApproval."""

from __future__ import annotations

import json

import pytest

from firesight.agents.drift import TrainingReference
from firesight.bootstrap import metadata_store
from firesight.config import load_config
from firesight.detection.models import load_bundle
from firesight.registry import PENDING, registry_for
from firesight.workflows import run_workflow
from firesight.workflows.tasks import COMPARISONS_TABLE

FAMILIES = ["tf1_open_wood", "tf5_heptane_pool", "gas_stove_cooking", "empty_room"]


def tiny_request(**gate):
    data = {"duration_s": 30.0, "frame_rate_hz": 1.0, "families": FAMILIES}
    return {"train": {"count": 4, "seed": 3, **data}, "test": {"count": 3, "seed": 4, **data},
            "model": {"kind": "rf", "params": {"rf": {"n_estimators": 20}}},
            "gate": {"min_detection_rate": 0.0, **gate}}


@pytest.mark.slow
def test_pipeline_registers_a_pending_version_with_its_comparison(tmp_path):
    config = load_config(environ={}, home=tmp_path / "home")
    ex = run_workflow("training-pipeline", tiny_request(), config=config)
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    out = ex.output
    assert out["registered"] is True
    version = out["registration"]["version"]
    entries = {v["version"]: v for v in registry_for(config).list_versions()}
    assert entries[version]["status"] == PENDING
    assert entries[version]["metrics"]["test_roc_auc"] == pytest.approx(out["candidate"]["roc_auc"])
    # the candidate's evaluation beside the current model's (shipped default: nothing approved)
    record = metadata_store(config).get(COMPARISONS_TABLE, version)
    assert record["candidate"]["model"]["source"] == "path"
    assert record["current"]["model"]["source"] == "default"
    assert record["candidate"]["n_scenarios"] == record["current"]["n_scenarios"] == 3
    # the model folder loads and carries its training reference for drift checks
    bundle = load_bundle(out["model"])
    assert bundle.info["kind"] == "rf" and bundle.info["n_train_scenarios"] == 4
    reference = TrainingReference.load(out["model"])
    assert reference is not None and "thermal_max_c" in json.dumps(reference.to_dict())
    # the Map ran Generate and Features for both datasets; Parallel ran both evaluations
    entered = [e["state"] for e in ex.history if e["type"] == "StateEntered"]
    assert entered.count("Generate") == 2 and entered.count("Features") == 2
    assert {"EvaluateCandidate", "EvaluateCurrent", "QualityGate", "Register"} <= set(entered)

    # the same run again is idempotent: Register finds the version it already made
    again = run_workflow("training-pipeline", {**tiny_request(), "run_id": out["run_id"]}, config=config)
    assert again.output["registration"]["version"] == version
    assert len(registry_for(config).list_versions()) == 1

    # an impossible quality gate: the Choice takes the NotRegistered branch
    gated = run_workflow("training-pipeline", {**tiny_request(min_detection_rate=1.5), "run_id": out["run_id"]},
                         config=config)
    assert gated.status == "SUCCEEDED"
    assert gated.output["registered"] is False
    assert "NotRegistered" in [e["state"] for e in gated.history if e["type"] == "StateEntered"]
    assert len(registry_for(config).list_versions()) == 1


def test_bad_input_fails_the_execution_with_the_task_error(tmp_path):
    """A training set of zero scenarios is refused by Prepare (InvalidParameterError, no catcher there):
    the execution fails with the task's error name and cause."""
    config = load_config(environ={}, home=tmp_path / "home")
    request = tiny_request()
    request["train"]["count"] = 0
    ex = run_workflow("training-pipeline", request, config=config)
    assert ex.status == "FAILED"
    assert ex.error == "InvalidParameterError"
    assert "train.count" in ex.cause
