"""``firesight validate``: run every comparison with the real measurements, draw the
plots and write ``validation.md`` with the error tables.

Every number in the written report comes from :func:`run_validation`; the accuracy
criteria are stated, with their sources, in :mod:`firesight.validation.criteria` (fire
measurements) and :mod:`firesight.validation.office` (the real office), and the report
marks every row that fails its criterion.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from firesight._atomic import write_bytes_atomic
from firesight.errors import InvalidParameterError, NotFoundError
from firesight.validation.criteria import CRITERIA, KNOWN_FAILURES, evaluate_criteria, failing_rows
from firesight.validation.delco import (
    DELCO_TESTS,
    LEPTON_RANGES_C,
    SCD41_CO2_LIMIT_PPM,
    delco_saturation,
    delco_zone_model_test2,
)
from firesight.validation.faa import FAA_FIRE, FAA_TESTS, compare_faa_test, faa_hrr_kw, fuel_yields
from firesight.validation.office import compare_office

__all__ = ["REAL_DATA_FOLDERS", "run_validation", "check_criteria", "failing", "write_report"]

#: The folders of ``../shared/real-data`` that ``firesight validate`` reads.
REAL_DATA_FOLDERS = ("FAA_Cargo_Compartments", "DelCo_Trainers", "Occupancy_Office")


def run_validation(real_data_dir, *, seed: int = 0, progress=None, office_count: int | None = None) -> dict:
    """Run the FAA, DelCo and office comparisons.

    Parameters
    ----------
    real_data_dir : path
        Folder holding ``FAA_Cargo_Compartments/``, ``DelCo_Trainers/`` and
        ``Occupancy_Office/``.
    seed : int
        Seed of the SCD41 device draws (one generator per test, derived from it) and of
        the synthetic ``normal_day`` / ``people_gathering`` scenarios.
    progress : callable or None
        Called with a short label after each step.
    office_count : int or None
        Synthetic scenarios per family for the office comparison (default
        :data:`firesight.validation.office.SYNTHETIC_COUNT`).

    Returns
    -------
    dict
        ``faa`` (per-test results), ``faa_table`` and ``delco_table`` (DataFrames),
        ``delco_zone`` (the large-fire zone-model comparison), ``office`` (the office
        comparison), ``checks`` (one dict per criterion and row: ``criterion``, ``row``,
        ``value``, ``low``, ``high``, ``ok``).
    """
    base = Path(real_data_dir)
    for sub in REAL_DATA_FOLDERS:
        if not (base / sub).is_dir():
            raise NotFoundError(f"{base / sub} not found: --real-data must point at the folder with "
                                f"{', '.join(REAL_DATA_FOLDERS)}")
    seeds = np.random.SeedSequence(seed).spawn(len(FAA_TESTS) + len(DELCO_TESTS))
    faa = []
    for i, test in enumerate(sorted(FAA_TESTS)):
        faa.append(compare_faa_test(base, test, scd41_rng=np.random.default_rng(seeds[i])))
        if progress:
            progress(f"FAA test {test}")
    delco = []
    for j, test in enumerate(DELCO_TESTS):
        delco.append(delco_saturation(base, test,
                                      rng=np.random.default_rng(seeds[len(FAA_TESTS) + j])))
        if progress:
            progress(f"DelCo test {test}")
    zone = delco_zone_model_test2(base)
    if progress:
        progress("DelCo zone model")
    kwargs = {} if office_count is None else {"count": office_count}
    office = compare_office(base / "Occupancy_Office", seed=seed, **kwargs)
    if progress:
        progress("office against normal_day / people_gathering")
    faa_table = pd.DataFrame([row for res in faa for row in res["rows"]] + zone["rows"])
    delco_table = pd.DataFrame([{k: v for k, v in d.items() if k not in ("series",
                                                                          "ceiling_tc_series")}
                                for d in delco])
    result = {"faa": faa, "delco": delco, "delco_zone": zone, "faa_table": faa_table,
              "delco_table": delco_table, "office": office, "seed": seed}
    result["checks"] = check_criteria(result)
    return result


def _scd41_delays(faa: list[dict]) -> dict[str, float]:
    """Row label -> delay [s] the SCD41 adds to the 25 % crossing of the gas it samples."""
    delays = {}
    for res in faa:
        rows = pd.DataFrame(res["rows"])
        sensor = rows[rows["quantity"].str.contains("SCD41")]
        if sensor.empty:
            continue
        q = sensor["quantity"].iloc[0]
        bare = rows[rows["quantity"] == q.replace(", model + SCD41", "")]
        delays[f"FAA test {res['config'].test}: {q}"] = float(sensor["t_rise_model_s"].iloc[0]
                                                          - bare["t_rise_model_s"].iloc[0])
    return delays


def check_criteria(result: dict) -> list[dict]:
    """Every criterion applied to every row it covers (fire measurements, then the
    office): dicts with ``criterion``, ``row``, ``value``, ``low``, ``high``, ``ok``."""
    delco = result["delco_table"]
    peaks = {}
    if "scd41_peak_ppm" in delco:
        peaks = {f"DelCo test {int(t)}: SCD41 peak reading": float(p)
                 for t, p in zip(delco["test"], delco["scd41_peak_ppm"])}
    checks = evaluate_criteria(result["faa_table"], scd41_delays=_scd41_delays(result["faa"]),
                               scd41_peaks_ppm=peaks)
    office = result.get("office")
    if office:
        checks += [{k: c[k] for k in ("criterion", "row", "value", "low", "high", "ok")}
                   for c in office["checks"]]
    return checks


def failing(result: dict) -> set[tuple[str, str]]:
    """(criterion, row) of every check outside its criterion."""
    return failing_rows(result["checks"])


def _save_figure(fig, path: Path) -> None:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    write_bytes_atomic(path, buf.getvalue())


def plot_faa(result: dict, path: Path) -> None:
    """Measured against modelled ceiling temperature and CO2 rise for the four tests."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(result["faa"]), 2, figsize=(12, 3.1 * len(result["faa"])))
    for ax_row, res in zip(axes, result["faa"]):
        s, cfg = res["series"], res["config"]
        t = s["time_s"]
        near, meas_near, mod_near = s["near"]
        ax = ax_row[0]
        ax.plot(t, meas_near, color="C3", label=f"measured {near} (near fire)")
        ax.plot(t, mod_near, color="C3", ls="--", label=f"model {near}")
        ax.plot(t, s["mean"][0], color="C0", label="measured, mean of ceiling TCs")
        ax.plot(t, s["mean"][1], color="C0", ls="--", label="model, mean")
        ax2 = ax.twinx()
        ax2.fill_between(t, faa_hrr_kw(t), color="0.85", zorder=0)
        ax2.set_ylabel("HRR [kW]", color="0.5")
        ax.set_zorder(ax2.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_title(f"FAA test {cfg.test}: {cfg.name} - ceiling temperature rise")
        ax.set_ylabel("rise [K]")
        ax.legend(fontsize=7, loc="upper right")
        ax = ax_row[1]
        for k, (col, (meas, mod)) in enumerate(s["gas"].items()):
            ax.plot(t, meas, color=f"C{k}", label=f"measured {col}")
            ax.plot(t, mod, color=f"C{k}", ls="--", label=f"model {col}")
        if "scd41" in s:
            col, read = s["scd41"]
            ax.plot(t, read, color="k", ls=":", label=f"model + SCD41 at {col}")
        ax.set_title(f"FAA test {cfg.test}: CO2 rise near the ceiling")
        ax.set_ylabel("rise [ppm]")
        ax.legend(fontsize=7, loc="upper right")
    for ax in axes[-1]:
        ax.set_xlabel("time since ignition [s]")
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)


def plot_delco(result: dict, path: Path) -> None:
    """DelCo: zone model at a large fire, SCD41 clamp, Lepton range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    zone = result["delco_zone"]["series"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    ax = axes[0]
    ax.plot(zone["hgl_time_s"], zone["measured_t_upper_c"], color="C3", label="measured HGL")
    ax.plot(zone["hgl_time_s"], zone["model_t_upper_c"], color="C3", ls="--",
            label="zone model upper layer")
    ax2 = ax.twinx()
    ax2.fill_between(zone["time_s"], zone["hrr_kw"], color="0.85", zorder=0)
    ax2.set_ylabel("burner HRR [kW]", color="0.5")
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_title("DelCo test 2 burn room: upper-layer temperature")
    ax.set_xlabel("time [s]")
    ax.set_ylabel("temperature [C]")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(zone["co2_time_s"], zone["measured_co2_ppm"] / 1e4, color="C0",
            label="measured CO2_A")
    ax.plot(zone["co2_time_s"], zone["model_co2_ppm"] / 1e4, color="C0", ls="--",
            label="zone model at sampler")
    test2 = next(d for d in result["delco"] if d["test"] == 2)
    if "series" in test2:
        ser = test2["series"]
        ax.plot(ser["scd41_time_s"], ser["scd41_co2_ppm"] / 1e4, color="k", ls=":",
                label="SCD41 model fed the measured CO2")
    ax.axhline(SCD41_CO2_LIMIT_PPM / 1e4, color="0.4", lw=0.8)
    ax.text(0, SCD41_CO2_LIMIT_PPM / 1e4, " SCD41 output limit 40,000 ppm", va="bottom",
            fontsize=8)
    ax.set_title("DelCo test 2: CO2")
    ax.set_xlabel("time [s]")
    ax.set_ylabel("CO2 [%]")
    ax.legend(fontsize=8, loc="upper right")
    ax = axes[2]
    for k, d in enumerate(result["delco"]):
        t, hottest = d["ceiling_tc_series"]
        ax.plot(t, hottest, lw=0.9, label=f"test {d['test']}")
    for name, value in LEPTON_RANGES_C.items():
        ax.axhline(value, color="0.3", ls="--", lw=0.8)
        ax.text(0, value, f" Lepton {name.replace('_', ' ')} limit {value:.0f} C", va="bottom",
                fontsize=8)
    ax.set_title("DelCo: hottest ceiling-level thermocouple")
    ax.set_xlabel("time [s]")
    ax.set_ylabel("temperature [C]")
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)


def _fmt(v, digits=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return f"{v:,.{digits}f}"


def _table_md(frame: pd.DataFrame, columns: list[tuple[str, str, int]]) -> str:
    head = "| " + " | ".join(title for _, title, _ in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    lines = [head, sep]
    for _, row in frame.iterrows():
        cells = []
        for key, _, digits in columns:
            v = row[key]
            cells.append(str(v) if isinstance(v, str) else _fmt(v, digits))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(result: dict, out_dir, *, command: str) -> list[Path]:
    """Write ``validation.md`` and ``img/validation_*.png`` under ``out_dir``."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidParameterError("out", "a directory", str(out))
    img = out / "img"
    faa_png, delco_png = img / "validation_faa.png", img / "validation_delco.png"
    plot_faa(result, faa_png)
    plot_delco(result, delco_png)
    md = _markdown(result, command=command)
    md_path = out / "validation.md"
    write_bytes_atomic(md_path, md.encode("utf-8"))
    return [md_path, faa_png, delco_png]


def _markdown(result: dict, *, command: str) -> str:
    from firesight.validation._report_text import render

    return render(result, command=command, table_md=_table_md, fmt=_fmt, faa_fire=FAA_FIRE,
                  faa_tests=FAA_TESTS, fuel_yields=fuel_yields, criteria=CRITERIA,
                  known_failures=KNOWN_FAILURES, lepton=LEPTON_RANGES_C)
