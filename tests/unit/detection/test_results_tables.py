"""Results tables are rendered from the reports and spliced between their markers."""

from __future__ import annotations

import numpy as np
import pytest

from firesight.errors import DataError
from firesight.validation.results_tables import misses_table, realcheck_summary, render_all, splice, targets_table


def _metrics(rate, fa, fl, sm, n=10, n_fire=4, missed=0):
    return {"n_scenarios": n, "n_fire": n_fire, "detection_rate": rate, "false_alarms_per_1000h": 0.0,
            "false_alarm_scenarios": fa, "roc_auc": 0.9, "missed": [{}] * missed, "kind": "model",
            "time_to_alarm_s": {"median": 20.0, "p90": 40.0,
                                "by_class": {"flaming_in_view": {"median": fl}, "smouldering": {"median": sm}}}}


EVAL = {"detectors": {"ensemble": _metrics(1.0, 0, 12.0, 100.0),
                      "ensemble_camera_only": _metrics(0.75, 1, 10.0, None, missed=1),
                      "ensemble_scd41_only": _metrics(0.5, 0, None, 130.0, missed=2)}}


def _check(name, kind, first, watch, passed, rule=None):
    return {"name": name, "kind": kind, "variant": "gas", "n_windows": 10, "max_probability": 0.5,
            "first_alarm_s": first, "longest_watch_s": watch, "passed": passed, "alarms": 0 if first is None else 1,
            "baselines": {"baseline_rate_temperature": {"first_alarm_s": rule, "alarms": 0}}}


REAL = {"checks": [_check("office a", "ordinary", None, 5, True), _check("office b", "ordinary", None, 90, False),
                   _check("fire 1", "fire", 40.0, 0, True, rule=30.0), _check("fire 2", "fire", None, 0, False)]}


def test_targets_follow_the_numbers():
    lines = targets_table(EVAL, REAL).splitlines()
    row = {ln.split(" | ")[0].lstrip("| "): ln for ln in lines[2:]}
    assert row["full node: >= 99 % of fires alarmed"].endswith("| yes |")
    assert "0 of 6 non-fire" in row["full node: zero false-alarm scenarios, every nuisance family"]
    assert row["full node: flaming in view, median <= 15 s"].endswith("| yes |")
    assert row["camera only: >= 97 %, zero FA"].endswith("| **no** |")
    assert row["SCD41 only: >= 90 %, zero FA"].endswith("| **no** |")
    assert "1 of 2 pass" in row["SCD41 only: no alarm (nor watch over 60 s) on ordinary real recordings"]
    assert "| 1 of 2 |" in row["real fires (NIST FAA / DelCo through the SCD41 model) alarm"]


def test_summary_names_the_misses():
    text = realcheck_summary(REAL)
    assert "2 of 2 raise no alarm" in text and "90 s (office b)" in text
    assert "**1 of 2 alarmed**" in text and "missed: fire 2" in text and "alone alarms on 1 of 2" in text


def test_splice_replaces_only_marked_blocks():
    tables = render_all(EVAL, REAL)
    text = ("intro\n<!-- results:targets -->\nold\n<!-- /results:targets -->\nmiddle\n"
            "<!-- results:nonesuch -->\nkeep\n<!-- /results:nonesuch -->\nend\n")
    unknown = []
    out, done = splice(text, tables, on_unknown=unknown.append)
    assert done == ["targets"] and unknown == ["nonesuch"]
    assert "old" not in out and tables["targets"] in out and "keep" in out
    assert out.startswith("intro\n") and out.endswith("end\n")
    again, _ = splice(out, tables)
    assert again == out  # idempotent


def test_unbalanced_marker_is_refused():
    with pytest.raises(DataError):
        splice("<!-- results:targets -->\nno end\n", render_all(EVAL, None))


def test_calibration_row_follows_the_report():
    from firesight.detection.calibration import reliability

    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20_000)
    calibrated = reliability(rng.uniform(0, 1, p.size) < p, p)
    overconfident = reliability(rng.uniform(0, 1, p.size) < 0.5, p)
    assert calibrated["ece"] < 0.02 < 0.2 < overconfident["ece"]
    assert sum(b["n"] for b in calibrated["bins"]) == p.size
    ev = {"detectors": {**EVAL["detectors"], "ensemble": {**EVAL["detectors"]["ensemble"],
                                                         "calibration": overconfident}}}
    row = [ln for ln in targets_table(ev, None).splitlines() if "calibrated" in ln][0]
    assert row.endswith("| **no** |") and f"ECE {overconfident['ece']:.3f}" in row
    with_nan = reliability([1, 0, 1], [0.9, float("nan"), 0.8])
    assert with_nan["n"] == 2 and with_nan["brier"] == pytest.approx((0.01 + 0.04) / 2)


def test_misses_table_counts_each_variants_misses_and_false_alarms_by_family():
    def variant(missed, fa_by_family, precursor=0):
        return {"missed": [{"id": f"s{i}", "family": fam} for i, fam in enumerate(missed)],
                "false_alarms_by_family": {fam: {"n_scenarios": 5, "false_alarm_scenarios": n}
                                           for fam, n in fa_by_family.items()},
                "precursor_alarm_scenarios": precursor}

    report = {"detectors": {
        "ensemble": variant(["tf7", "tf7"], {"tf7": 0, "wok": 1, "toaster": 0}, precursor=1),
        "ensemble_scd41_only": variant(["tf2"], {"tf7": 0, "tf2": 0, "wok": 0, "gas": 3}),
        "rf": variant(["toaster"], {"toaster": 4})}}          # a member: not a column
    lines = misses_table(report).splitlines()
    assert lines[0] == "| family | scenarios | full node | SCD41 only |"
    rows = {ln.split(" | ")[0].lstrip("| "): ln.split(" | ")[1:] for ln in lines[2:] if ln.startswith("| `")}
    assert rows == {"`gas`": ["5", "—", "3 FA |"], "`tf2`": ["5", "—", "1 missed |"],
                    "`tf7`": ["5", "2 missed", "— |"], "`wok`": ["5", "1 FA", "— |"]}  # toaster: neither
    assert lines[-1].endswith("full node 1, SCD41 only 0.")
