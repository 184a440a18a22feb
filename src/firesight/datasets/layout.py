"""The dataset layout (ARCHITECTURE.md, "Dataset layout"): object keys, table columns and
the dataset format version. Writer and reader both take their names from here.

::

    {root}/dataset.json                    generation settings (seed, duration, frame rate, families)
    {root}/manifest.parquet                one row per completed scenario
    {root}/scenarios/{id}/thermal.zarr     zarr v3 group: frames uint16 (n, 120, 160) TLinear + per-frame arrays
    {root}/scenarios/{id}/scd41.parquet    SCD41 readings
    {root}/scenarios/{id}/truth.parquet    simulated ground truth per time step
    {root}/scenarios/{id}/scenario.json    parameters, seeds, family, label, poses, software version
"""

from __future__ import annotations

FORMAT = "firesight-dataset/1"

DATASET_JSON = "dataset.json"
MANIFEST = "manifest.parquet"
SCENARIOS_DIR = "scenarios"
THERMAL = "thermal.zarr"
SCD41 = "scd41.parquet"
TRUTH = "truth.parquet"
SCENARIO_JSON = "scenario.json"
SCENARIO_FILES = (THERMAL, SCD41, TRUTH, SCENARIO_JSON)
#: prefix of staging folders under ``scenarios/``; never listed in the manifest
TMP_PREFIX = ".tmp-"

FRAME_SHAPE = (120, 160)
#: frames per zarr chunk along time (one chunk ~2.5 MB raw, ~1 MB compressed)
FRAME_CHUNK = 64

#: per-frame arrays in thermal.zarr besides ``frames``, with their dtypes
THERMAL_ARRAYS = {
    "time_s": "float64",
    "gain": "uint8",
    "resolution_k": "float32",
    "ffc_state": "uint8",
    "frame_counter": "uint32",
    "valid": "bool",
}

SCD41_COLUMNS = ("time_s", "co2_ppm", "temperature_c", "humidity_rh", "status")
TRUTH_REQUIRED = ("time_s", "state", "hrr_kw")

#: manifest columns in order; ``params_json`` holds the full parameter set
MANIFEST_COLUMNS = (
    "id", "index", "family", "label", "is_fire", "seed", "duration_s", "frame_rate_hz",
    "n_frames", "ignition_time_s", "peak_hrr_kw", "room_volume_m3", "ceiling_height_m",
    "air_changes_per_hour", "ambient_temperature_c", "relative_humidity_rh",
    "source_view", "source_distance_m", "sensor_distance_m", "params_json",
)

LABELS = ("fire", "nuisance", "normal", "fault")


def scenario_key(scenario_id: str, name: str = "") -> str:
    """Object key of a scenario file (or of the scenario folder when ``name`` is empty)."""
    return f"{SCENARIOS_DIR}/{scenario_id}/{name}" if name else f"{SCENARIOS_DIR}/{scenario_id}"
