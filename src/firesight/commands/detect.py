"""Commands of the detection area: train, tune, evaluate, replay, models list|approve|reject."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from firesight._atomic import write_text_atomic
from firesight.errors import DataError, InvalidParameterError
from firesight.ops.audit import record as audit_record

console = Console(width=160)


def write_json_atomic(path: str | os.PathLike, payload: dict) -> Path:
    """Write ``payload`` as JSON to ``path`` atomically (:func:`firesight._atomic.write_text_atomic`)."""
    text = json.dumps(payload, indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    return write_text_atomic(path, text + "\n")


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True), transient=True)


def _load_table(data: str, features: Optional[str], workers: int, step_s: float, window_s: float):
    from firesight.commands._progress import scenario_progress
    from firesight.detection.data import load_feature_table

    with scenario_progress("features (local)") as progress:
        return load_feature_table(data, features=features, step_s=step_s, window_s=window_s,
                                  workers=workers, progress=progress)


FEATURES_HELP = ("Precomputed features of the --data dataset (`firesight features` output); "
                 "default: computed now.")


def _split_list(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _read_params(path: Optional[Path]) -> dict:
    if path is None:
        return {}
    try:
        payload = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such parameters file") from exc
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    params = payload.get("best_params", payload) if isinstance(payload, dict) else None
    if not isinstance(params, dict):
        raise DataError(f"{path}: expected a JSON object of per-kind parameters")
    return params


def _metrics_row(name: str, m: dict) -> list[str]:
    def fmt(v, spec="{:.1f}"):
        return "—" if v is None else spec.format(v)

    tta = m["time_to_alarm_s"]
    return [name, m.get("kind", ""), fmt(m["detection_rate"] and 100 * m["detection_rate"]),
            fmt(tta["median"]), fmt(tta["p90"]), fmt(m["false_alarms_per_1000h"]),
            str(m["false_alarm_scenarios"]), fmt(m["roc_auc"], "{:.3f}"), str(len(m["missed"]))]


def results_markdown(results: dict) -> str:
    """The evaluation table as Markdown (models, degraded modes, baselines side by side)."""
    head = ["detector", "kind", "detection %", "TTA median s", "TTA p90 s", "flaming in view: median s",
            "smouldering: median s", "FA /1000 h", "FA scenarios", "ROC AUC", "missed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def fmt(v, spec="{:.1f}"):
        return "—" if v is None else spec.format(v)

    for name, m in results.items():
        row = _metrics_row(name, m)
        by_class = m["time_to_alarm_s"].get("by_class", {})
        fl = by_class.get("flaming_in_view", by_class.get("flaming", {})).get("median")
        sm = by_class.get("smouldering", {}).get("median")
        lines.append("| " + " | ".join(row[:5] + [fmt(fl), fmt(sm)] + row[5:]) + " |")
    return "\n".join(lines) + "\n"


def print_results(results: dict) -> None:
    table = Table(title="scenario-level evaluation")
    for col in ("detector", "kind", "detection %", "TTA median s", "TTA p90 s", "FA /1000 h",
                "FA scenarios", "ROC AUC", "missed"):
        table.add_column(col)
    for name, m in results.items():
        table.add_row(*_metrics_row(name, m))
    console.print(table)


def train(
    data: str = typer.Option(..., "--data", help="Dataset folder/URL or features .parquet."),
    features: Optional[str] = typer.Option(None, "--features", help=FEATURES_HELP),
    out: Path = typer.Option(..., "--out", help="Model folder to write (replaced atomically)."),
    kind: str = typer.Option("ensemble", "--kind", help="rf, xgb, lstm or ensemble (default ensemble)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every detector's generator (default 0)."),
    params: Optional[Path] = typer.Option(None, "--params", help="JSON of per-kind parameters "
                                          "(e.g. the output of `firesight tune`); default: built-in."),
    test_fraction: float = typer.Option(0.0, "--test-fraction", help="Fraction [0-1) of each family's "
                                        "scenarios held out for testing (default 0: train on all)."),
    holdout_families: Optional[str] = typer.Option(None, "--holdout-families", help="Comma-separated "
                                                   "families kept out of training (default none)."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the scenario split (default 0)."),
    register: bool = typer.Option(False, "--register/--no-register", help="Register the model in the "
                                  "MLflow registry as PendingManualApproval (default no)."),
    workers: int = typer.Option(1, "--workers", help="Processes computing features (default 1)."),
    step_s: float = typer.Option(1.0, "--step-s", help="Window step [s] (default 1)."),
    window_s: float = typer.Option(60.0, "--window-s", help="Thermal window [s] (default 60)."),
) -> None:
    """Train a detector and its camera-only and SCD41-only variants; write a model folder."""
    from firesight.detection.scoring import evaluate_suite
    from firesight.detection.splits import split_scenarios
    from firesight.detection.training import train_bundle

    table, desc = _load_table(data, features, workers, step_s, window_s)
    if desc.get("kind") == "dataset":
        from firesight.detection.labels import add_gas_detectable

        table = add_gas_detectable(table, str(data))  # SCD41-only labels from the truth
    holdout = _split_list(holdout_families)
    split_info = None
    test = None
    if test_fraction > 0 or holdout:
        split = split_scenarios(table, test_fraction=test_fraction, holdout_families=holdout,
                                seed=split_seed)
        split_info = split.describe(table.groupby("scenario_id")["family"].first().astype(str))
        split_info["test_ids"] = list(split.test_ids)
        test = table[table["scenario_id"].astype(str).isin(split.test_ids)]
        table = table[table["scenario_id"].astype(str).isin(split.train_ids)]
    if desc.get("features_stamp") is None:
        console.print(f"[yellow]{features or data}: the features carry no version stamp; `evaluate` will "
                      "not be able to check that later features match this model[/]")
    info = {"data": desc, "split": split_info, "step_s": desc["step_s"], "window_s": desc["window_s"],
            "features_stamp": desc["features_stamp"]}
    with _progress() as bar:
        task = bar.add_task("training variants", total=3)
        bundle = train_bundle(table, kind=kind, params=_read_params(params), seed=seed, info=info,
                              progress=lambda v: bar.update(task, advance=1, description=f"training {v}"))
    metrics = {}
    if test is not None and len(test):
        results = evaluate_suite(test, bundle, members=False)["results"]
        print_results(results)
        main = results[bundle.info["kind"]]
        metrics = {"test_detection_rate": main["detection_rate"],
                   "test_false_alarms_per_1000h": main["false_alarms_per_1000h"],
                   "test_false_alarm_scenarios": main["false_alarm_scenarios"],
                   "test_median_time_to_alarm_s": main["time_to_alarm_s"]["median"],
                   "test_roc_auc": main["roc_auc"]}
        bundle.info["test_metrics"] = metrics
    path = bundle.save(out)
    console.print(f"model written to {path} ({_folder_mb(path):.2f} MB)")
    if register:
        from firesight.model_registry import registry_for

        version = registry_for().register(
            path, metrics=metrics, params={"kind": kind, "seed": seed, **_flat(bundle.info["params"])},
            feature_names={v: bundle.feature_names(v) for v in bundle.variants},
            data_ref=str(data), code_version=bundle.info["code_version"])
        console.print(f"registered as version {version} (PendingManualApproval)")


def _folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def tune(
    data: str = typer.Option(..., "--data", help="Dataset folder/URL or features .parquet."),
    features: Optional[str] = typer.Option(None, "--features", help=FEATURES_HELP),
    trials: int = typer.Option(20, "--trials", help="Optuna trials (default 20)."),
    kind: str = typer.Option("xgb", "--kind", help="rf, xgb or lstm (default xgb)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampler, split and detectors (default 0)."),
    out: Path = typer.Option(Path("tuned-params.json"), "--out", help="Where to write the best "
                             "parameters (JSON, for `firesight train --params`; default tuned-params.json)."),
    workers: int = typer.Option(1, "--workers", help="Processes computing features (default 1)."),
) -> None:
    """Tune detector and alert-policy parameters with Optuna on the scenario-level objective."""
    from firesight.detection.tuning import tune as run_tune

    table, desc = _load_table(data, features, workers, 1.0, 60.0)
    with _progress() as bar:
        task = bar.add_task("trials", total=trials)
        result = run_tune(table, kind=kind, trials=trials, seed=seed,
                          progress=lambda n, v: bar.update(task, advance=1))
    result["data"] = desc
    write_json_atomic(out, result)
    console.print(f"best objective {result['best_value']:.4f} {result['best_metrics']}; written to {out}")


def evaluate(
    data: str = typer.Option(..., "--data", help="Dataset folder/URL or features .parquet."),
    features: Optional[str] = typer.Option(None, "--features", help=FEATURES_HELP),
    report: Path = typer.Option(..., "--report", help="Report JSON to write (atomically)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model folder, 'default' or "
                                        "'registry:VERSION' (default: approved version, else shipped)."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Folder for eval_*.png figures (default none)."),
    table_md: Optional[Path] = typer.Option(None, "--table", help="Also write the results table as "
                                            "Markdown to this file (default none)."),
    split: str = typer.Option("all", "--split", help="'all' scenarios, or 'test': only the model's "
                              "held-out test scenarios (default all)."),
    workers: int = typer.Option(1, "--workers", help="Processes computing features (default 1)."),
) -> None:
    """Judge the model, its degraded modes and the baselines per scenario (EVALUATION.md)."""
    from firesight.detection.scoring import evaluate_suite
    from firesight.model_registry import load_model

    if split not in ("all", "test"):
        raise InvalidParameterError("split", "'all' or 'test'", split)
    bundle, ref = load_model(model)
    table, desc = _load_table(data, features, workers, float(bundle.info.get("step_s", 1.0)),
                              float(bundle.info.get("window_s", 60.0)))
    from firesight.detection.data import check_features_stamp

    check_features_stamp(bundle.info, desc, str(features or data))
    if split == "test":
        ids = (bundle.info.get("split") or {}).get("test_ids")
        if not ids:
            raise InvalidParameterError("split", "'all' (this model has no held-out test split)", split)
        table = table[table["scenario_id"].astype(str).isin(ids)]
        if len(table) == 0:
            raise DataError(f"{data}: holds none of the model's test scenarios")
    suite = evaluate_suite(table, bundle)
    results = suite["results"]
    per = suite["table"].groupby("scenario_id").first()
    desc.update({"n_scenarios": int(len(per)), "n_fire": int(per["ignition_time_s"].notna().sum()),
                 "families": {str(k): int(v) for k, v in per["family"].value_counts().sort_index().items()},
                 "split": split})
    payload = {"dataset": desc,
               "model": {"ref": model or "approved-or-default", **ref, "kind": bundle.info.get("kind"),
                         "train": {k: bundle.info.get(k) for k in ("n_train_scenarios", "train_families",
                                                                   "seed", "code_version", "split")}},
               "detectors": results}
    payload.update(results[bundle.info.get("kind", "model")])
    if plots is not None:
        from firesight.detection.plots import plot_evaluation

        payload["plots"] = plot_evaluation(results, suite["scores"], suite["table"], plots,
                                           title=f"Time to alarm per fire family ({len(per)} scenarios)")
    write_json_atomic(report, payload)
    if table_md is not None:
        write_text_atomic(table_md, results_markdown(results))
    print_results(results)
    console.print(f"report written to {report}")


def policy(
    data: str = typer.Option(..., "--data", help="Dataset folder/URL or features .parquet the model "
                             "was trained on with --test-fraction (its held-out part is the validation split)."),
    features: Optional[str] = typer.Option(None, "--features", help=FEATURES_HELP),
    model: str = typer.Option(..., "--model", help="Model folder trained with --test-fraction."),
    out: Path = typer.Option(..., "--out", help="Parameters JSON to write (for `firesight train --params`)."),
    workers: int = typer.Option(1, "--workers", help="Processes computing features (default 1)."),
    nuisances: Optional[str] = typer.Option(None, "--nuisances", help="Features .parquet of more synthetic "
                                            "nuisance scenarios (never the test set) on which the co-rise guard "
                                            "must add no false alarm either."),
) -> None:
    """Choose each variant's alert policy on the model's validation split (docs/detection.md)."""
    from firesight.detection.data import check_features_stamp
    from firesight.detection.alerts import AlertPolicy
    from firesight.detection.guard import CONFIRM_GRID
    from firesight.detection.policy import POLICY_GRID, choose_guards, choose_policies
    from firesight.model_registry import load_model

    bundle, ref = load_model(model)
    ids = (bundle.info.get("split") or {}).get("test_ids")
    if not ids:
        raise InvalidParameterError("--model", "a model trained with --test-fraction (a validation split)", model)
    table, desc = _load_table(data, features, workers, float(bundle.info.get("step_s", 1.0)),
                              float(bundle.info.get("window_s", 60.0)))
    check_features_stamp(bundle.info, desc, str(features or data))
    table = table[table["scenario_id"].astype(str).isin(ids)]
    if len(table) == 0:
        raise DataError(f"{data}: holds none of the model's validation scenarios")
    extra = []
    if nuisances:
        extra_table, extra_desc = _load_table(nuisances, None, workers, float(bundle.info.get("step_s", 1.0)),
                                              float(bundle.info.get("window_s", 60.0)))
        check_features_stamp(bundle.info, extra_desc, str(nuisances))
        extra = [extra_table]
    result = choose_policies(bundle, table, extra_tables=extra)
    guards = choose_guards(bundle, table, {v: AlertPolicy.from_dict(r["chosen"]["policy"])
                                           for v, r in result.items()}, extra_tables=extra)
    payload = {"policies": {v: r["chosen"]["policy"] for v, r in result.items()},
               "guards": {v: g["guard"] for v, g in guards.items() if g["guard"] is not None},
               "guard_selection": {"rule": "lowest confirmation level, not below the variant's watch "
                                           "level, adding no false-alarm scenario to the unguarded policy, on "
                                           "the validation split and on the extra nuisance scenarios",
                                   "nuisances": nuisances,
                                   "grid": list(CONFIRM_GRID), "sweep": guards},
               "policy_selection": {"rule": "fewest false-alarm scenarios (validation split plus the extra "
                                            "nuisance scenarios), then highest detection, then shortest median "
                                            "time to alarm, then the more conservative policy",
                                    "nuisances": nuisances,
                                    "grid": POLICY_GRID, "validation_scenarios": len(set(ids)),
                                    "data": desc.get("url"), "model": str(model),
                                    "chosen": {v: r["chosen"] for v, r in result.items()},
                                    "sweep": {v: r["sweep"] for v, r in result.items()}}}
    write_json_atomic(out, payload)
    for v, r in result.items():
        c = r["chosen"]
        console.print(f"{v}: {c['policy']} -> detection {c['detection_rate']:.3f}, "
                      f"{c['false_alarm_scenarios']} false-alarm scenario(s), median {c['median_tta_s']} s"
                      + (f"; {sum(c['extra_false_alarm_scenarios'])} on the extra nuisances" if extra else ""))
        if v in guards:
            g = guards[v]["guard"]
            console.print(f"{v}: co-rise guard " + (f"confirmed at p >= {g['confirm_probability']}" if g
                                                    else "not used (every level adds a false alarm)"))
    console.print(f"written to {out}")


def realcheck(
    report: Path = typer.Option(..., "--report", help="Report JSON to write (atomically)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model folder, 'default' or "
                                        "'registry:VERSION' (default: approved version, else shipped)."),
    real_data: Optional[Path] = typer.Option(None, "--real-data", help="Folder of the real recordings "
                                             "(default: ../shared/real-data from the repository)."),
    table_md: Optional[Path] = typer.Option(None, "--table", help="Also write the table as Markdown."),
    only: Optional[str] = typer.Option(None, "--only", help="Comma-separated groups among office, scd40, "
                                       "lepton, faa, delco (default all)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the added reading noise and SCD41 devices (default 0)."),
) -> None:
    """Replay real recordings (ordinary rooms, real fires) through the model and the baseline rules."""
    from firesight.model_registry import load_model
    from firesight.validation.nist import default_real_data_dir
    from firesight.validation.realcheck import realcheck_markdown, run_realcheck

    bundle, ref = load_model(model)
    root = real_data or default_real_data_dir()
    with _progress() as bar:
        task = bar.add_task("recordings", total=None)
        result = run_realcheck(bundle, root, seed=seed, only=_split_list(only) or None,
                               progress=lambda name: bar.update(task, advance=1, description=name))
    result["model"] = {"ref": model or "approved-or-default", **ref}
    result["real_data"] = str(root)
    write_json_atomic(report, result)
    text = realcheck_markdown(result)
    if table_md is not None:
        write_text_atomic(table_md, text)
    console.print(text)
    failed = [c["name"] for c in result["checks"] if not c["passed"]]
    console.print(f"{len(result['checks'])} recordings, {len(failed)} failed"
                  + (f": {', '.join(failed)}" if failed else "") + f"; report written to {report}")


def replay(
    scd41: Optional[Path] = typer.Option(None, "--scd41", help="SCD41 CSV: time_s,co2_ppm,"
                                         "temperature_c,humidity_rh (any interval, typically 5 s)."),
    thermal: Optional[Path] = typer.Option(None, "--thermal", help=".npz with frames (n,120,160) uint16, "
                                           "time_s [s], resolution_k [K] (default: none; SCD41-only model)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model folder, 'default' or "
                                        "'registry:VERSION' (default: approved version, else shipped)."),
    report: Path = typer.Option(..., "--report", help="Report JSON to write (atomically)."),
) -> None:
    """Replay recorded readings through the online decision path."""
    from firesight.detection.online import replay_recording
    from firesight.detection.recordings import read_scd41_csv, read_thermal_npz
    from firesight.model_registry import load_model

    if scd41 is None and thermal is None:
        raise InvalidParameterError("--scd41/--thermal", "at least one recording", None)
    gas = read_scd41_csv(scd41) if scd41 is not None else None
    frames = read_thermal_npz(thermal) if thermal is not None else None
    bundle, ref = load_model(model)
    result = replay_recording(bundle, gas, frames)
    result["model"] = {"ref": model or "approved-or-default", **ref}
    result["inputs"] = {"scd41": str(scd41) if scd41 else None, "thermal": str(thermal) if thermal else None}
    write_json_atomic(report, result)
    first = result["first_alarm_s"]
    console.print(f"variant {result['variant']}: {result['n_windows']} windows, "
                  f"{len(result['changes'])} state change(s), first alarm "
                  f"{'none' if first is None else f'at {first:.1f} s'}; report written to {report}")


def models_list() -> None:
    """List registered model versions with their approval state."""
    from firesight.model_registry import registry_for

    versions = registry_for().list_versions()
    table = Table(title="firesight-detector versions")
    for col in ("version", "status", "test detection", "test FA scen.", "data", "code"):
        table.add_column(col)
    for v in versions:
        m = v["metrics"]
        table.add_row(v["version"], v["status"], str(m.get("test_detection_rate", "—")),
                      str(m.get("test_false_alarm_scenarios", "—")), v["data_ref"], v["code_version"])
    console.print(table if versions else "no registered versions")


def models_approve(version: str = typer.Argument(..., help="Model version number.")) -> None:
    """Set a version's state to Approved (services load the newest approved version)."""
    from firesight.model_registry import registry_for

    entry = registry_for().approve(version)
    audit_record("ApproveModelVersion", None, {"version": version}, response={"status": entry["status"]}, source="models")
    console.print(f"version {entry['version']}: {entry['status']}")


def models_reject(version: str = typer.Argument(..., help="Model version number.")) -> None:
    """Set a version's state to Rejected."""
    from firesight.model_registry import registry_for

    entry = registry_for().reject(version)
    audit_record("RejectModelVersion", None, {"version": version}, response={"status": entry["status"]}, source="models")
    console.print(f"version {entry['version']}: {entry['status']}")


def variants(
    data: str = typer.Option(..., "--data", help="Training dataset folder/URL (or features .parquet)."),
    features: Optional[str] = typer.Option(None, "--features", help=FEATURES_HELP),
    params: Optional[Path] = typer.Option(None, "--params", help="Base parameters JSON (class weights, ...)."),
    out: Path = typer.Option(..., "--out", help="Parameters JSON to write (base + the chosen configurations)."),
    test_fraction: float = typer.Option(0.3, "--test-fraction", help="Validation fraction of each family."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the scenario split."),
    workers: int = typer.Option(1, "--workers", help="Processes computing features (default 1)."),
) -> None:
    """Choose each variant's constraints (monotone, without humidity) on a validation split by
    the stated rule of detection/variants.py."""
    from firesight.detection.splits import split_scenarios
    from firesight.detection.variants import CONFIGS, MAX_DETECTION_LOSS, choose_variant_configs, params_for

    table, desc = _load_table(data, features, workers, 1.0, 60.0)
    if desc.get("kind") == "dataset":
        from firesight.detection.labels import add_gas_detectable

        table = add_gas_detectable(table, str(data))
    split = split_scenarios(table, test_fraction=test_fraction, seed=split_seed)
    ids = table["scenario_id"].astype(str)
    base = _read_params(params)
    result = choose_variant_configs(table[ids.isin(split.train_ids)], table[ids.isin(split.test_ids)], base,
                                    progress=lambda m: console.print(f"training {m}"))
    payload = {**params_for(base, result),
               "variant_selection": {"rule": f"first of {list(CONFIGS)} with no more false-alarm scenarios "
                                             f"than 'unchanged' and detection at most {MAX_DETECTION_LOSS} below",
                                     "test_fraction": test_fraction, "split_seed": split_seed,
                                     "results": result}}
    write_json_atomic(out, payload)
    for variant, r in result.items():
        for config, row in r["results"].items():
            console.print(f"{variant} {config}: detection {row['detection_rate']:.3f}, "
                          f"{row['false_alarm_scenarios']} FA scenario(s), median {row['median_tta_s']} s"
                          + ("  <- chosen" if config == r["chosen"] else ""))
    console.print(f"written to {out}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the detection commands to the CLI."""
    app.command("train")(train)
    app.command("tune")(tune)
    app.command("evaluate")(evaluate)
    app.command("replay")(replay)
    app.command("policy")(policy)
    app.command("variants")(variants)
    app.command("realcheck")(realcheck)
    models = typer.Typer(help="Model registry: versions and approval.", no_args_is_help=True)
    models.command("list")(models_list)
    models.command("approve")(models_approve)
    models.command("reject")(models_reject)
    app.add_typer(models, name="models")
