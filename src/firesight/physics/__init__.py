"""Physics of early fires in rooms: fire growth and fuels, plume and ceiling jet, the
room zone model with its psychrometrics and occupant metabolism (and LWIR radiometry in
:mod:`firesight.physics.radiometry`).

Every model is a function named after it, with cited constants; see ``docs/physics.md``.
"""

from firesight.physics.fire import (
    STATE_FLAMING,
    STATE_NONE,
    STATE_SMOULDERING,
    T_SQUARED_ALPHA_KW_S2,
    FireHistory,
    FireSpec,
    simulate_fire,
    t_squared_hrr,
)
from firesight.physics.fuels import FUEL_PROPERTIES, SMOULDERING_PROPERTIES, Fuel
from firesight.physics.plume import (
    alpert_ceiling_jet_temperature_rise,
    alpert_ceiling_jet_velocity,
    heskestad_flame_height,
    heskestad_plume_centerline_temperature_rise,
    heskestad_plume_mass_flow,
    heskestad_virtual_origin,
)
from firesight.physics.occupants import occupant_co2_g_s, occupant_heat_w
from firesight.physics.psychrometrics import (
    magnus_saturation_vapour_pressure_pa,
    relative_humidity_from_vapour_pressure,
)
from firesight.physics.room import Room, RoomHistory, RoomSources, simulate_room

__all__ = [
    "FUEL_PROPERTIES",
    "SMOULDERING_PROPERTIES",
    "STATE_FLAMING",
    "STATE_NONE",
    "STATE_SMOULDERING",
    "T_SQUARED_ALPHA_KW_S2",
    "FireHistory",
    "FireSpec",
    "Fuel",
    "Room",
    "RoomHistory",
    "RoomSources",
    "alpert_ceiling_jet_temperature_rise",
    "alpert_ceiling_jet_velocity",
    "heskestad_flame_height",
    "heskestad_plume_centerline_temperature_rise",
    "heskestad_plume_mass_flow",
    "heskestad_virtual_origin",
    "magnus_saturation_vapour_pressure_pa",
    "occupant_co2_g_s",
    "occupant_heat_w",
    "relative_humidity_from_vapour_pressure",
    "simulate_fire",
    "simulate_room",
    "t_squared_hrr",
]
