"""Fire detectors, baselines, alert decision and scenario-level evaluation.

Public names are re-exported here. Detection imports no MLflow, web, MQTT or SQL library;
the registry lives in :mod:`firesight.model_registry`.
"""

from firesight.detection.alerts import LEVELS, AlertPolicy, AlertState, alert_levels
from firesight.detection.baselines import (BASELINE_POLICY, CO2Baseline, HeatDetectorBaseline,
                                           ThermalMaxBaseline, default_baselines)
from firesight.detection.boosting import XGBoostDetector
from firesight.detection.bundle import DetectorBundle
from firesight.detection.ensemble import EnsembleDetector
from firesight.detection.evaluation import (ScenarioTimeline, alarm_episodes, evaluate_timelines,
                                            scenario_outcome)
from firesight.detection.forest import RandomForestDetector
from firesight.detection.sequence import LSTMDetector
from firesight.detection.splits import ScenarioSplit, split_scenarios

__all__ = [
    "BASELINE_POLICY", "LEVELS", "AlertPolicy", "AlertState", "CO2Baseline", "DetectorBundle",
    "EnsembleDetector", "HeatDetectorBaseline", "LSTMDetector", "RandomForestDetector",
    "ScenarioSplit", "ScenarioTimeline", "ThermalMaxBaseline", "XGBoostDetector", "alarm_episodes",
    "alert_levels", "default_baselines", "evaluate_timelines", "scenario_outcome", "split_scenarios",
]
