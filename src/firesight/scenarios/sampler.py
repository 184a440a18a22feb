"""Random draws shared by the scenario families: the room, where the Lepton and the
SCD41 sit, where a source stands relative to the camera's field of view, and when a fire
ignites. Every draw uses the injected ``numpy.random.Generator`` and returns plain
JSON-serialisable numbers (rounded for readability; the build reads them back as given).

References
----------
.. [1] FLIR Lepton 3.5 datasheet (500-0771-01-09): 160 x 120 pixels, 57 deg horizontal
   field of view (so 44.3 deg vertical for square 12 um pixels).
.. [2] ASHRAE Standard 62.1-2022 and CIBSE Guide A (2015), Table 1.5: air change rates
   of 0.3-1 /h in dwellings, 2-6 /h in offices and meeting rooms.
.. [3] Outdoor background CO2 of ~420 ppm (NOAA Global Monitoring Laboratory, 2024
   annual mean), higher near cities.
"""

from __future__ import annotations

import math

import numpy as np

#: Lepton 3.5 optics [1]: half horizontal / vertical field of view [deg].
LEPTON_HALF_HFOV_DEG = 28.5
LEPTON_HALF_VFOV_DEG = math.degrees(math.atan(math.tan(math.radians(28.5)) * 120 / 160))

#: Room parameter ranges (issue 2; ventilation from [2], background CO2 from [3]).
ROOM_RANGES = {
    "volume_m3": (10.0, 500.0),
    "height_m": (2.4, 8.0),
    "air_changes_per_hour": (0.3, 6.0),
    "outdoor_co2_ppm": (400.0, 460.0),
    "ambient_temperature_c": (16.0, 27.0),
    "relative_humidity_rh": (25.0, 65.0),
}

#: How a source appears to the camera, with its probability.
VIEW_PROBABILITIES = {"in_view": 0.6, "partly_out_of_view": 0.15, "occluded": 0.15, "out_of_view": 0.10}

#: Fires ignite this fraction of the way into a scenario, after a quiet baseline.
IGNITION_FRACTION = (0.15, 0.40)

_WALL_MARGIN_M = 0.3


def r(value: float, digits: int = 3) -> float:
    """Round for JSON readability."""
    return float(round(float(value), digits))


def loguniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def sample_room(rng: np.random.Generator, *, volume_m3: tuple[float, float] | None = None,
                height_m: tuple[float, float] | None = None) -> dict:
    """Room geometry, ventilation and ambient air.

    Ceiling height: 70 % of rooms 2.4-3.2 m (dwellings, offices), 30 % up to 8 m (halls);
    volume log-uniform within the issue's 10-500 m3 and a floor of 4-150 m2 per metre of
    height; aspect ratio 1-2 with the longer side away from the camera.
    """
    lo_h, hi_h = height_m or ROOM_RANGES["height_m"]
    height = rng.uniform(lo_h, min(hi_h, 3.2)) if (rng.random() < 0.7 or hi_h <= 3.2) \
        else rng.uniform(max(lo_h, 3.2), hi_h)
    lo_v, hi_v = volume_m3 or ROOM_RANGES["volume_m3"]
    lo_v, hi_v = max(lo_v, 4.0 * height), min(hi_v, 150.0 * height)
    volume = loguniform(rng, lo_v, max(hi_v, lo_v * 1.01))
    area = volume / height
    aspect = rng.uniform(1.0, 2.0)
    width = math.sqrt(area / aspect)
    depth = area / width
    return {
        "width_m": r(width), "depth_m": r(depth), "height_m": r(height),
        "volume_m3": r(width * depth * height, 2),
        "air_changes_per_hour": r(loguniform(rng, *ROOM_RANGES["air_changes_per_hour"])),
        "outdoor_co2_ppm": r(rng.uniform(*ROOM_RANGES["outdoor_co2_ppm"]), 1),
        "ambient_temperature_c": r(rng.uniform(*ROOM_RANGES["ambient_temperature_c"]), 2),
        "relative_humidity_rh": r(rng.uniform(*ROOM_RANGES["relative_humidity_rh"]), 1),
    }


def sample_camera(rng: np.random.Generator, room: dict) -> dict:
    """Lepton on the front wall (``y`` = 0.05 m) looking into the room (+y), mounted
    between 2.2 m and just under the ceiling. ``tilt_deg`` is set by :func:`aim_camera`."""
    height = room["height_m"]
    z = rng.uniform(min(2.2, height - 0.2), height - 0.15)
    return {
        "x_m": r(rng.uniform(0.25, 0.75) * room["width_m"]), "y_m": 0.05, "z_m": r(z),
        "yaw_deg": r(90.0 + rng.uniform(-20.0, 20.0), 2), "tilt_deg": 30.0,
    }


def aim_camera(rng: np.random.Generator, camera: dict, target: dict) -> None:
    """Tilt the camera so the target's base lies in the vertical field of view, with a
    random offset of up to +-0.6 of the half field (the target is not always centred)."""
    ground_m = math.hypot(target["x_m"] - camera["x_m"], target["y_m"] - camera["y_m"])
    depression = math.degrees(math.atan2(camera["z_m"] - target.get("z_m", 0.0), max(ground_m, 0.1)))
    tilt = depression + rng.uniform(-0.6, 0.6) * LEPTON_HALF_VFOV_DEG
    camera["tilt_deg"] = r(min(max(tilt, 5.0), 80.0), 2)


def _inside(room: dict, x: float, y: float, margin: float = _WALL_MARGIN_M) -> bool:
    return margin <= x <= room["width_m"] - margin and margin <= y <= room["depth_m"] - margin


def place_source(rng: np.random.Generator, room: dict, camera: dict, *, size_m: float,
                 view: str | None = None, z_m: float = 0.0, min_distance_m: float = 1.0) -> dict:
    """Floor position of a source of horizontal size ``size_m`` seen by the camera as
    ``view`` (drawn from :data:`VIEW_PROBABILITIES` when None).

    Bearing relative to the camera axis: ``in_view`` and ``occluded`` within 0.75 of the
    half field of view; ``partly_out_of_view`` straddling the edge; ``out_of_view``
    beyond it (seen only by the gas sensor). ``occlusion`` is the hidden fraction
    (0.4-0.9 behind furniture for ``occluded``).
    """
    if view is None:
        names = list(VIEW_PROBABILITIES)
        view = names[int(rng.choice(len(names), p=list(VIEW_PROBABILITIES.values())))]
    best = None
    for _ in range(400):
        distance = rng.uniform(min_distance_m, max(min_distance_m + 0.5, math.hypot(room["width_m"], room["depth_m"])))
        half_width_deg = math.degrees(math.atan2(size_m / 2, distance))
        side = 1.0 if rng.random() < 0.5 else -1.0
        if view in ("in_view", "occluded"):
            bearing = rng.uniform(-0.75, 0.75) * LEPTON_HALF_HFOV_DEG
        elif view == "partly_out_of_view":
            bearing = side * (LEPTON_HALF_HFOV_DEG + rng.uniform(-0.8, 0.8) * half_width_deg)
        else:
            bearing = side * rng.uniform(LEPTON_HALF_HFOV_DEG + half_width_deg + 3.0, 75.0)
        heading = math.radians(camera["yaw_deg"] + bearing)
        x = camera["x_m"] + distance * math.cos(heading)
        y = camera["y_m"] + distance * math.sin(heading)
        if _inside(room, x, y, max(_WALL_MARGIN_M, size_m / 2)):
            best = (x, y, distance, bearing)
            break
    if best is None:  # a small room: take the room centre and describe what that gives
        x, y = room["width_m"] / 2, room["depth_m"] / 2
        distance = math.hypot(x - camera["x_m"], y - camera["y_m"])
        bearing = math.degrees(math.atan2(y - camera["y_m"], x - camera["x_m"])) - camera["yaw_deg"]
        view = "in_view" if abs(bearing) < LEPTON_HALF_HFOV_DEG else "out_of_view"
        best = (x, y, distance, bearing)
    x, y, distance, bearing = best
    occlusion = rng.uniform(0.4, 0.9) if view == "occluded" else 0.0
    return {"x_m": r(x), "y_m": r(y), "z_m": r(z_m), "view": view, "occlusion": r(occlusion),
            "distance_m": r(math.dist((x, y, z_m), (camera["x_m"], camera["y_m"], camera["z_m"]))),
            "bearing_deg": r(bearing, 2)}


#: The SCD41 sits in the node's enclosure this far below the Lepton's aperture [m].
NODE_SCD41_BELOW_CAMERA_M = 0.05
#: Air exchange of the node's enclosure: a first-order lag between the room air at the
#: node and the SCD41 inside it [s]. Sensirion's SCD4x design-in guide asks for an
#: enclosure with openings close to the sensor and a small dead volume, and says the
#: enclosure slows the response; the range is a model assumption for a vented housing.
NODE_ENCLOSURE_TAU_S = (10.0, 60.0)
#: The node's electronics (Lepton, its breakout, the microcontroller) warm the air around
#: the SCD41 by this much above the room, on top of the SCD41's own self-heating that its
#: default 4 C temperature offset already removes [K]; model assumption for a ~1 W node
#: (Sensirion's design-in guide: place the sensor away from heat sources, because
#: self-heating of the host shifts the T and RH readings).
NODE_SELF_HEATING_K = (0.3, 2.5)


def node_sensor(rng: np.random.Generator, camera: dict, source: dict) -> dict:
    """The SCD41 of the node: in the same enclosure as the Lepton (one node holds both
    sensors), a few centimetres below its aperture, with the enclosure's air-exchange lag
    and the node's self-heating drawn per node. ``distance_m`` is the horizontal distance
    from the node to the source."""
    x, y = camera["x_m"], camera["y_m"]
    z = max(camera["z_m"] - NODE_SCD41_BELOW_CAMERA_M, 0.0)
    return {"x_m": r(x), "y_m": r(y), "z_m": r(z), "distance_m": r(math.hypot(x - source["x_m"], y - source["y_m"])),
            "enclosure_tau_s": r(rng.uniform(*NODE_ENCLOSURE_TAU_S), 2),
            "self_heating_k": r(rng.uniform(*NODE_SELF_HEATING_K), 3)}


def sample_ignition_time(rng: np.random.Generator, duration_s: float) -> float:
    """Ignition 15-40 % into the scenario, so a quiet pre-fire baseline exists."""
    return r(rng.uniform(*IGNITION_FRACTION) * duration_s, 2)


def choose(rng: np.random.Generator, options: list | tuple):
    """One of ``options`` (as a plain Python value)."""
    return options[int(rng.integers(len(options)))]
