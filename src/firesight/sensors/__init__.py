"""Device models: true physical fields in, device readings out.

- :mod:`firesight.sensors.lepton` — FLIR Lepton 3.5 radiometric thermal camera.
- :mod:`firesight.sensors.scd41` — Sensirion SCD41 CO2 / temperature / humidity sensor.
"""

from firesight.sensors.lepton import (
    LEPTON35,
    LEPTON35_MODEL,
    LeptonCamera,
    LeptonFaults,
    LeptonFrames,
    to_celsius,
)
from firesight.sensors.scd41 import SCD41, SCD41Faults, SCD41Readings, SCD41Sensor

__all__ = [
    "LEPTON35", "LEPTON35_MODEL", "LeptonCamera", "LeptonFaults", "LeptonFrames", "to_celsius",
    "SCD41", "SCD41Faults", "SCD41Readings", "SCD41Sensor",
]
