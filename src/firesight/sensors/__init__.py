"""Device models: true physical fields in, device readings out.

- :mod:`firesight.sensors.frames` — :class:`LeptonFrames`, a stack of Lepton frames with
  its telemetry (what the camera model writes and what datasets and recordings read).
- :mod:`firesight.sensors.lepton` — FLIR Lepton 3.5 radiometric thermal camera.
- :mod:`firesight.sensors.scd41` — Sensirion SCD41 CO2 / temperature / humidity sensor.

The names below are imported from their modules on first use, so that reading frames
(:mod:`~firesight.sensors.frames`) does not load the camera model's compiled kernels.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE_OF = {
    "LeptonFrames": "frames",
    "LEPTON35": "lepton", "LEPTON35_MODEL": "lepton", "LeptonCamera": "lepton", "LeptonFaults": "lepton",
    "to_celsius": "lepton",
    "SCD41": "scd41", "SCD41Faults": "scd41", "SCD41Readings": "scd41", "SCD41Sensor": "scd41",
}

__all__ = list(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
