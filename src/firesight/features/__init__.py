"""Features: thermal (Lepton 3.5 frames), gas (SCD41 readings) and fused windows.

Public names are re-exported here; see ``docs/features.md`` for every feature and its unit.
"""

from firesight.features.dataset import OUTPUT_COLUMNS, compute_dataset_features, read_features
from firesight.features.gas import GAS_FEATURES, SCD41_FEATURE_SETTINGS, SCD41_RESPONSE_TIME_S, scd41_window_features
from firesight.features.thermal import (FRAME_COLUMNS, THERMAL_FEATURES, THERMAL_SETTINGS, lepton_frame_features,
                                        thermal_window_features)
from firesight.features.windows import (FEATURE_NAMES, OnlineFeatureExtractor, compute_scenario_features,
                                        label_windows, truth_state_at)

__all__ = [
    "FEATURE_NAMES", "FRAME_COLUMNS", "GAS_FEATURES", "OUTPUT_COLUMNS", "OnlineFeatureExtractor",
    "SCD41_FEATURE_SETTINGS", "SCD41_RESPONSE_TIME_S", "THERMAL_FEATURES", "THERMAL_SETTINGS",
    "compute_dataset_features", "compute_scenario_features", "label_windows", "lepton_frame_features",
    "read_features", "scd41_window_features", "thermal_window_features", "truth_state_at",
]
