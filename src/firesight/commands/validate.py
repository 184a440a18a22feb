"""``firesight validate`` (physics and sensor models against NIST's real measurements)
and ``firesight bench physics`` (speed of the fire and room models)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from firesight.errors import FiresightError, InvalidParameterError


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``validate`` to ``app`` and ``physics`` to ``bench_app``."""

    @app.command("validate")
    def validate(
        real_data: Path = typer.Option(
            None, "--real-data",
            help="Folder with NIST's FAA_Cargo_Compartments/ and DelCo_Trainers/ and the "
                 "Occupancy_Office/ log. Default: ../shared/real-data next to the repository "
                 "(found from the current directory or the installed package)."),
        out: Path = typer.Option(
            Path("docs"), "--out",
            help="Folder to write validation.md and img/validation_*.png into."),
        seed: int = typer.Option(
            0, "--seed", help="Seed of the SCD41 device draws and of the synthetic office "
                              "scenarios (integer >= 0)"),
        check: bool = typer.Option(
            False, "--check/--no-check",
            help="Exit with an error when a comparison fails its accuracy criterion and is "
                 "not a documented known failure (firesight.validation.criteria."
                 "KNOWN_FAILURES). (default: report only)"),
    ) -> None:
        """Compare the zone model and the SCD41 model with the FAA cargo-bay and DelCo
        fire measurements, and the normal_day / people_gathering scenarios with a real
        office; hold each comparison to an accuracy criterion stated beforehand (see
        docs/validation.md); write plots and tables to OUT/validation.md."""
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import Progress
        from rich.table import Table

        from firesight.validation import KNOWN_FAILURES, failing, run_validation, write_report
        from firesight.validation.nist import default_real_data_dir

        if seed < 0:
            raise InvalidParameterError("--seed", "an integer >= 0", seed)
        data_dir = Path(real_data) if real_data is not None else default_real_data_dir()
        console = Console()
        steps = 4 + 9 + 1 + 1 + 1
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("validating", total=steps)

            def advance(label: str) -> None:
                progress.update(task, advance=1, description=label)

            result = run_validation(data_dir, seed=seed, progress=advance)
            command = "firesight validate --out docs/"
            if seed:
                command += f" --seed {seed}"
            paths = write_report(result, out, command=command)
            advance("report written")
        table = Table(title="model vs measurement")
        for col in ("test", "quantity", "RMSE", "peak err", "t_rise err [s]"):
            table.add_column(col)
        for _, row in result["faa_table"].iterrows():
            table.add_row(str(row["test"]), row["quantity"], f"{row['rmse']:.1f} {row['unit']}",
                          f"{100 * row['peak_error_rel']:+.0f} %", f"{row['t_rise_error_s']:+.1f}")
        console.print(table)
        fails = failing(result)
        new = sorted(fails - KNOWN_FAILURES)
        for c in result["checks"]:
            if c["ok"]:
                mark = "[green]inside[/]"
            elif (c["criterion"], c["row"]) in KNOWN_FAILURES:
                mark = "[yellow]outside (known failure)[/]"
            else:
                mark = "[bold red]OUTSIDE (new failure)[/]"
            console.print(escape(f"{c['criterion']} | {c['row']}: {c['value']:.3g} in "
                                 f"[{c['low']:.3g}, {c['high']:.3g}] ") + mark)
        n = len(result["checks"])
        console.print(f"{n - len(fails)} of {n} checks inside their criteria; "
                      f"{len(fails & KNOWN_FAILURES)} known failures, {len(new)} new")
        for p in paths:
            console.print(f"wrote {p}")
        if check and new:
            raise FiresightError("accuracy criteria failed (not known failures): "
                                 + "; ".join(f"{c}: {r}" for c, r in new))

    @app.command("separability")
    def separability(
        nuisances: Path = typer.Option(
            ..., "--nuisances", help="Features Parquet (`firesight features`) of a development set: its "
                                     "non-fire scenarios are the nuisances, its fire scenarios the "
                                     "synthetic contrast. Never the held-out test set."),
        families: str = typer.Option(
            None, "--families", help="Comma-separated nuisance families to use (default: every non-fire one)."),
        real_data: Path = typer.Option(None, "--real-data", help="Folder of the real recordings "
                                       "(default: ../shared/real-data from the repository)."),
        out: Path = typer.Option(None, "--out", help="Also write the JSON report here (atomically)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the SCD41 devices that measure the real fire "
                                                   "traces (as `firesight realcheck`)."),
        evidence: str = typer.Option("basic", "--evidence", help="Evidence features: basic (CO2 above baseline, "
                                     "CO2 rate 60 s, temperature rise, temperature rate 60 s), extended "
                                     "(also lag-corrected rises and the 30/120/300 s rates) or node (extended "
                                     "and the camera's; synthetic fires only)."),
        persistence: str = typer.Option("1", "--persistence", help="Windows in a row the detector needs to alarm "
                                        "(the shipped SCD41-only policy: 10); a comma-separated list also "
                                        "reports a detector that is the OR of one rule per value."),
        horizon_s: float = typer.Option(300.0, "--horizon-s", help="Seconds after ignition within which a fire "
                                        "counts as reachable."),
    ) -> None:
        """Print JSON: how early any SCD41-only detector monotone in CO2 and temperature
        evidence could alarm on each real fire and each synthetic fire without alarming on
        any window of the nuisances (firesight.validation.separability)."""
        import pandas as pd

        from firesight.commands.detect import write_json_atomic
        from firesight.validation import separability as sep
        from firesight.validation.nist import default_real_data_dir

        try:
            table = pd.read_parquet(nuisances)
        except (OSError, ValueError) as exc:
            raise InvalidParameterError("--nuisances", "a readable features Parquet file",
                                        f"{nuisances} ({type(exc).__name__})") from exc
        if evidence not in sep.EVIDENCE_SETS:
            raise InvalidParameterError("--evidence", " or ".join(sep.EVIDENCE_SETS), evidence)
        try:
            ks = sorted({int(k) for k in persistence.split(",") if k.strip()})
        except ValueError:
            ks = []
        if not ks or ks[0] < 1:
            raise InvalidParameterError("--persistence", "integers >= 1, comma-separated", persistence)
        if not horizon_s > 0:
            raise InvalidParameterError("--horizon-s", "> 0", horizon_s)
        cuts = sorted({60.0, 120.0, 300.0, float(horizon_s)} - {c for c in (60.0, 120.0, 300.0) if c > horizon_s})
        names = sep.EVIDENCE_SETS[evidence]
        with_real = evidence != "node"  # the real fire recordings have no camera
        wanted = [f for f in families.split(",") if f] if families else None
        rules, real_rules, synthetic_rules = {}, [], []
        real_windows = sep.real_fire_windows(real_data or default_real_data_dir(), seed=seed,
                                             evidence=names) if with_real else []
        for k in ks:
            front, info = sep.nuisance_front(table, wanted, evidence=names, persistence=k)
            synthetic = sep.synthetic_fire_escapes(table, front, evidence=names, persistence=k, horizon_s=horizon_s)
            rule = {"nuisances": info, "synthetic_fires": {"summary": sep.summarize(synthetic, cuts),
                                                           "by_family": sep.by_family(synthetic)}}
            synthetic_rules.append(synthetic)
            if with_real:
                real = sep.real_fire_escapes(real_windows, front, persistence=k, horizon_s=horizon_s)
                rule["real_fires"] = {"summary": sep.summarize(real, cuts), "each": real}
                real_rules.append(real)
            rules[str(k)] = rule
        result = {"evidence": list(names), "horizon_s": horizon_s, "persistence": rules}
        if len(ks) > 1:
            union = sep.union_of_rules(synthetic_rules)
            result["any_rule"] = {"synthetic_fires": {"summary": sep.summarize(union, cuts), "each": union}}
            if with_real:
                result["any_rule"]["real_fires"] = {"summary": sep.summarize(sep.union_of_rules(real_rules), cuts)}
        if out is not None:
            write_json_atomic(out, result)
        print(json.dumps(result, indent=1))

    @bench_app.command("physics")
    def bench_physics(
        duration_s: float = typer.Option(
            3600.0, "--duration-s", help="Simulated duration (s)"),
        step_s: float = typer.Option(1.0, "--step-s", help="Time step (s)"),
        repeats: int = typer.Option(50, "--repeats", help="Timed runs; the median is reported"),
    ) -> None:
        """Print JSON: wall time of simulate_fire and simulate_room for one scenario."""
        import numpy as np

        from firesight.physics import FireSpec, Room, RoomSources, simulate_fire, simulate_room

        if duration_s <= 0:
            raise InvalidParameterError("--duration-s", "> 0", duration_s)
        if step_s <= 0 or step_s > duration_s:
            raise InvalidParameterError("--step-s", f"in (0, {duration_s}]", step_s)
        if repeats < 1:
            raise InvalidParameterError("--repeats", ">= 1", repeats)
        t = np.arange(0.0, duration_s + step_s, step_s)
        spec = FireSpec(fuel="wood", ignition_time_s=0.2 * duration_s, smoulder_duration_s=600.0,
                        smoulder_hrr_kw=0.5, growth_alpha_kw_s2=0.0469, peak_hrr_kw=300.0,
                        fuel_energy_kj=2e5)
        room = Room(width_m=5.0, depth_m=4.0, height_m=2.6)

        def one():
            fire = simulate_fire(spec, t)
            src = RoomSources(plume_hrr_kw=fire.hrr_kw, plume_xy_m=np.array([1.0, 1.0]),
                              plume_radiative_fraction=fire.radiative_fraction,
                              co2_g_s=fire.co2_g_s, h2o_g_s=fire.h2o_g_s, soot_g_s=fire.soot_g_s)
            return simulate_room(t, room, src, sensor_xyz_m=[2.5, 2.0, 2.55])

        t0 = time.perf_counter()
        one()  # compile / load the numba cache
        warmup_s = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            one()
            times.append(time.perf_counter() - t0)
        print(json.dumps({
            "benchmark": "physics", "duration_s": duration_s, "step_s": step_s,
            "steps": int(t.size), "repeats": repeats, "first_call_s": round(warmup_s, 4),
            "fire_plus_room_median_ms": round(1e3 * float(np.median(times)), 3),
            "fire_plus_room_min_ms": round(1e3 * float(np.min(times)), 3),
        }))
