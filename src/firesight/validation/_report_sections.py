"""The criteria and office sections of ``docs/validation.md``, from one validation run."""

from __future__ import annotations

#: How each criterion's value reads: (label of the statistic, digits).
_VALUE_FORMAT = {
    "plume_temperature_peak": ("M/E of the peak rise", 2),
    "ceiling_jet_temperature_peak": ("M/E of the peak rise", 2),
    "co2_peak": ("M/E of the peak rise", 2),
    "hgl_temperature_peak": ("M/E of the peak rise", 2),
    "threshold_crossing_time": ("M/E of the time to 25 % of the measured peak", 2),
    "scd41_added_delay_s": ("delay [s]", 1),
    "scd41_clamp_ppm": ("peak reading [ppm]", 0),
    "normal_day_arrival_rate": ("median [ppm/min]", 1),
    "people_gathering_arrival_rate": ("median [ppm/min]", 1),
    "normal_day_co2_level": ("percentile [ppm]", 0),
    "normal_day_temperature_drift": ("ratio", 2),
}

#: Why each known failure fails (criterion -> row prefix -> reason), for the report.
_WHY = [
    ("FAA test 4:", "DC-10: the modelled ceiling is too hot and too early (measured rise at most "
                "2.3 K under a 4.9 kW fire: the exhaust sweeps the plume, or the fire was smaller "
                "than the FDS ramp); the 14 m bay is not well mixed along its length"),
    ("FAA test 2: CO2", "C8H8 fuel of the FDS input: CO2 yield 2.82 g/g, about 3x the measured CO2"),
    ("FAA test 3: CO2", "C8H8 fuel of the FDS input: about 3x the measured CO2, so the threshold "
                    "is crossed early"),
    ("FAA test 3: ceiling", "fire by the side wall: a wall plume is not Alpert's free plume"),
    ("FAA test 1: CO2 rise at Aft", "the modelled CO2 reaches the aft sampler 16 s late"),
    ("DelCo test 2:", "no doorway flow in the zone model (products diluted by the whole opening "
                      "flow; the analyser also clips near 10 %), lumped lining"),
    ("normal_day median", "synthetic arrivals raise CO2 faster than the office's arrivals"),
    ("people_gathering median", "gatherings raise CO2 faster than any arrival in the office"),
    ("normal_day 5th", "some synthetic rooms sit at outdoor air; the office never fell below "
                       "its working-day minimum"),
    ("normal_day / real", "synthetic rooms drift far faster in temperature than the office"),
]


def _digits(check: dict) -> int:
    return _VALUE_FORMAT.get(check["criterion"], ("", 2))[1]


def _why(row: str) -> str:
    for prefix, reason in _WHY:
        if row.startswith(prefix):
            return reason
    return "not yet explained"


def criteria_sections(checks, criteria, known_failures, fmt, office_criteria=None):
    """Markdown of the criteria table, the per-row results and the known failures; and the
    number of checks passing and in all."""
    def tally(name: str) -> str:
        rows = [r for r in checks if r["criterion"] == name]
        return f"{sum(r['ok'] for r in rows)} of {len(rows)}"

    lines = ["| criterion | statistic | passes within | source | applies to | rows inside |",
             "|---|---|---|---|---|---|"]
    for c in criteria.values():
        label, digits = _VALUE_FORMAT.get(c.name, ("value", 2))
        lines.append(f"| `{c.name}` | {label} | {fmt(c.low, digits)} … {fmt(c.high, digits)} | "
                     f"{c.source} | {c.applies_to} | {tally(c.name)} |")
    for name, (statement, reasoning) in (office_criteria or {}).items():
        lines.append(f"| `{name}` | see [the office section](#the-ordinary-room-synthetic-scenarios-against-a-real-office) | "
                     f"{statement} | stated a priori: {reasoning} | real office | {tally(name)} |")
    criteria_md = "\n".join(lines)
    rows = ["| criterion | row | value | passes within | result |", "|---|---|---|---|---|"]
    for r in checks:
        digits = _VALUE_FORMAT.get(r["criterion"], ("", 2))[1]
        verdict = "inside" if r["ok"] else "**outside**"
        rows.append(f"| `{r['criterion']}` | {r['row']} | {fmt(r['value'], digits)} | "
                    f"{fmt(r['low'], digits)} … {fmt(r['high'], digits)} | {verdict} |")
    results_md = "\n".join(rows)
    failing = [r for r in checks if not r["ok"]]
    known = [r for r in failing if (r["criterion"], r["row"]) in known_failures]
    new = [r for r in failing if (r["criterion"], r["row"]) not in known_failures]
    fixed = sorted(k for k in known_failures if k not in {(r["criterion"], r["row"]) for r in failing})
    out = ["### Known failures, and why", "",
           f"{len(known)} checks fail and are listed as known failures:", ""]
    for r in known:
        digits = _VALUE_FORMAT.get(r["criterion"], ("", 2))[1]
        out.append(f"* `{r['criterion']}`, {r['row']}: {fmt(r['value'], digits)} "
                   f"(passes within {fmt(r['low'], digits)} … {fmt(r['high'], digits)}): {_why(r['row'])}.")
    if new:
        out += ["", "**Failures not in the known list** (the integration test fails on these):", ""]
        out += [f"* `{r['criterion']}`, {r['row']}: {fmt(r['value'], 2)}" for r in new]
    if fixed:
        out += ["", "**Listed as known failures but passing now** (strike them from the list):", ""]
        out += [f"* `{c}`, {row}" for c, row in fixed]
    return criteria_md, results_md, "\n".join(out), len(checks) - len(failing), len(checks)


def _summary_table(summary: dict, fmt) -> str:
    lines = ["| statistic | source | n | min | 5 % | 25 % | median | 75 % | 95 % | max |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for stat, by_source in summary.items():
        digits = 0 if "ppm]" in stat else (1 if "ppm/min" in stat else 2)
        for source, s in by_source.items():
            cells = " | ".join(fmt(s[k], digits) for k in ("min", "p5", "p25", "median", "p75", "p95", "max"))
            lines.append(f"| {stat} | {source} | {s['n']} | {cells} |")
    return "\n".join(lines)


def office_section(office: dict, fmt) -> str:
    """Markdown of the real-office comparison."""
    from firesight.validation.office import (
        ARRIVAL_EMPTY_BEFORE_S,
        ARRIVAL_WINDOW_S,
        SYNTHETIC_DURATION_S,
        WORKING_HOURS,
    )

    s = office["summary"]
    ra = s["arrival rise rate [ppm/min]"]
    drift = office["drift_p90_k_per_h"]
    checks = "\n".join(
        f"* `{c['criterion']}` ({c['statement']}; {c['reasoning']}): {c['row']} = "
        f"{fmt(c['value'], _digits(c))}, passes within {fmt(c['low'], _digits(c))} … {fmt(c['high'], _digits(c))}: "
        f"{'inside' if c['ok'] else '**outside**'}." for c in office["checks"])
    return f"""
## The ordinary room: synthetic scenarios against a real office

firesight's `normal_day` and `people_gathering` scenarios set beside eight days of a real
occupied office (UCI "Occupancy Detection", Candanedo & Feldheim 2016; CO2, temperature and
an occupancy flag every minute, `../shared/real-data/Occupancy_Office/`), by the same
statistic on both. The synthetic side is {office['count']} scenarios of each family from the
generator (`simulate_scenario`, dataset seed {office['seed']}, {fmt(SYNTHETIC_DURATION_S, 0)} s long so that a
10-minute window fits after an arrival), read through the SCD41 model; nothing is fitted to
the office. The statistics and criteria are in `src/firesight/validation/office.py`,
written before either side was computed.

* **Arrival rise rate**: least-squares slope of CO2 over the {fmt(ARRIVAL_WINDOW_S / 60, 0)} minutes after people
  first enter an empty room (real: the occupancy flag steps 0 → 1 after at least
  {fmt(ARRIVAL_EMPTY_BEFORE_S / 60, 0)} minutes at 0; synthetic: the first `enter_s` in a room empty at the start).
  {ra['real office']['n']} real arrivals qualify (each working-day morning), {ra['normal_day']['n']} of the
  `normal_day` scenarios and {ra['people_gathering']['n']} of the `people_gathering` ones.
* **CO2 level**: every reading (real: weekdays {WORKING_HOURS[0]:02d}:00–{WORKING_HOURS[1]:02d}:00; synthetic: every valid
  `normal_day` reading).
* **Temperature drift**: |slope| of temperature over non-overlapping 10-minute windows,
  90th percentile (real: working-day windows; synthetic: two per `normal_day` scenario).

{_summary_table(s, fmt)}

90th percentile of the temperature drift: {fmt(drift['real office'], 2)} K/h in the office,
{fmt(drift['normal_day'], 2)} K/h in `normal_day`.

{checks}

What this says. {_reading(office, fmt)}
"""


def _reading(office: dict, fmt) -> str:
    """Plain reading of the office comparison, true to whichever way the numbers fall."""
    s = office["summary"]["arrival rise rate [ppm/min]"]
    real, normal, people = s["real office"], s["normal_day"], s["people_gathering"]
    drift = office["drift_p90_k_per_h"]
    out = [f"In the office, CO2 climbs {fmt(real['min'], 1)}–{fmt(real['max'], 1)} ppm/min in the ten minutes after "
           "the first person arrives (the data set's README quotes 10–25 ppm/min for arrivals; "
           "over these windows the log does not show that)."]
    for name, stats in (("`normal_day` arrivals", normal), ("gatherings", people)):
        if not stats["n"]:
            continue
        med = stats["median"]
        if med > real["max"]:
            where = "faster than any arrival in the office"
        elif med < real["min"]:
            where = "slower than any arrival in the office"
        else:
            where = "within the office's range"
        out.append(f"Synthetic {name} rise at a median {fmt(med, 1)} ppm/min, {where}.")
    ratio = drift["normal_day"] / drift["real office"] if drift["real office"] > 0 else float("nan")
    out.append(f"The 90th percentile of the synthetic temperature drift is {fmt(ratio, 1)}× the office's.")
    out.append("All these rates are far below a fire's rise (FAA test 1: about 1,600 ppm in two minutes), "
               "but a detector learns its ordinary background from them. One office is one room: "
               "these are checks of plausibility against a real room, not a calibration.")
    return " ".join(out)
