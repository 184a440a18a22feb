"""``firesight features`` and ``firesight bench features``."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from firesight._atomic import write_text_atomic


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the feature commands to the CLI."""

    @app.command("features")
    def features_command(
        data: str = typer.Option(..., "--data", help="Dataset folder or fsspec URL (from `firesight generate`)."),
        out: str = typer.Option(..., "--out",
                                help="Output parquet file or URL; a folder gets features.parquet inside."),
        engine: str = typer.Option("local", "--engine",
                                   help="local (process pool) or spark (pyspark). Default: local."),
        step_s: float = typer.Option(1.0, "--step-s", help="Time between window vectors [s]. Default: 1."),
        window_s: float = typer.Option(60.0, "--window-s", help="Thermal window length [s], >= 10. Default: 60."),
        workers: int = typer.Option(1, "--workers", help="Processes of the local engine [-]. Default: 1."),
        spark_master: str = typer.Option("local[*]", "--spark-master",
                                         help="Spark master URL for --engine spark. Default: local[*] (all cores)."),
    ) -> None:
        """Compute fused window features (thermal + SCD41) for every scenario of a dataset and
        write them, with scenario ids, families and truth labels, to one parquet file."""
        from firesight.commands._progress import scenario_progress
        from firesight.features.dataset import compute_dataset_features

        with scenario_progress(f"features ({engine})") as progress:
            summary = compute_dataset_features(data, out, engine=engine, workers=workers, step_s=step_s,
                                               window_s=window_s, spark_master=spark_master, progress=progress)
        Console().print(f"wrote {summary['windows']} windows of {summary['scenarios']} scenarios to "
                        f"{summary['path']} in {summary['seconds']:.1f} s ({summary['engine']} engine)",
                        highlight=False)

    @bench_app.command("features")
    def bench_features_command(
        frames: int = typer.Option(2000, "--frames",
                                   help="Lepton frames timed for the per-frame features [-]. Default: 2000."),
        duration_s: float = typer.Option(120.0, "--duration-s",
                                         help="Length of each benchmark scenario [s]. Default: 120."),
        scenarios: int = typer.Option(4, "--scenarios",
                                      help="Scenarios in the engine comparison dataset [-]. Default: 4."),
        workers: int = typer.Option(2, "--workers",
                                    help="Local engine processes, and Spark local[K] cores [-]. Default: 2."),
        data: str = typer.Option("", "--data",
                                 help="Existing dataset for the engine comparison. "
                                      "Default: generate one (seed 7) in a temporary folder."),
        spark: bool = typer.Option(True, "--spark/--no-spark", help="Include the Spark local-mode run. Default: on."),
        out: str = typer.Option("", "--out", help="Also write the JSON to this file. Default: print only."),
    ) -> None:
        """Feature throughput: frames/s per core, windows/s, SCD41 readings/s, and the local
        engine versus Spark local mode on the same dataset. Prints JSON."""
        from firesight.features.benchmark import run_feature_benchmark

        result = run_feature_benchmark(frames=frames, duration_s=duration_s, scenarios=scenarios, workers=workers,
                                       data=data or None, spark=spark)
        text = json.dumps(result, indent=2, sort_keys=True)
        if out:
            write_text_atomic(out, text + "\n")
        typer.echo(text)
