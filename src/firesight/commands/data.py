"""Commands of the data area: generate, scenarios, show, catalog list, demo."""

from __future__ import annotations

import json
import os
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from firesight.errors import InvalidParameterError

console = Console()

#: families of `firesight demo`: three fires, a gas stove and people
DEMO_FAMILIES = ("tf1_open_wood", "tf4_flaming_polyurethane", "smoulder_to_flaming", "tf3_smouldering_cotton",
                 "gas_stove_cooking", "people_gathering")


def _split(text: Optional[str]) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _generate(out: str, count: int, seed: int, families: list[str] | None, duration_s: float | None, workers: int,
              frame_rate_hz: float, engine: str = "local", spark_master: str = "local[*]") -> dict:
    from firesight import bootstrap
    from firesight.datasets.generate import generate_dataset, validate_arguments

    validate_arguments(out=out, count=count, seed=seed, duration_s=duration_s, workers=workers,
                       frame_rate_hz=frame_rate_hz, families=families)
    metadata = bootstrap.metadata_store()
    with Progress(TextColumn("[bold]generate[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), TextColumn("{task.fields[last]}"), console=Console(stderr=True)) as bar:
        task = bar.add_task("generate", total=count, last="")

        def progress(done: int, total: int, scenario_id: str) -> None:
            bar.update(task, completed=done, total=total, last=scenario_id)

        return generate_dataset(out, count=count, seed=seed, duration_s=duration_s, families=families or None,
                                workers=workers, frame_rate_hz=frame_rate_hz, metadata=metadata, progress=progress,
                                engine=engine, spark_master=spark_master)


def generate(
    out: str = typer.Option(..., "--out", help="Dataset folder or fsspec URL (s3://bucket/prefix, memory://x). "
                            "An existing dataset with the same settings is resumed."),
    count: int = typer.Option(20, "--count", help="Number of scenarios in the dataset (default 20)."),
    seed: int = typer.Option(0, "--seed", help="Dataset seed; scenario i draws from numpy SeedSequence((seed, i)) (default 0)."),
    families: Optional[str] = typer.Option(None, "--families", help="Comma-separated family names "
                                           "(see `firesight scenarios`; default: all)."),
    duration_s: Optional[float] = typer.Option(None, "--duration-s", help="Length of every scenario, in seconds "
                                               "(default: each family's natural length: 300 s; the EN 54 "
                                               "smouldering fires 900 s, cooking 600 s; see `firesight scenarios`)."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (default 1). The output bytes do "
                                "not depend on it."),
    frame_rate_hz: float = typer.Option(8.7, "--frame-rate-hz", help="Lepton frame rate in Hz, at most 8.7 "
                                        "(default 8.7, the device's rate)."),
    engine: str = typer.Option("local", "--engine", help="local (process pool of --workers) or spark "
                               "(pyspark; same jobs, same bytes). Default: local."),
    spark_master: str = typer.Option("local[*]", "--spark-master", help="Spark master URL for --engine spark "
                                     "(default local[*]: every core of this machine)."),
) -> None:
    """Generate a synthetic Lepton 3.5 + SCD41 dataset (streaming, atomic per scenario,
    resumable)."""
    result = _generate(out, count, seed, _split(families), duration_s, workers, frame_rate_hz, engine,
                       spark_master)
    ratio = result["bytes_raw"] / result["bytes_stored"] if result["bytes_stored"] else float("nan")
    console.print(f"dataset [bold]{result['url']}[/]: {result['count']} scenarios "
                  f"({len(result['generated'])} generated, {len(result['resumed'])} already there"
                  + (f", {len(result['cleaned'])} unfinished removed" if result["cleaned"] else "") + ")")
    if result["bytes_stored"]:
        console.print(f"thermal frames: {result['bytes_raw'] / 1e6:.1f} MB raw, "
                      f"{result['bytes_stored'] / 1e6:.1f} MB stored (x{ratio:.2f})")


def scenarios(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the scenario families: name, label, natural length (``generate`` without
    ``--duration-s``) and description."""
    from firesight.scenarios import FAMILIES

    if as_json:
        print(json.dumps([{"name": f.name, "label": f.label, "natural_duration_s": f.natural_duration_s,
                           "description": f.description} for f in FAMILIES.values()], indent=1))
        return
    table = Table(title=f"{len(FAMILIES)} scenario families")
    for column in ("name", "label", "length s", "description"):
        table.add_column(column, overflow="fold")
    for fam in FAMILIES.values():
        table.add_row(fam.name, fam.label, f"{fam.natural_duration_s:g}", fam.description)
    console.print(table)


def show(
    scenario_id: str = typer.Argument(..., help="Scenario id (see manifest.parquet or `firesight catalog list`)."),
    data: str = typer.Option(..., "--data", help="Dataset folder or fsspec URL."),
    png: str = typer.Option(..., "--png", help="Output PNG file."),
) -> None:
    """Draw a scenario: thermal frames at key times (colour bar in C) and CO2 /
    temperature / humidity / heat release over time with the ignition marked."""
    from firesight.datasets import open_dataset
    from firesight.datasets.pictures import draw_scenario_png

    path = draw_scenario_png(open_dataset(data).load(scenario_id), png)
    console.print(f"wrote {path}")


catalog_app = typer.Typer(help="The dataset catalog (metadata store: SQLite by default).", no_args_is_help=True)


@catalog_app.command("list")
def catalog_list(
    family: Optional[str] = typer.Option(None, "--family", help="Only this family."),
    label: Optional[str] = typer.Option(None, "--label", help="Only this label: fire, nuisance, normal or fault."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Only this dataset URL (as generated)."),
    where: list[str] = typer.Option([], "--where", help="Parameter filter KEY=VALUE (also !=, <, <=, >, >=), "
                                    "repeatable; keys are manifest columns or flattened parameters such as "
                                    "room_height_m or fire_fuel."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    datasets: bool = typer.Option(False, "--datasets", help="List the datasets instead of scenarios."),
) -> None:
    """List catalogued scenarios (or datasets), filtered by family, label and parameters."""
    from firesight import bootstrap
    from firesight.datasets import catalog
    from firesight.scenarios import LABELS

    if label is not None and label not in LABELS:
        raise InvalidParameterError("label", f"one of {', '.join(LABELS)}", label)
    store = bootstrap.metadata_store()
    if datasets:
        items = catalog.list_datasets(store)
        columns = ["url", "status", "scenario_count", "seed", "duration_s", "frame_rate_hz"]
    else:
        ds = os.path.abspath(dataset) if dataset and "://" not in dataset else dataset
        items = catalog.list_scenarios(store, dataset=ds, family=family, label=label, where=where)
        columns = ["id", "family", "label", "ignition_time_s", "peak_hrr_kw", "room_volume_m3", "ceiling_height_m",
                   "source_view", "dataset"]
    if as_json:
        print(json.dumps(items, indent=1, sort_keys=True))
        return
    table = Table(title=f"{len(items)} {'datasets' if datasets else 'scenarios'}")
    for column in columns:
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(*[_cell(item.get(c)) for c in columns])
    console.print(table)


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def demo(
    out: str = typer.Option("demo-output", "--out", help="Folder for the demo dataset and pictures "
                            "(default ./demo-output)."),
    workers: int = typer.Option(2, "--workers", help="Worker processes (default 2)."),
    duration_s: float = typer.Option(180.0, "--duration-s", help="Length of each scenario, in seconds (default 180)."),
) -> None:
    """Generate a small dataset (3 fires, a gas stove, people, a smouldering start) and
    draw each scenario into OUT/pictures."""
    from firesight.datasets import open_dataset
    from firesight.datasets.pictures import draw_scenario_png

    data_dir = os.path.join(out, "dataset")
    _generate(data_dir, len(DEMO_FAMILIES), 2026, list(DEMO_FAMILIES), duration_s, workers, 8.7)
    ds = open_dataset(data_dir)
    pictures = os.path.join(out, "pictures")
    for scenario_id in ds.ids:
        draw_scenario_png(ds.load(scenario_id), os.path.join(pictures, f"{scenario_id}.png"))
    console.print(f"dataset: [bold]{os.path.abspath(data_dir)}[/] ({len(ds)} scenarios)")
    console.print(f"pictures: [bold]{os.path.abspath(pictures)}[/]")
    for scenario_id in ds.ids:
        console.print(f"  {os.path.join(pictures, scenario_id + '.png')}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the data commands to the firesight CLI."""
    app.command("generate")(generate)
    app.command("scenarios")(scenarios)
    app.command("show")(show)
    app.command("demo")(demo)
    app.add_typer(catalog_app, name="catalog")
