"""Where a camera sits in a room and where it looks.

The pose belongs to the device layer: the Lepton model (:mod:`firesight.sensors.lepton`)
projects rays through it, and the scene builders (:mod:`firesight.scenarios`) place a
camera with it. Room coordinates as in :mod:`firesight.scenarios.scene`: a right-handed
frame in metres with the origin at a floor corner, ``x`` along the width, ``y`` along the
depth, ``z`` up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CameraPose:
    """Where the Lepton sits and where it looks.

    ``position_m`` in room coordinates [m]; ``yaw_deg`` is the horizontal viewing
    direction measured from +x towards +y [deg]; ``tilt_deg`` is the downward tilt from
    horizontal [deg]; ``roll_deg`` the rotation about the viewing axis [deg].
    """

    position_m: np.ndarray
    yaw_deg: float
    tilt_deg: float
    roll_deg: float = 0.0
