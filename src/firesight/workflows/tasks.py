"""The tasks firesight's state machines call, keyed by their ``Resource`` ARN.

Each task takes the state's effective input (a JSON object) and returns a JSON object. A
Task resource ``arn:aws:states:::firesight:NAME`` runs :data:`TASKS` ``[NAME]`` locally;
deployed to Step Functions, the same names are Lambda functions (see
:func:`firesight.workflows.aws_definition`).

Training uses synthetic data only: every dataset a task generates comes from the physics
simulator (:func:`firesight.datasets.generate.generate_dataset`). Field data and operator
feedback decide *when* to retrain and *which families* to generate more of; they are never
fitted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firesight.config import Config, load_config
from firesight.errors import DataError, InvalidParameterError, require

#: Prefix of firesight task resources.
RESOURCE_PREFIX = "arn:aws:states:::firesight:"
#: Step Functions' nested execution integration (``.sync:2``: the child's output as JSON).
START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2"
#: Table of the metadata store holding one comparison record per registered version.
COMPARISONS_TABLE = "model_comparisons"
#: Defaults of a training run (overridden by the execution input).
RUN_DEFAULTS: dict[str, Any] = {
    "train": {"count": 54, "seed": 101, "duration_s": 300.0, "frame_rate_hz": 8.7, "families": None,
              "extra": {}},
    "test": {"count": 27, "seed": 202, "duration_s": 300.0, "frame_rate_hz": 8.7, "families": None},
    "model": {"kind": "ensemble", "seed": 0, "params": {}},
    "gate": {"min_detection_rate": 0.5},
    "workers": 1,
}


@dataclass
class TaskContext:
    """What tasks share: the configuration (home, registry, metadata store)."""

    config: Config

    @property
    def runs_dir(self) -> Path:
        return Path(self.config.home) / "workflows" / "runs"


def _merge(base: Mapping, update: Mapping) -> dict:
    out = dict(base)
    for key, value in (update or {}).items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), Mapping) and isinstance(value, Mapping) \
            else value
    return out


def prepare(ctx: TaskContext, payload: Mapping) -> dict:
    """Fill the run's defaults; name its folder and its two synthetic datasets."""
    request = dict(payload.get("request") or {})
    run_id = str(request.get("run_id") or payload.get("execution_id") or "run")
    spec = _merge(RUN_DEFAULTS, {k: v for k, v in request.items() if k in RUN_DEFAULTS})
    run_dir = Path(request.get("run_dir") or ctx.runs_dir / run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    datasets = []
    for name in ("train", "test"):
        d = dict(spec[name])
        require(int(d["count"]) >= 1, f"{name}.count", ">= 1", d["count"])
        datasets.append({"name": name, "url": str(run_dir / f"{name}-data"), "count": int(d["count"]),
                         "seed": int(d["seed"]), "duration_s": float(d["duration_s"]),
                         "frame_rate_hz": float(d["frame_rate_hz"]), "families": d.get("families"),
                         "extra": d.get("extra") or {}, "workers": int(spec["workers"])})
    return {"run_id": run_id, "run_dir": str(run_dir), "datasets": datasets, "model": spec["model"],
            "gate": spec["gate"], "trigger": request.get("trigger") or {}}


def generate(ctx: TaskContext, item: Mapping) -> dict:
    """Generate one synthetic dataset (resumable: a retry continues where it stopped), plus
    ``extra`` scenarios per family ({family: count}) in a second dataset beside it."""
    from firesight.datasets.generate import generate_dataset

    kwargs = dict(seed=int(item["seed"]), duration_s=float(item["duration_s"]),
                  frame_rate_hz=float(item["frame_rate_hz"]), workers=int(item.get("workers", 1)))
    urls = [item["url"]]
    out = generate_dataset(item["url"], count=int(item["count"]), families=item.get("families"), **kwargs)
    counts = {"base": out["count"]}
    for i, (family, n) in enumerate(sorted((item.get("extra") or {}).items())):
        if int(n) <= 0:
            continue
        url = f"{item['url']}-extra-{family}"
        extra = generate_dataset(url, count=int(n), families=[family],
                                 **{**kwargs, "seed": int(item["seed"]) * 1000 + 17 + i})
        urls.append(url)
        counts[family] = extra["count"]
    return {"name": item["name"], "urls": urls, "counts": counts}


def features(ctx: TaskContext, item: Mapping) -> dict:
    """Window features of each dataset of ``generate``'s output, as one parquet file."""
    import pandas as pd

    from firesight.features.dataset import compute_dataset_features, read_features, write_features

    parts = []
    for i, url in enumerate(item["urls"]):
        out = compute_dataset_features(url, f"{url}/features.parquet", workers=int(item.get("workers", 1)))
        part = read_features(out["path"])
        if i:  # ids restart in each dataset: keep them apart
            part["scenario_id"] = Path(url).name + "/" + part["scenario_id"].astype(str)
        parts.append(part)
    path = str(Path(item["urls"][0]).parent / f"{item['name']}-features.parquet")
    table = pd.concat(parts, ignore_index=True)
    write_features(table, path)
    return {"name": item["name"], "urls": item["urls"], "features": path, "windows": int(len(table)),
            "scenarios": int(table["scenario_id"].nunique())}


def _by_name(datasets: list, name: str) -> Mapping:
    for d in datasets:
        if d["name"] == name:
            return d
    raise DataError(f"no {name!r} dataset among the workflow's datasets")


def train(ctx: TaskContext, payload: Mapping) -> dict:
    """Train a detector bundle on the training features and store its training reference."""
    from firesight.agents.drift import TrainingReference
    from firesight.detection.data import read_feature_table
    from firesight.detection.training import feature_sets, train_bundle

    data = _by_name(payload["datasets"], "train")
    table = read_feature_table(data["features"])
    model = payload.get("model") or {}
    bundle = train_bundle(table, kind=str(model.get("kind", "ensemble")), params=model.get("params") or {},
                          seed=int(model.get("seed", 0)),
                          info={"data": {"urls": data["urls"], "kind": "synthetic"}, "step_s": 1.0,
                                "window_s": 60.0})
    path = bundle.save(Path(payload["run_dir"]) / "model")
    TrainingReference.from_table(table, feature_sets()["full"], data_ref=data["features"]).save(path)
    return {"path": str(path), "kind": bundle.info["kind"], "n_train_scenarios": bundle.info["n_train_scenarios"],
            "code_version": bundle.info["code_version"]}


def evaluate(ctx: TaskContext, payload: Mapping) -> dict:
    """EVALUATION.md metrics of one model on the test features.

    ``model`` is a model folder or ``"current"``: the newest approved version, else the
    shipped default (what the services run now).
    """
    from firesight.detection.data import read_feature_table
    from firesight.detection.scoring import evaluate_suite
    from firesight.model_registry import load_approved_model, load_model

    ref = payload["model"]
    bundle, where = load_approved_model(ctx.config) if ref == "current" else load_model(ref, ctx.config)
    table = read_feature_table(payload["features"])
    results = evaluate_suite(table, bundle, baselines={}, members=False)["results"]
    m = results[bundle.info.get("kind", "model")]
    return {"model": {"ref": ref, "source": where["source"], "version": where["version"]},
            "detection_rate": m["detection_rate"], "false_alarms_per_1000h": m["false_alarms_per_1000h"],
            "false_alarm_scenarios": m["false_alarm_scenarios"],
            "median_time_to_alarm_s": m["time_to_alarm_s"]["median"], "roc_auc": m["roc_auc"],
            "missed": [x["id"] if isinstance(x, Mapping) and "id" in x else x for x in m["missed"]],
            "n_scenarios": m.get("n_scenarios")}


def register(ctx: TaskContext, payload: Mapping) -> dict:
    """Register the candidate as PendingManualApproval and store its evaluation beside the
    current model's (one comparison record per version in :data:`COMPARISONS_TABLE`)."""
    from firesight.bootstrap import metadata_store
    from firesight.model_registry import PENDING, registry_for

    candidate, current = payload["evaluations"]
    model = payload["trained"]
    metrics = {f"test_{k}": v for k, v in candidate.items()
               if k in ("detection_rate", "false_alarms_per_1000h", "false_alarm_scenarios",
                        "median_time_to_alarm_s", "roc_auc") and v is not None}
    from firesight.detection.shipped_model import load_bundle

    registry = registry_for(ctx.config)
    data_ref = ",".join(_by_name(payload["datasets"], "train")["urls"])  # inside the run's own folder
    # idempotent: a retried Register (or a rerun of the same run) finds the version it made
    done = [v for v in registry.list_versions() if v.get("data_ref") == data_ref]
    if done:
        version = str(max(int(v["version"]) for v in done))
    else:
        bundle = load_bundle(model["path"])
        version = str(registry.register(
            model["path"], metrics=metrics, params={"kind": model["kind"], "run_id": payload["run_id"]},
            feature_names={v: bundle.feature_names(v) for v in bundle.variants},
            data_ref=data_ref, code_version=model["code_version"],
            description=f"workflow run {payload['run_id']}"))
    record = {"version": version, "status": PENDING, "run_id": payload["run_id"],
              "candidate": candidate, "current": current, "trigger": payload.get("trigger") or {},
              "datasets": {d["name"]: d["urls"] for d in payload["datasets"]}}
    metadata_store(ctx.config).put(COMPARISONS_TABLE, record, key="version")
    return {"version": version, "status": PENDING, "registered": True}


def plan_retraining(ctx: TaskContext, payload: Mapping) -> dict:
    """Turn the learning agent's evidence into a training run's input.

    False alarms on a nuisance family and missed fires of a fire family each add
    ``per_feedback`` scenarios of that family to the synthetic training set (at most
    ``max_extra`` per family); drifted features are recorded as the trigger. Nothing from
    the field is trained on.
    """
    from firesight.scenarios import FAMILIES

    evidence = dict(payload.get("evidence") or {})
    per = int(payload.get("per_feedback", 2))
    cap = int(payload.get("max_extra", 10))
    require(per >= 0 and cap >= 0, "per_feedback/max_extra", ">= 0", (per, cap))
    extra: dict[str, int] = {}
    for family, n in sorted((evidence.get("families") or {}).items()):
        if family not in FAMILIES:
            raise InvalidParameterError("evidence.families", f"families among {len(FAMILIES)} known", family)
        extra[family] = min(cap, per * int(n))
    base = _merge(RUN_DEFAULTS, dict(payload.get("base") or {}))
    request = {k: base[k] for k in RUN_DEFAULTS}
    request["train"] = {**request["train"], "extra": {k: v for k, v in extra.items() if v > 0}}
    request["trigger"] = {"reason": evidence.get("reason", "manual"), "feedback": evidence.get("feedback", {}),
                          "drifted": evidence.get("drifted", []), "extra_families": request["train"]["extra"]}
    if payload.get("run_id"):
        request["run_id"] = str(payload["run_id"])
    return request


def default_tasks(config: Config | None = None,
                  runner: Callable[[str, Any], Any] | None = None) -> dict[str, Callable[[Any], Any]]:
    """Resource ARN -> callable for every firesight task (bound to ``config``), plus the
    nested-execution integration when ``runner(name, input) -> output`` is given."""
    ctx = TaskContext((config or load_config()).resolved())
    fns = {"prepare": prepare, "generate": generate, "features": features, "train": train,
           "evaluate": evaluate, "register": register, "plan_retraining": plan_retraining}
    tasks: dict[str, Callable[[Any], Any]] = {
        RESOURCE_PREFIX + name: (lambda payload, fn=fn: fn(ctx, payload)) for name, fn in fns.items()}
    if runner is not None:
        tasks[START_EXECUTION_SYNC] = lambda payload: _start_execution(runner, payload)
    return tasks


def _start_execution(runner: Callable[[str, Any], Any], payload: Mapping) -> dict:
    arn = str(payload.get("StateMachineArn", ""))
    name = arn.rsplit(":", 1)[-1]
    output = runner(name, payload.get("Input"))
    return {"ExecutionArn": f"{arn}:local", "Status": "SUCCEEDED", "Output": output}
