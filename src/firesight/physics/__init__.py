"""Physics of early fires in rooms: fire growth and fuels, plume and ceiling jet, the
room zone model (and LWIR radiometry in :mod:`firesight.physics.radiometry`).

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
from firesight.physics.room import (
    Room,
    RoomHistory,
    RoomSources,
    occupant_co2_g_s,
    occupant_heat_w,
    simulate_room,
)

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
    "occupant_co2_g_s",
    "occupant_heat_w",
    "simulate_fire",
    "simulate_room",
    "t_squared_hrr",
]
