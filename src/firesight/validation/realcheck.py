"""Real-data checks of the detectors: ordinary rooms must stay quiet, real fires must alarm.

Recordings from ``../shared/real-data/`` (never used for training or for choosing a
threshold; see its README) are turned into what a firesight node would deliver and replayed
through the shipped decision path (:func:`firesight.detection.online.replay_recording`),
beside hand-written rules on the same windows.

How each recording becomes node input
-------------------------------------
* **Occupancy_Office** (1-min log, 8 days): each calendar day is replayed on its own. The
  log is interpolated linearly to the SCD41's 5 s period between log rows at most
  ``OFFICE_MAX_GAP_S`` apart (a longer gap stays a gap: no readings are invented across it;
  repeated minute stamps keep their first row), then the SCD41's reading noise is added
  (CO2 sigma 5 ppm x max(1, c / 350 ppm), as :mod:`firesight.sensors.scd41`; temperature
  0.05 C, humidity 0.2 %RH: the datasheet repeatabilities read as 2 sigma) and readings are
  quantised like the device's (1 ppm, 0.01 C, 0.01 %RH). Seeded, so a check is repeatable.
* **SCD40_Rooms** sessions: the readings as logged (every ~11 s), times from the
  millisecond stamps.
* **Lepton35_Indoor**: the real frames (centikelvin Y16, high gain, 0.01 K per count).
* **FAA_Cargo_Compartments** and **DelCo_Trainers**: the measured CO2 and gas temperature
  next to the sampling point are the true fields at an SCD41 (ambient 420 ppm, 20 C, 45 %RH
  added to the FAA rises; the DelCo analysers read 13-196 ppm before the fire, so they are
  taken as zeroed on room air and shifted to start at 420 ppm), on a 1 s grid, preceded by 15 min of the room at its starting
  values (the node was on before the fire), and measured by a seeded
  :class:`~firesight.sensors.scd41.SCD41Sensor` (lag, noise, clamping at 40,000 ppm).

References
----------
1. Candanedo, L. M., Feldheim, V., Energy and Buildings 112 (2016) 28-39 (office data, UCI
   "Occupancy Detection", CC BY 4.0).
2. callmewire/AirScout32 (SCD40 sessions, MIT); liflabuc/purethermal-y16-recorder (Lepton
   frames, CC BY 4.0).
3. NIST fire model validation data (firemodels/exp): FAA cargo compartments, DelCo trainers.
"""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from firesight.errors import DataError, NotFoundError

#: Longest gap of the office log that is interpolated across [s].
OFFICE_MAX_GAP_S = 120.0
#: SCD41 reading period [s] (datasheet, periodic mode).
SCD41_PERIOD_S = 5.0
#: Reading noise added to the interpolated office log (see the module docstring).
OFFICE_NOISE = {"co2_sigma_ppm": 5.0, "co2_reference_ppm": 350.0, "temperature_sigma_c": 0.05,
                "humidity_sigma_rh": 0.2}
#: Room before a replayed fire [s] (the node's history, as the synthetic scenarios have).
FIRE_HISTORY_S = 900.0
#: Ambient added to the FAA rises (the tests give rises above the starting values).
FAA_AMBIENT = {"co2_ppm": 420.0, "temperature_c": 20.0, "humidity_rh": 45.0}
#: Which measured series feed the SCD41 in each fire test: the CO2 probe and the
#: thermocouple next to it (FAA: the TC36 gas sampling point where the test has it, else
#: the first CO2 probe that has data and the median of the ceiling thermocouples TC1-TC40;
#: DelCo: gas analyser A and the top thermocouple of the first tree of room A).
FAA_SERIES = {"co2": ("TC36 CO2", "Mid Pan CO2", "Aft Pan CO2"), "temperature": "TC36"}
DELCO_SERIES = {"co2": "CO2_A", "temperature": "TC_A7_1"}
FAA_TESTS = (1, 2, 3, 4)
DELCO_TESTS = (2, 3, 4, 5, 6, 22, 23, 24, 25)


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise NotFoundError(f"real-data file {path} not found")
    return path


# -- ordinary rooms ---------------------------------------------------------------------------
def read_office_log(path: Path | str) -> pd.DataFrame:
    """The office log: ``time`` (datetime), ``co2_ppm``, ``temperature_c``, ``humidity_rh``,
    ``occupied`` (bool), sorted, repeated minute stamps reduced to their first row."""
    p = _require_file(Path(path))
    try:
        raw = pd.read_csv(p)
        frame = pd.DataFrame({"time": pd.to_datetime(raw["Date"]), "co2_ppm": raw["CO2"].astype(float),
                              "temperature_c": raw["Temperature"].astype(float),
                              "humidity_rh": raw["Humidity"].astype(float),
                              "occupied": raw["Occupancy"].astype(int) == 1})
    except (KeyError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{p}: not the Occupancy Detection log ({type(exc).__name__}: {exc})") from exc
    frame = frame.sort_values("time", kind="stable").drop_duplicates("time", keep="first")
    return frame.reset_index(drop=True)


def office_days(paths, *, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Each calendar day of the office log (one file or several, joined: the two files of
    the data set meet on 4 Feb) as SCD41 readings every 5 s (see the module docstring):
    ``{"YYYY-MM-DD": DataFrame(time_s, co2_ppm, temperature_c, humidity_rh)}``, ``time_s``
    from the day's first log row."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    log = pd.concat([read_office_log(p) for p in paths], ignore_index=True)
    log = log.sort_values("time", kind="stable").drop_duplicates("time", keep="first").reset_index(drop=True)
    out = {}
    for day, rows in log.groupby(log["time"].dt.date, sort=True):
        t_log = (rows["time"] - rows["time"].iloc[0]).dt.total_seconds().to_numpy()
        if t_log.size < 2:
            continue
        grid = np.arange(0.0, t_log[-1] + 1e-9, SCD41_PERIOD_S)
        seg = np.searchsorted(t_log, grid, side="right") - 1
        seg = np.clip(seg, 0, t_log.size - 2)
        gap = t_log[seg + 1] - t_log[seg]
        keep = (gap <= OFFICE_MAX_GAP_S) | np.isin(grid, t_log)
        grid = grid[keep]
        cols = {}
        for name in ("co2_ppm", "temperature_c", "humidity_rh"):
            cols[name] = np.interp(grid, t_log, rows[name].to_numpy())
        n = grid.size
        sigma = OFFICE_NOISE["co2_sigma_ppm"] * np.maximum(1.0, cols["co2_ppm"] / OFFICE_NOISE["co2_reference_ppm"])
        co2 = np.rint(cols["co2_ppm"] + rng.standard_normal(n) * sigma)
        temp = np.round(cols["temperature_c"] + rng.standard_normal(n) * OFFICE_NOISE["temperature_sigma_c"], 2)
        rh = np.round(cols["humidity_rh"] + rng.standard_normal(n) * OFFICE_NOISE["humidity_sigma_rh"], 2)
        out[str(day)] = pd.DataFrame({"time_s": grid, "co2_ppm": co2, "temperature_c": temp, "humidity_rh": rh})
    return out


def read_scd40_session(path: Path | str) -> pd.DataFrame:
    """A SCD40 session log (six header lines, then ``Timestamp`` [ms], ``Temperature``,
    ``Humidity``, ``Gas1`` = CO2 [ppm]) as readings with ``time_s`` from the first."""
    p = _require_file(Path(path))
    try:
        raw = pd.read_csv(p, skiprows=6)
        t = raw["Timestamp"].to_numpy(dtype=float) / 1000.0
        frame = pd.DataFrame({"time_s": t - t[0], "co2_ppm": raw["Gas1"].astype(float),
                              "temperature_c": raw["Temperature"].astype(float),
                              "humidity_rh": raw["Humidity"].astype(float)})
    except (KeyError, ValueError, IndexError, pd.errors.ParserError) as exc:
        raise DataError(f"{p}: not a SCD40 session log ({type(exc).__name__}: {exc})") from exc
    return frame.drop_duplicates("time_s", keep="first").reset_index(drop=True)


def read_lepton_y16(path: Path | str):
    """Real Lepton 3.5 frames (PureThermal Y16 recorder, gzip): magic ``PTY16V1``, a
    little-endian u32 header length and JSON header, then per frame a u64 index, f64 time
    [s], i64 time [ms] and 120 x 160 u16 centikelvin pixels. Returns a
    :class:`firesight.sensors.frames.LeptonFrames` (0.01 K per count, times from the first
    frame)."""
    from firesight.sensors.frames import LeptonFrames

    p = _require_file(Path(path))
    try:
        data = gzip.decompress(p.read_bytes())
    except (OSError, EOFError) as exc:
        raise DataError(f"{p}: not a gzip file ({exc})") from exc
    if not data.startswith(b"PTY16V1\n"):
        raise DataError(f"{p}: no PTY16V1 magic")
    (head_len,) = struct.unpack_from("<I", data, 8)
    header = json.loads(data[12:12 + head_len])
    h, w = int(header["height"]), int(header["width"])
    record = np.dtype([("index", "<u8"), ("time_s", "<f8"), ("time_ms", "<i8"), ("pixels", "<u2", (h, w))])
    body = data[12 + head_len:]
    if len(body) % record.itemsize:
        raise DataError(f"{p}: {len(body)} bytes of frames is not a whole number of {record.itemsize}-byte frames")
    frames = np.frombuffer(body, dtype=record)
    time_s = frames["time_s"] - frames["time_s"][0]
    n = len(frames)
    return LeptonFrames(frames=np.ascontiguousarray(frames["pixels"]), time_s=time_s,
                        resolution_k=np.full(n, 0.01, np.float32), ffc_state=np.zeros(n, np.uint8))


# -- real fires through the SCD41 model -------------------------------------------------------
def _through_scd41(time_s: np.ndarray, co2_ppm: np.ndarray, temperature_c: np.ndarray,
                   humidity_rh: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """True fields (any grid, NaN gaps filled by the last value) -> SCD41 readings, with
    :data:`FIRE_HISTORY_S` of the starting state before the first time."""
    from firesight.sensors.scd41 import SCD41Sensor

    fields = []
    for values in (co2_ppm, temperature_c, humidity_rh):
        filled = pd.Series(np.asarray(values, dtype=float)).ffill().bfill().to_numpy()
        if not np.isfinite(filled).all():
            raise DataError("a fire trace holds no finite values")
        fields.append(filled)
    t0, t1 = float(time_s[0]), float(time_s[-1])
    grid = np.arange(t0 - FIRE_HISTORY_S, t1 + 1e-9, 1.0)
    true = [np.interp(grid, time_s, f) for f in fields]  # flat before t0: np.interp holds the first value
    readings = SCD41Sensor(rng=rng).measure(grid, *true).to_frame()
    # status 4 (air above the 60 C operating limit) still carries values, as the device does
    readings = readings[np.isin(readings["status"], (0, 4))]
    return readings[["time_s", "co2_ppm", "temperature_c", "humidity_rh"]].reset_index(drop=True)


def faa_readings(real_data_dir: Path | str, test: int, *, rng: np.random.Generator) -> pd.DataFrame:
    """FAA cargo-bay test ``test`` as SCD41 readings (ignition at time 0)."""
    from firesight.validation.nist import read_faa_test

    table = read_faa_test(real_data_dir, test)
    probes = [c for c in FAA_SERIES["co2"] if c in table.columns and table[c].notna().sum() > 10]
    if not probes:
        raise DataError(f"FAA test {test}: no CO2 probe with data among {FAA_SERIES['co2']}")
    if probes[0] == "TC36 CO2" and table["TC36"].notna().sum() > 10:
        rise_k = table["TC36"].to_numpy(float)
    else:
        ceiling = [f"TC{i}" for i in range(1, 41) if f"TC{i}" in table.columns]
        rise_k = table[ceiling].median(axis=1, skipna=True).to_numpy(float)
    t = table["Time"].to_numpy(float)
    co2 = FAA_AMBIENT["co2_ppm"] + 1e6 * table[probes[0]].to_numpy(float)
    temp = FAA_AMBIENT["temperature_c"] + rise_k
    return _through_scd41(t, co2, temp, np.full(t.size, FAA_AMBIENT["humidity_rh"]), rng)


def delco_readings(real_data_dir: Path | str, test: int, *, rng: np.random.Generator) -> pd.DataFrame:
    """DelCo trainer test ``test`` as SCD41 readings (CO2 mol/mol and C as measured)."""
    from firesight.validation.nist import read_delco_test

    table = read_delco_test(real_data_dir, test)
    temp_col = DELCO_SERIES["temperature"]
    if temp_col not in table.columns:  # trees are numbered per test: take the first A tree
        trees = [c for c in table.columns if c.startswith("TC_A") and c.endswith("_1")]
        if not trees:
            raise DataError(f"DelCo test {test}: no TC_A thermocouple tree")
        temp_col = trees[0]
    if DELCO_SERIES["co2"] not in table.columns:
        raise DataError(f"DelCo test {test}: no column {DELCO_SERIES['co2']!r}")
    t = table["Time"].to_numpy(float)
    co2 = 1e6 * table[DELCO_SERIES["co2"]].to_numpy(float)
    first = float(pd.Series(co2).dropna().iloc[0])
    if first < FAA_AMBIENT["co2_ppm"]:  # the analyser reads ~50 ppm before the fire: zeroed on room air
        co2 = co2 + (FAA_AMBIENT["co2_ppm"] - first)
    temp = table[temp_col].to_numpy(float)
    return _through_scd41(t, co2, temp, np.full(t.size, FAA_AMBIENT["humidity_rh"]), rng)


__all__ = ["OFFICE_MAX_GAP_S", "OFFICE_NOISE", "FIRE_HISTORY_S", "read_office_log", "office_days",
           "read_scd40_session", "read_lepton_y16", "faa_readings", "delco_readings", "FAA_TESTS",
           "DELCO_TESTS"]


# -- the checks -------------------------------------------------------------------------------
def _recordings(real_data_dir: Path, seed: int, only: set[str] | None):
    """(name, kind, source, scd41 readings or None, thermal frames or None) of every check."""
    root = Path(real_data_dir)

    def wanted(group: str) -> bool:
        return only is None or group in only

    if wanted("office"):
        files = [root / "Occupancy_Office" / name for name in ("datatest.txt", "datatraining.txt")]
        for day, readings in office_days(files, rng=np.random.default_rng(seed)).items():
            yield f"office {day}", "ordinary", "Occupancy_Office/datatest.txt+datatraining.txt", readings, None
    if wanted("scd40"):
        for path in sorted((root / "SCD40_Rooms").glob("session_*.csv")):
            yield f"scd40 {path.stem}", "ordinary", f"SCD40_Rooms/{path.name}", read_scd40_session(path), None
        if not any((root / "SCD40_Rooms").glob("session_*.csv")):
            raise NotFoundError(f"no SCD40 sessions in {root / 'SCD40_Rooms'}")
    if wanted("lepton"):
        for path in sorted((root / "Lepton35_Indoor").glob("*.raw.y16.gz")):
            yield f"lepton {path.name.split('.')[0]}", "ordinary", f"Lepton35_Indoor/{path.name}", None, \
                read_lepton_y16(path)
        if not any((root / "Lepton35_Indoor").glob("*.raw.y16.gz")):
            raise NotFoundError(f"no Lepton frames in {root / 'Lepton35_Indoor'}")
    if wanted("faa"):
        for test in FAA_TESTS:
            yield f"faa test {test}", "fire", f"FAA_Cargo_Compartments/TestCase{test}_FAA_EXPDATA.csv", \
                faa_readings(root, test, rng=np.random.default_rng([seed, test])), None
    if wanted("delco"):
        for test in DELCO_TESTS:
            yield f"delco test {test}", "fire", f"DelCo_Trainers/Test_{test}.csv", \
                delco_readings(root, test, rng=np.random.default_rng([seed, 100 + test])), None


def gas_windows(readings: pd.DataFrame, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Window times [s] (every ``step_s`` from the first reading to the last) and the
    :data:`~firesight.features.gas.GAS_FEATURES` rows of SCD41 ``readings``."""
    from firesight.features.gas import scd41_features_at, scd41_reading_table
    from firesight.features.windows import emission_times

    table = scd41_reading_table(*(readings[c].to_numpy(float) for c in ("time_s", "co2_ppm", "temperature_c",
                                                                      "humidity_rh")))
    times = emission_times(float(table[0, 0]), float(table[-1, 0]), step_s)
    return times, scd41_features_at(table, times)


def real_fires(real_data_dir: Path | str, seed: int = 0):
    """(name, SCD41 readings) of every real fire trace, exactly as the checks make them."""
    for name, _, _, readings, _ in _recordings(Path(real_data_dir), seed, {"faa", "delco"}):
        yield name, readings


def _baseline_rules(readings: pd.DataFrame | None, thermal, step_s: float) -> dict:
    """The hand-written rules of :mod:`firesight.detection.baselines` on the same windows:
    first alarm [s] (None if none) and number of alarm episodes of each."""
    from firesight.detection.alerts import AlertState
    from firesight.detection.baselines import BASELINE_POLICY, default_baselines
    from firesight.detection.online import alert_summary
    from firesight.features.gas import GAS_FEATURES
    from firesight.features.windows import emission_times

    if readings is None:  # a camera recording: the thermal hot-spot rule through the online path
        from firesight.detection.online import OnlineDetector  # noqa: F401 - same extractor as replay
        from firesight.features.windows import OnlineFeatureExtractor

        ex = OnlineFeatureExtractor(step_s=step_s)
        rows = []
        times = emission_times(float(thermal.time_s[0]), float(thermal.time_s[-1]), step_s)
        k = 0
        for now in times:
            while k < len(thermal.time_s) and thermal.time_s[k] <= now:
                ex.push_thermal(float(thermal.time_s[k]), thermal.frames[k], float(thermal.resolution_k[k]))
                k += 1
            rows.append(ex.emit(float(now)))
        frame = pd.DataFrame([r for r in rows if r is not None])
        names = ("baseline_thermal_max",)
    else:
        times, features = gas_windows(readings, step_s)
        frame = pd.DataFrame(features, columns=list(GAS_FEATURES))
        frame.insert(0, "time_s", times)
        names = ("baseline_co2", "baseline_rate_temperature", "baseline_heat_ul521")
    frame.insert(0, "scenario_id", "recording")
    rules = default_baselines()
    out = {}
    for name in names:
        p = rules[name].fire_probability(frame)
        state = AlertState(BASELINE_POLICY)
        for now, value in zip(frame["time_s"].tolist(), p.tolist()):
            state.update(now, value)
        summary = alert_summary(state.changes, float(frame["time_s"].iloc[-1]))
        first = next((c["time_s"] for c in state.changes if c["level"] == "alarm"), None)
        out[name] = {"first_alarm_s": first, "alarms": summary["alarms"]}
    return out


def run_realcheck(bundle, real_data_dir: Path | str, *, seed: int = 0, only=None, progress=None) -> dict:
    """Replay every real recording through ``bundle`` (the shipped decision path) and the
    baseline rules.

    Parameters
    ----------
    bundle : DetectorBundle
    real_data_dir : path
        ``../shared/real-data``.
    seed : int
        Seed of the reading noise added to the office log and of the SCD41 devices that
        measure the fire traces.
    only : iterable of str, optional
        Groups to run among ``office``, ``scd40``, ``lepton``, ``faa``, ``delco`` (default all).

    Returns
    -------
    dict with ``checks``: one entry per recording (``name``, ``kind`` ordinary/fire,
    ``source``, ``variant``, ``n_windows``, ``duration_s``, ``max_probability``,
    ``first_alarm_s``, ``alarms``, ``longest_watch_s``, ``baselines``, ``passed``) and
    ``passed`` (every ordinary recording quiet — no alarm, no watch over 60 s — and every
    fire alarmed).
    """
    from firesight.detection.online import replay_recording

    only_set = None if only is None else {str(x) for x in only}
    step_s = float(bundle.info.get("step_s", 1.0))
    checks = []
    for name, kind, source, readings, thermal in _recordings(Path(real_data_dir), seed, only_set):
        if progress:
            progress(name)
        report = replay_recording(bundle, readings, thermal)
        ok = (report["first_alarm_s"] is None and report["longest_watch_s"] <= 60.0) if kind == "ordinary" \
            else report["first_alarm_s"] is not None
        checks.append({"name": name, "kind": kind, "source": source, "variant": report["variant"],
                       "n_windows": report["n_windows"], "duration_s": report["end_s"] - report["start_s"],
                       "max_probability": report["max_probability"], "first_alarm_s": report["first_alarm_s"],
                       "alarms": report["alarms"], "longest_watch_s": report["longest_watch_s"],
                       "baselines": _baseline_rules(readings, thermal, step_s), "passed": bool(ok)})
    return {"checks": checks, "passed": all(c["passed"] for c in checks), "seed": seed,
            "method": "see firesight.validation.realcheck (docs/evaluation.md, 'Real-data checks')"}


def realcheck_markdown(result: dict) -> str:
    """The checks as a Markdown table: the learned detector beside the baseline rules."""
    rules = ("baseline_co2", "baseline_rate_temperature", "baseline_heat_ul521", "baseline_thermal_max")
    head = ["recording", "kind", "variant", "windows", "max p", "first alarm s", "longest watch s", "passed",
            "CO2 rule", "rate+temp rule", "UL 521 heat", "thermal max"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def rule(check, name):
        r = check["baselines"].get(name)
        if r is None:
            return "—"
        return "no alarm" if r["first_alarm_s"] is None else f"alarm at {r['first_alarm_s']:.0f} s ({r['alarms']})"

    for c in result["checks"]:
        first = "—" if c["first_alarm_s"] is None else f"{c['first_alarm_s']:.0f}"
        lines.append("| " + " | ".join([c["name"], c["kind"], c["variant"], str(c["n_windows"]),
                                         f"{c['max_probability']:.3f}", first, f"{c['longest_watch_s']:.0f}",
                                         "yes" if c["passed"] else "**no**"]
                                        + [rule(c, r) for r in rules]) + " |")
    return "\n".join(lines) + "\n"
