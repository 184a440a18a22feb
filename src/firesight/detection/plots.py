"""Evaluation figures a reader can judge at a glance (matplotlib, Agg backend).

``eval_time_to_alarm.png``: median (bar) and p90 (whisker) time to alarm per fire family,
per detector, with missed fires marked. ``eval_false_alarms.png``: fraction of scenarios
with a false alarm per non-fire family, per detector. ``eval_roc.png``: per-window ROC.
``eval_reliability.png``: reliability diagram of the model and its degraded modes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from firesight._atomic import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:  # keeps the .png suffix that savefig reads the format from
        fig.savefig(tmp, dpi=110, bbox_inches="tight")


def _write(plt, fig, path: Path) -> str:
    """Save ``fig`` to ``path`` atomically, close it and return the path."""
    _save(fig, path)
    plt.close(fig)
    return str(path)


def _unit_square(ax, *, xlabel: str, ylabel: str, title: str, legend_loc: str) -> None:
    """Labels, title, legend and the grey diagonal of a [0, 1] x [0, 1] plot (ROC, reliability)."""
    ax.plot([0, 1], [0, 1], color="grey", lw=0.5, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc=legend_loc)


def plot_evaluation(results: dict, scores: dict, table, out_dir: str | os.PathLike,
                    *, title: str = "") -> list[str]:
    """Write the three figures to ``out_dir``; return their paths.

    Parameters
    ----------
    results : dict
        ``{detector name: metrics}`` as in the evaluation report.
    scores : dict
        ``{detector name: per-window probability}`` aligned with ``table``.
    table : pandas.DataFrame
        The prepared feature table (``burning`` for the ROC curves).
    """
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # ensemble members are in the report; the figures show the model, its degraded modes
    # and the baselines so that a reader can compare them at a glance
    names = [n for n in results if results[n].get("kind") != "member"]
    colors = {n: plt.cm.tab10(i % 10) for i, n in enumerate(names)}
    paths = []

    fams = sorted({f for n in names for f in results[n]["time_to_alarm_s"]["by_family"]})
    if fams:
        fig, ax = plt.subplots(figsize=(9, 1.5 + 0.17 * len(fams) * len(names)))
        height = 0.8 / len(names)
        for j, name in enumerate(names):
            by = results[name]["time_to_alarm_s"]["by_family"]
            for i, fam in enumerate(fams):
                st = by.get(fam)
                y = i + (j - (len(names) - 1) / 2) * height
                if st is None or st["median"] is None:
                    ax.scatter([1.0], [y], marker="x", color=colors[name], s=18)
                    continue
                med = max(st["median"], 0.5)
                ax.barh(y, med, height=height, color=colors[name],
                        label=name if i == 0 else None)
                ax.errorbar([max(st["p90"], 0.5)], [y], xerr=[[max(st["p90"], 0.5) - med], [0]],
                            color="k", lw=0.6, capsize=1.5)
                if st["n"] < st["n_fire"]:
                    ax.text(max(st["p90"], med) * 1.1, y, f"{st['n_fire'] - st['n']} missed",
                            va="center", fontsize=6, color=colors[name])
        ax.set_yticks(range(len(fams)), fams)
        ax.set_xscale("log")
        ax.set_xlabel("time to alarm after ignition [s] (bar: median, whisker: p90; x: none detected)")
        ax.set_title(title or "Time to alarm per fire family")
        from matplotlib.patches import Patch

        ax.legend([Patch(color=colors[n]) for n in names], names, fontsize=7, loc="lower right")
        paths.append(_write(plt, fig, out / "eval_time_to_alarm.png"))

    nf = sorted({f for n in names for f, e in results[n]["false_alarms_by_family"].items()
                 if f not in results[n]["time_to_alarm_s"]["by_family"]})
    if nf:
        fig, ax = plt.subplots(figsize=(9, 1.5 + 0.17 * len(nf) * len(names)))
        height = 0.8 / len(names)
        for j, name in enumerate(names):
            fa = results[name]["false_alarms_by_family"]
            for i, fam in enumerate(nf):
                e = fa.get(fam)
                frac = e["false_alarm_scenarios"] / e["n_scenarios"] if e else 0.0
                y = i + (j - (len(names) - 1) / 2) * height
                ax.barh(y, frac, height=height, color=colors[name], label=name if i == 0 else None)
        ax.set_yticks(range(len(nf)), nf)
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of scenarios with a false alarm [-]")
        ax.set_title("False alarms per non-fire family")
        ax.legend(fontsize=7, loc="lower right")
        paths.append(_write(plt, fig, out / "eval_false_alarms.png"))

    if "burning" in table.columns:
        from sklearn.metrics import roc_curve

        y = table["burning"].to_numpy(dtype=bool)
        if y.any() and not y.all():
            fig, ax = plt.subplots(figsize=(6, 6))
            for name in names:
                s = np.asarray(scores[name], dtype=float)
                keep = np.isfinite(s)  # unscored windows (no input) are left out, as in roc_auc
                fpr, tpr, _ = roc_curve(y[keep], s[keep])
                auc = results[name]["roc_auc"]
                ax.plot(fpr, tpr, color=colors[name],
                        label=f"{name} (AUC {auc:.3f})" if auc is not None else name)
            _unit_square(ax, xlabel="false positive rate (per window) [-]",
                         ylabel="true positive rate (per window) [-]", title="ROC per window (secondary metric)",
                         legend_loc="lower right")
            paths.append(_write(plt, fig, out / "eval_roc.png"))
            paths.append(_reliability_plot(plt, results, scores, y, out, colors))
    return paths


def _reliability_plot(plt, results: dict, scores: dict, y: np.ndarray, out: Path, colors: dict) -> str:
    from firesight.detection.calibration import reliability

    fig, ax = plt.subplots(figsize=(6, 6))
    for name in [n for n in results if results[n].get("kind") in ("model", "degraded")]:
        r = reliability(y, scores[name])
        pts = [(b["mean_probability"], b["burning_fraction"]) for b in r["bins"] if b["n"]]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="o", ms=3, color=colors[name],
                    label=f"{name} (ECE {r['ece']:.3f}, Brier {r['brier']:.3f})")
    _unit_square(ax, xlabel="mean predicted fire probability in the bin [-]",
                 ylabel="fraction of the bin's windows burning [-]",
                 title="Reliability per window (10 equal-width bins)", legend_loc="upper left")
    return _write(plt, fig, out / "eval_reliability.png")
