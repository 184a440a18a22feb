"""The picture a fire engineer wants of one scenario: a strip of thermal frames at key
times with a colour bar in C, and CO2 / temperature / humidity / heat release over time
with the ignition marked. Drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

import numpy as np

from firesight._atomic import atomic_path
from firesight.datasets.reader import ScenarioData

STATE_NAMES = {0: "none", 1: "smouldering", 2: "flaming"}


def key_times_s(scenario: ScenarioData, duration_s: float) -> list[tuple[str, float]]:
    """(caption, time) of the frames to show: before ignition, ignition, +30 s, +2 min
    and the end for fires; five evenly spread times otherwise."""
    t_ign = scenario.ignition_time_s
    if t_ign is None:
        return [(f"{f:.0%} of the scenario", f * duration_s) for f in np.linspace(0.05, 0.97, 5)]
    times = [("before ignition", max(t_ign - min(30.0, t_ign / 2), 0.0)), ("ignition", t_ign),
             ("ignition + 30 s", t_ign + 30.0), ("ignition + 2 min", t_ign + 120.0), ("end", duration_s)]
    return [(label, min(t, duration_s)) for label, t in times]


def draw_scenario_png(scenario: ScenarioData, path: str) -> str:
    """Draw ``scenario`` into the PNG file ``path`` (written atomically); return ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    thermal, truth, scd41 = scenario.thermal, scenario.truth, scenario.scd41
    duration = float(scenario.meta.get("duration_s", truth["time_s"].iloc[-1]))
    keys = key_times_s(scenario, duration)
    frame_t = np.asarray(thermal.time_s)
    images, captions = [], []
    for label, t in keys:
        if len(frame_t) == 0:
            break
        k = int(np.clip(np.searchsorted(frame_t, t), 0, len(frame_t) - 1))
        images.append(thermal.celsius(k))
        state = int(np.asarray(truth["state"])[min(np.searchsorted(truth["time_s"], frame_t[k]), len(truth) - 1)])
        captions.append(f"{label}\nt = {frame_t[k]:.0f} s, {STATE_NAMES.get(state, state)}")
    fig = plt.figure(figsize=(16, 10.5), dpi=90)
    grid = GridSpec(5, len(images) + 1, figure=fig, height_ratios=[2.3, 1, 1, 1, 1],
                    width_ratios=[1] * len(images) + [0.06], hspace=0.45, wspace=0.08)
    ignition = scenario.ignition_time_s
    title = f"{scenario.id} — {scenario.family} ({scenario.label})"
    if ignition is not None:
        title += f", ignition at {ignition:.0f} s"
    fig.suptitle(title, fontsize=14)
    if images:
        from matplotlib.colors import PowerNorm

        stack = np.stack(images)
        lo = float(np.percentile(stack, 0.5))
        hi = float(max(min(stack.max(), 450.0), lo + 5.0))
        # a square-root-like scale shows both the room (a few kelvin) and a fire (hundreds)
        norm = PowerNorm(gamma=0.4, vmin=lo, vmax=hi)
        for i, (img, cap) in enumerate(zip(images, captions)):
            ax = fig.add_subplot(grid[0, i])
            im = ax.imshow(np.clip(img, lo, hi), cmap="inferno", norm=norm, interpolation="nearest")
            ax.set_title(cap, fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(2, 117, f"max {img.max():.0f} C", color="white", fontsize=8)
        cbar = fig.colorbar(im, cax=fig.add_subplot(grid[0, -1]))
        cbar.set_label("apparent temperature [C]")
    panels = [
        ("CO2 [ppm]", "co2_ppm", "co2_ppm_true"),
        ("temperature [C]", "temperature_c", "temperature_c_true"),
        ("humidity [%RH]", "humidity_rh", "humidity_rh_true"),
        ("heat release [kW]", None, "hrr_kw"),
    ]
    for row, (ylabel, reading, true_col) in enumerate(panels, start=1):
        ax = fig.add_subplot(grid[row, :-1])
        if true_col in truth:
            ax.plot(truth["time_s"], truth[true_col], color="0.55", lw=1.2, label="true at sensor"
                    if reading else "truth")
        if reading is not None and reading in scd41:
            ax.plot(scd41["time_s"], scd41[reading], ".-", color="tab:blue", ms=3, lw=0.8, label="SCD41 reading")
        if reading is None:
            if "nuisance_flame_hrr_kw" in truth and float(np.nanmax(truth["nuisance_flame_hrr_kw"])) > 0:
                ax.plot(truth["time_s"], truth["nuisance_flame_hrr_kw"], color="tab:green", lw=1.2,
                        label="nuisance flame (stove, candles): not a fire")
            state = np.asarray(truth["state"])
            t = np.asarray(truth["time_s"])
            top = max(float(np.nanmax(truth["hrr_kw"])), float(np.nanmax(truth.get("nuisance_flame_hrr_kw", 0.0))),
                      1.0)
            ax.fill_between(t, 0, top, where=state == 1, color="tab:orange", alpha=0.2, step="post",
                            label="smouldering")
            ax.fill_between(t, 0, top, where=state == 2, color="tab:red", alpha=0.2, step="post", label="flaming")
            ax.set_xlabel("time [s]")
        if ignition is not None:
            ax.axvline(ignition, color="tab:red", ls="--", lw=1.2, label="ignition")
        for _, t in keys:
            ax.axvline(t, color="0.8", lw=0.6, zorder=0)
        ax.set_ylabel(ylabel)
        ax.set_xlim(0, duration)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, ncol=4)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path
