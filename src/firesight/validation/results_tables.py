"""Results tables of README / docs / model card, produced from the reports (never hand-edited).

``make results`` regenerates the held-out test set, its features, the evaluation report
(``firesight evaluate``) and the real-data report (``firesight realcheck``), then
``firesight results`` renders the tables below from those JSON reports and writes each one
between its markers in the Markdown files::

    <!-- results:NAME -->
    ...replaced...
    <!-- /results:NAME -->

Tables: ``detection`` (the model, its degraded modes and the baselines), ``evaluation``
(every detector, members included), ``targets`` (issue 8's targets with the values and
whether they are met), ``misses`` (the families where the model or a degraded mode missed a
fire or raised a false alarm), ``realcheck`` (every real recording) and ``realcheck-summary``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping

from firesight.errors import DataError

#: Display names of the detectors in the summary table, in order.
SUMMARY_ROWS = {
    "ensemble": "**ensemble** (RF + XGBoost)", "ensemble_camera_only": "ensemble, camera only",
    "ensemble_scd41_only": "ensemble, SCD41 only", "baseline_heat_ul521": "UL 521 heat detector on SCD41 T",
    "baseline_co2": "CO2 threshold / rise", "baseline_rate_temperature": "CO2 rate + temperature rate",
    "baseline_thermal_max": "thermal max-temperature",
}


def _fmt(value, spec: str = "{:.1f}") -> str:
    return "—" if value is None else spec.format(value)


def _row(m: Mapping) -> list[str]:
    tta = m["time_to_alarm_s"]
    by_class = tta.get("by_class", {})
    rate = m["detection_rate"]
    return [_fmt(None if rate is None else 100 * rate), _fmt(tta["median"]), _fmt(tta["p90"]),
            _fmt(by_class.get("flaming_in_view", {}).get("median")),
            _fmt(by_class.get("smouldering", {}).get("median")), _fmt(m["false_alarms_per_1000h"]),
            str(m["false_alarm_scenarios"]), _fmt(m["roc_auc"], "{:.3f}"), str(len(m["missed"]))]


HEAD = ["detection %", "TTA median s", "TTA p90 s", "flaming in view: median s", "smouldering: median s",
        "FA /1000 h", "FA scenarios", "ROC AUC", "missed"]


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def detection_table(evaluation: Mapping) -> str:
    """The model, its degraded modes and the baselines (README)."""
    det = evaluation["detectors"]
    rows = [[label, det[key].get("kind", "")] + _row(det[key]) for key, label in SUMMARY_ROWS.items()
            if key in det]
    return _table(["detector", "kind"] + HEAD, rows)


def evaluation_table(evaluation: Mapping) -> str:
    """Every detector of the report, members included (docs/evaluation.md)."""
    rows = [[name, m.get("kind", "")] + _row(m) for name, m in evaluation["detectors"].items()]
    return _table(["detector", "kind"] + HEAD, rows)


def _fires(realcheck: Mapping) -> tuple[int, int, int]:
    fires = [c for c in realcheck["checks"] if c["kind"] == "fire"]
    alarmed = sum(c["first_alarm_s"] is not None and c["first_alarm_s"] >= 0 for c in fires)
    rule = sum((c["baselines"].get("baseline_rate_temperature") or {}).get("first_alarm_s") is not None
               for c in fires)
    return len(fires), alarmed, rule


def realcheck_summary(realcheck: Mapping) -> str:
    """One paragraph: ordinary recordings and real fires (README, model card)."""
    ordinary = [c for c in realcheck["checks"] if c["kind"] == "ordinary"]
    alarms = [c["name"] for c in ordinary if c["first_alarm_s"] is not None]
    watch = max(ordinary, key=lambda c: c["longest_watch_s"]) if ordinary else None
    n_fire, alarmed, rule = _fires(realcheck)
    missed = [c["name"] for c in realcheck["checks"] if c["kind"] == "fire" and not c["passed"]]
    times = sorted(c["first_alarm_s"] for c in realcheck["checks"]
                   if c["kind"] == "fire" and c["first_alarm_s"] is not None)
    median = times[len(times) // 2] if times else None
    text = (f"Ordinary recordings: {len(ordinary) - len(alarms)} of {len(ordinary)} raise no alarm"
            + (f" (alarms on: {', '.join(alarms)})" if alarms else "")
            + (f"; the longest watch is {watch['longest_watch_s']:.0f} s ({watch['name']})" if watch else "")
            + f". Real fires through the SCD41 model: **{alarmed} of {n_fire} alarmed**"
            + (f", median {median:.0f} s after ignition" if median is not None else "")
            + (f" (missed: {', '.join(missed)})" if missed else "")
            + f"; the CO2-rate-plus-temperature rule alone alarms on {rule} of {n_fire}.")
    return text


def targets_table(evaluation: Mapping, realcheck: Mapping | None) -> str:
    """Issue 8's targets with the measured values."""
    det = evaluation["detectors"]
    full, cam, gas = det["ensemble"], det.get("ensemble_camera_only"), det.get("ensemble_scd41_only")
    by_class = full["time_to_alarm_s"].get("by_class", {})
    fl = by_class.get("flaming_in_view", {}).get("median")
    sm = by_class.get("smouldering", {}).get("median")
    n_non_fire = full["n_scenarios"] - full["n_fire"]

    def yes(ok: bool) -> str:
        return "yes" if ok else "**no**"

    def pct(m):
        return 100 * (m["detection_rate"] or 0.0)

    rows = [["full node: >= 99 % of fires alarmed", f"{pct(full):.1f} %", yes(pct(full) >= 99)],
            ["full node: zero false-alarm scenarios, every nuisance family",
             f"{full['false_alarm_scenarios']} of {n_non_fire} non-fire scenarios",
             yes(full["false_alarm_scenarios"] == 0)],
            ["full node: flaming in view, median <= 15 s", f"{_fmt(fl)} s", yes(fl is not None and fl <= 15)],
            ["full node: smouldering, median <= 120 s", f"{_fmt(sm)} s", yes(sm is not None and sm <= 120)]]
    for label, m, goal in (("camera only: >= 97 %, zero FA", cam, 97), ("SCD41 only: >= 90 %, zero FA", gas, 90)):
        if m is not None:
            rows.append([label, f"{pct(m):.1f} %, {m['false_alarm_scenarios']} FA scenario(s)",
                         yes(pct(m) >= goal and m["false_alarm_scenarios"] == 0)])
    cal = full.get("calibration") or {}
    if cal.get("ece") is not None:
        from firesight.detection.calibration import ECE_TARGET

        rows.append([f"probabilities calibrated (per window: ECE <= {ECE_TARGET}; reliability plot "
                     "docs/img/eval_reliability.png)", f"ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f}",
                     yes(cal["ece"] <= ECE_TARGET)])
    if realcheck is not None:
        ordinary = [c for c in realcheck["checks"] if c["kind"] == "ordinary"]
        quiet = all(c["passed"] for c in ordinary)
        n_fire, alarmed, _ = _fires(realcheck)
        rows.append(["SCD41 only: no alarm (nor watch over 60 s) on ordinary real recordings",
                     f"{sum(c['passed'] for c in ordinary)} of {len(ordinary)} pass", yes(quiet)])
        rows.append(["real fires (NIST FAA / DelCo through the SCD41 model) alarm",
                     f"{alarmed} of {n_fire}", yes(alarmed == n_fire)])
    return _table(["target", "value", "met?"], rows)


#: the variants of the ``misses`` table: report key, column label
MISS_COLUMNS = {"ensemble": "full node", "ensemble_camera_only": "camera only", "ensemble_scd41_only": "SCD41 only"}


def misses_table(evaluation: Mapping) -> str:
    """Per family where any variant missed a fire or alarmed on a non-fire scenario: fires
    missed and false-alarm scenarios of each variant, out of the family's scenarios; then
    how many false alarms started during a fire's precursor (docs/evaluation.md)."""
    det = evaluation["detectors"]
    variants = {key: label for key, label in MISS_COLUMNS.items() if key in det}
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    sizes: dict[str, int] = {}
    for key in variants:
        missed = Counter(item.get("family") or "(family not reported)" for item in det[key]["missed"])
        by_family = det[key].get("false_alarms_by_family", {})
        sizes.update({fam: fa["n_scenarios"] for fam, fa in by_family.items()})
        for fam in set(missed) | set(by_family):
            fa = by_family.get(fam, {}).get("false_alarm_scenarios", 0)
            if missed[fam] or fa:
                counts.setdefault(fam, {})[key] = (missed[fam], fa)
    rows = []
    for fam in sorted(counts):
        cells = []
        for key in variants:
            miss, fa = counts[fam].get(key, (0, 0))
            cells.append(" · ".join(part for part in (f"{miss} missed" if miss else "",
                                                      f"{fa} FA" if fa else "") if part) or "—")
        rows.append([f"`{fam}`", str(sizes.get(fam, "?"))] + cells)
    if not rows:
        rows.append(["(none)", "", *["—"] * len(variants)])
    pre = ", ".join(f"{label} {det[key].get('precursor_alarm_scenarios', 0)}" for key, label in variants.items())
    return (_table(["family", "scenarios"] + list(variants.values()), rows)
            + f"\n\nFalse alarms that started during a fire's precursor (counted above as well): {pre}.")


def render_all(evaluation: Mapping, realcheck: Mapping | None) -> dict[str, str]:
    """Every table by marker name."""
    from firesight.validation.realcheck import realcheck_markdown

    out = {"detection": detection_table(evaluation), "evaluation": evaluation_table(evaluation),
           "targets": targets_table(evaluation, realcheck), "misses": misses_table(evaluation)}
    if realcheck is not None:
        out["realcheck"] = realcheck_markdown(realcheck).rstrip("\n")
        out["realcheck-summary"] = realcheck_summary(realcheck)
    return out


_MARKER = re.compile(r"(<!-- results:(?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- /results:(?P=name) -->)",
                     re.DOTALL)


def splice(text: str, tables: Mapping[str, str], on_unknown: Callable[[str], None] | None = None) -> tuple[str, list[str]]:
    """``text`` with every marked block replaced by its table; the names replaced. A marker
    whose table is unknown is left alone (and reported to ``on_unknown``)."""
    done: list[str] = []

    def repl(m: re.Match) -> str:
        name = m.group("name")
        if name not in tables:
            if on_unknown:
                on_unknown(name)
            return m.group(0)
        done.append(name)
        return f"{m.group(1)}{tables[name]}\n{m.group(4)}"

    out = _MARKER.sub(repl, text)
    if "<!-- results:" in out and not done and _MARKER.search(out) is None:
        raise DataError("unbalanced results markers (a '<!-- results:NAME -->' without its end)")
    return out, done
