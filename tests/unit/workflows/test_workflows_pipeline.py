"""The training pipeline end to end on a tiny synthetic dataset: generate -> features ->
train -> evaluate beside the current model -> register as PendingManualApproval."""

from __future__ import annotations

import json

import pytest

from firesight.agents.drift import TrainingReference
from firesight.bootstrap import metadata_store
from firesight.config import load_config
from firesight.detection.shipped_model import load_bundle
from firesight.model_registry import PENDING, registry_for
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

    # Register again (a retry after a lost answer): the same version, nothing new registered
    from firesight.workflows.tasks import TaskContext, register

    again = register(TaskContext(config), {
        "run_id": out["run_id"], "trigger": {}, "evaluations": [out["candidate"], out["current"]],
        "trained": {"path": out["model"], "kind": "rf", "code_version": bundle.info["code_version"]},
        "datasets": [{"name": k, "urls": v} for k, v in record["datasets"].items()]})
    assert again["version"] == version
    assert len(registry_for(config).list_versions()) == 1


def test_quality_gate_routes_a_weak_candidate_past_register(tmp_path):
    """The definition's Choice: a candidate whose detection rate is below the gate, or not a
    number (no fire in the test set), is not registered. The data tasks are replaced by
    stand-ins returning fixed evaluations; Prepare, the Map, the Parallel and the Choice run
    as defined."""
    config = load_config(environ={}, home=tmp_path / "home")
    calls = []

    def task(name, result):
        def run(payload):
            calls.append(name)
            return result(payload) if callable(result) else result
        return run

    def evaluate(rate):
        return task("evaluate", lambda p: {"detection_rate": rate, "model": {"ref": p["model"]}})

    def stand_ins(rate):
        return {"arn:aws:states:::firesight:generate": task("generate", lambda p: {"name": p["name"], "urls": []}),
                "arn:aws:states:::firesight:features": task("features", lambda p: {"name": p["name"],
                                                                                   "features": f"{p['name']}.parquet"}),
                "arn:aws:states:::firesight:train": task("train", {"path": "model", "kind": "rf"}),
                "arn:aws:states:::firesight:evaluate": evaluate(rate),
                "arn:aws:states:::firesight:register": task("register", {"version": "9", "registered": True})}

    for rate, registered in ((0.4, False), (None, False), (0.5, True)):
        calls.clear()
        ex = run_workflow("training-pipeline", {"gate": {"min_detection_rate": 0.5}}, config=config,
                          tasks=stand_ins(rate))
        assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
        assert ex.output["registered"] is registered
        assert ("register" in calls) is registered
        assert calls.count("generate") == 2 and calls.count("evaluate") == 2


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
