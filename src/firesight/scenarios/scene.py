"""The thermal scene: what the room looks like in the long-wave infrared, in world
coordinates, over time. Scenario families build it from the physics; the renderer
(:mod:`firesight.scenarios.render`) projects it through a camera pose onto pixels and the
Lepton model (:mod:`firesight.sensors.lepton`) turns it into device frames.

Coordinates: a right-handed room frame in metres with the origin at a floor corner,
``x`` along the width, ``y`` along the depth, ``z`` up. Every time-varying quantity is an
array on the scene's own time grid ``time_s``; the renderer interpolates to frame times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from firesight.sensors.pose import CameraPose

__all__ = ["CameraPose", "Orientation", "SmokeLayer", "ThermalObject", "ThermalScene"]

Orientation = Literal["horizontal", "vertical"]


@dataclass
class ThermalObject:
    """An emitting object: a flat ellipse lying on a surface (``horizontal``: a pool fire
    base, a stove ring, a sunlight patch) or standing up facing the camera (``vertical``:
    a flame, a person, a heater front).

    Attributes
    ----------
    name : str
        Label for debugging and pictures (``"flame"``, ``"person-2"``).
    center_m : array (3,) or (n_t, 3)
        Centre of the ellipse [m]; for a vertical object, the centre of its base edge is
        ``center_m - (0, 0, height/2)``.
    width_m, height_m : float or array (n_t,)
        Full extent [m] (for horizontal objects, ``height_m`` is the extent along ``y``).
    temperature_k : float or array (n_t,)
        Surface (or flame gas) temperature [K].
    emissivity : float or array (n_t,)
        Effective emissivity in 8–14 um [-]; a thin flame is partly transparent:
        ``1 - exp(-kappa * path_length)``, the rest shows what lies behind it.
    occlusion : float
        Fraction of the object hidden from the camera by something cooler [0..1].
    """

    name: str
    center_m: np.ndarray
    width_m: float | np.ndarray
    height_m: float | np.ndarray
    temperature_k: float | np.ndarray
    emissivity: float | np.ndarray = 0.95
    orientation: Orientation = "vertical"
    occlusion: float = 0.0


@dataclass
class SmokeLayer:
    """Hot upper layer under the ceiling, from the room zone model.

    ``depth_m`` is measured down from the ceiling [m]; ``emissivity`` is the layer's
    effective LWIR emissivity (soot-laden smoke emits and hides what is above it).
    """

    depth_m: np.ndarray
    temperature_k: np.ndarray
    emissivity: np.ndarray


@dataclass
class ThermalScene:
    """Everything the camera could see over the scenario's time grid."""

    time_s: np.ndarray
    width_m: float
    depth_m: float
    height_m: float
    #: surfaces (walls, floor, ceiling) temperature [K] over time, shape (n_t,)
    surface_temperature_k: np.ndarray
    surface_emissivity: float = 0.93
    objects: list[ThermalObject] = field(default_factory=list)
    smoke: SmokeLayer | None = None
