"""Room zone model: CO2, water vapour, soot and heat in a two-zone room (hot upper layer
over a cooler lower layer) with ventilation, outdoor background and occupants, plus what
a ceiling-mounted sensor at a given point sees. The saturation vapour pressure lives in
:mod:`firesight.physics.psychrometrics` and the occupants' CO2 and heat in
:mod:`firesight.physics.occupants` (both re-exported here).

The upper layer fills from the ceiling with the fire plume's flow (Heskestad
entrainment), so a sensor near the ceiling meets the products earlier and at a higher
concentration than the room average; near the plume it also sees the ceiling jet's
temperature (Alpert), delayed by the jet's travel time to the sensor, and the jet's
products, diluted exactly as its heat (the temperature analogy of NFPA 72 Annex B).

References
----------
.. [1] W. W. Jones, R. D. Peacock, G. P. Forney, P. A. Reneke, "CFAST - Consolidated Model
   of Fire Growth and Smoke Transport (Version 7), Volume 1: Technical Reference Guide",
   NIST TN 1889v1 (2021): two-zone conservation equations.
.. [2] G. Heskestad, "Fire plumes, flame height, and air entrainment", SFPE Handbook 5th
   ed., Ch. 13: plume mass flow.
.. [3] R. L. Alpert, "Ceiling jet flows", SFPE Handbook 5th ed., Ch. 14: ceiling-jet
   temperature, velocity and thickness (1/e depth about 0.11 H).
.. [4] O. A. Alduchov, R. E. Eskridge, "Improved Magnus form approximation of saturation
   vapor pressure", J. Appl. Meteor. 35 (1996) 601-609: e_s = 6.1094 exp(17.625 T /
   (T + 243.04)) hPa.
.. [5] A. Persily, L. de Jonge, "Carbon dioxide generation rates for building occupants",
   Indoor Air 27 (2017) 868-879, Eq. 1 and Table 4; ANSI/ASHRAE Standard 62.1-2022.
.. [6] ASHRAE Handbook - Fundamentals (2021), Chapter 9 (Thermal comfort): 1 met =
   58.1 W/m2, DuBois area of an average adult 1.8 m2.
.. [7] G. W. Mulholland, C. Croarkin, Fire and Materials 24 (2000) 227-230: specific
   extinction coefficient of flaming soot 8.7 m2/g.
.. [8] D. Drysdale, An Introduction to Fire Dynamics, 3rd ed. (Wiley, 2011), Section 2.3:
   convective heat transfer coefficients 5-25 W/(m2 K) for fire-heated gas on surfaces.
.. [9] SFPE Handbook 5th ed., Appendix "Thermophysical property data": gypsum board
   k = 0.17 W/(m K), rho = 800 kg/m3, c = 1090 J/(kg K).
.. [10] C. Huggett, "Estimation of rate of heat release by means of oxygen consumption
   measurements", Fire and Materials 4 (1980) 61-65: 13.1 MJ per kg of O2 consumed.
.. [11] CFAST 7 source, ``fire.f90`` (firemodels/cfast): the burning rate is limited to
   the O2 the plume entrains times 13.1 MJ/kg and a smooth lower-oxygen-limit factor
   0.5 + 0.5 tanh(800 (X_O2 - LOL) - 4); LOL = 0.15 by default (CFAST User's Guide,
   NIST SP 1889v2, &MISC LOWER_OXYGEN_LIMIT).
.. [12] G. Heskestad, M. A. Delichatsios, "Environments of fire detectors - Phase I:
   effect of fire size, ceiling height and material", NBS GCR 77-86 (1977), the basis of
   NFPA 72 (2022) Annex B.4: in plumes and ceiling jets the mass concentration of fire
   products is proportional to the excess temperature (both are conserved scalars
   diluted by the same entrainment), the ratio being the products' yield per unit of
   convected heat.
.. [13] ASHRAE Handbook - Fundamentals (2021), Ch. 7 "Fundamentals of control":
   proportional control over a throttling range (the error that takes the output from
   zero to full capacity) and proportional-plus-integral control, whose integral term
   removes the proportional offset; DOE-2.1E's zone thermostat uses the same
   throttling-range model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firesight.errors import InvalidParameterError, require
from firesight.physics._room_kernel import ALPERT_CONVECTIVE_FRACTION, zone_kernel
from firesight.physics.constants import GAS_CONSTANTS
from firesight.physics.occupants import OCCUPANT_CONSTANTS, occupant_co2_g_s, occupant_heat_w
from firesight.physics.psychrometrics import (
    MAGNUS_CONSTANTS,
    magnus_saturation_vapour_pressure_pa,
    relative_humidity_from_vapour_pressure,
)
from firesight.units import ZERO_CELSIUS_K

__all__ = [
    "Room",
    "RoomSources",
    "Thermostat",
    "RoomHistory",
    "simulate_room",
    "occupant_co2_g_s",
    "occupant_heat_w",
    "magnus_saturation_vapour_pressure_pa",
    "relative_humidity_from_vapour_pressure",
    "ROOM_CONSTANTS",
    "ALPERT_CONVECTIVE_FRACTION",
]

#: Constants of the zone model [SI]: standard pressure, gas constant, molar masses
#: [g/mol], specific heat of air [J/(kg K)], soot specific extinction [7] [m2/g], O2 mole
#: fraction of dry air [-] and heat released per gram of O2 consumed [J/g] [10]; the
#: Magnus [4] and occupant [5, 6] coefficients of :mod:`.psychrometrics` and
#: :mod:`.occupants` are included under their own keys.
ROOM_CONSTANTS = {
    **GAS_CONSTANTS,
    "cp_air_j_kg_k": 1005.0,
    **MAGNUS_CONSTANTS,
    "soot_extinction_m2_g": 8.7,
    **OCCUPANT_CONSTANTS,
    "oxygen_mole_fraction_dry_air": 0.2095,
    "oxygen_heat_release_j_g": 13100.0,
}

_P = ROOM_CONSTANTS["pressure_pa"]
_R = ROOM_CONSTANTS["gas_constant_j_mol_k"]


@dataclass
class Room:
    """A rectangular room (origin at a floor corner; x along width, y along depth).

    Attributes
    ----------
    width_m, depth_m, height_m : float
        Dimensions [m].
    air_changes_per_hour : float
        Ventilation rate [1/h] (outdoor air in, room air out).
    outdoor_co2_ppm : float
        Background CO2 of the supply air [ppm].
    ambient_temperature_c : float
        Initial room and supply-air temperature [C].
    relative_humidity_rh : float
        Initial room and supply-air relative humidity [%].
    initial_co2_ppm : float or None
        Room CO2 at t = 0 [ppm]; None means equal to ``outdoor_co2_ppm``.
    heat_transfer_coefficient_w_m2k : float
        Convective loss from the gas layers to the surfaces [W/(m2 K)] (5-25, [8]).
    layer_mixing_time_s : float
        e-folding time at which turbulence erodes the upper layer into the lower [s].
    wall_heat_capacity_j_m2k : float
        Heat capacity per area of the lining that the gas heats [J/(m2 K)]; 12.7 mm
        gypsum board: 800 kg/m3 x 1090 J/(kg K) x 0.0127 m = 11,000 [9].
    wall_back_conductance_w_m2k : float
        Conductance from the lining through the wall to the far side at ambient
        temperature [W/(m2 K)] (an internal stud wall or ceiling, U ~ 2 [9]).
    lower_oxygen_limit_mole_fraction : float
        O2 mole fraction of the gas feeding the fire below which it cannot burn [-]
        (CFAST default 0.15 [11]).
    """

    width_m: float
    depth_m: float
    height_m: float
    air_changes_per_hour: float = 0.5
    outdoor_co2_ppm: float = 420.0
    ambient_temperature_c: float = 21.0
    relative_humidity_rh: float = 45.0
    initial_co2_ppm: float | None = None
    heat_transfer_coefficient_w_m2k: float = 10.0
    layer_mixing_time_s: float = 600.0
    wall_heat_capacity_j_m2k: float = 11000.0
    wall_back_conductance_w_m2k: float = 2.0
    lower_oxygen_limit_mole_fraction: float = 0.15

    @property
    def volume_m3(self) -> float:
        """Room volume [m3]."""
        return self.width_m * self.depth_m * self.height_m

    @property
    def floor_area_m2(self) -> float:
        """Floor (and ceiling) area [m2]."""
        return self.width_m * self.depth_m

    def validate(self) -> None:
        """Raise :class:`InvalidParameterError` for out-of-range fields."""
        for name in ("width_m", "depth_m", "height_m", "heat_transfer_coefficient_w_m2k",
                     "layer_mixing_time_s", "wall_heat_capacity_j_m2k",
                     "wall_back_conductance_w_m2k"):
            v = getattr(self, name)
            require(np.isfinite(v) and v > 0, name, "finite and > 0", v)
        require(self.air_changes_per_hour >= 0, "air_changes_per_hour", ">= 0",
                self.air_changes_per_hour)
        require(0 <= self.outdoor_co2_ppm < 1e5, "outdoor_co2_ppm", "in [0, 1e5)",
                self.outdoor_co2_ppm)
        require(-40 <= self.ambient_temperature_c <= 60, "ambient_temperature_c",
                "in [-40, 60]", self.ambient_temperature_c)
        require(0 <= self.relative_humidity_rh <= 100, "relative_humidity_rh", "in [0, 100]",
                self.relative_humidity_rh)
        require(0 <= self.lower_oxygen_limit_mole_fraction < 0.2,
                "lower_oxygen_limit_mole_fraction", "in [0, 0.2)",
                self.lower_oxygen_limit_mole_fraction)
        if self.initial_co2_ppm is not None:
            require(0 <= self.initial_co2_ppm < 1e5, "initial_co2_ppm", "in [0, 1e5)",
                    self.initial_co2_ppm)


@dataclass
class Thermostat:
    """A thermostat-controlled heating and cooling terminal (fan coil, VAV box) that holds
    the occupied (lower) zone at a setpoint with proportional-plus-integral control [13].

    Output :math:`u = K_p (T_{set} - T_l) + I`, :math:`dI/dt = K_p (T_{set} - T_l)/T_i`,
    :math:`K_p` = the larger capacity / ``throttling_range_k``, clamped to
    [-``cooling_capacity_kw``, ``heating_capacity_kw``] (the integral too: anti-windup),
    added to the lower layer's heat.

    Attributes
    ----------
    setpoint_c : float
        Setpoint [C].
    throttling_range_k : float
        Error that takes the output from zero to full heating capacity [K] (> 0).
    integral_time_s : float
        Integral (reset) time [s]; 0 for proportional-only control.
    heating_capacity_kw, cooling_capacity_kw : float
        Largest heat the terminal adds, and removes [kW] (>= 0).
    initial_output_kw : float or None
        The integral term at t = 0 [kW]; None: minus the distributed heat at t = 0, a
        controller that has been holding the room against the loads already present.
    """

    setpoint_c: float
    throttling_range_k: float
    integral_time_s: float
    heating_capacity_kw: float
    cooling_capacity_kw: float
    initial_output_kw: float | None = None

    def validate(self) -> None:
        """Raise :class:`InvalidParameterError` for out-of-range fields."""
        require(-40 <= self.setpoint_c <= 60, "setpoint_c", "in [-40, 60]", self.setpoint_c)
        require(np.isfinite(self.throttling_range_k) and self.throttling_range_k > 0, "throttling_range_k",
                "finite and > 0", self.throttling_range_k)
        for name in ("integral_time_s", "heating_capacity_kw", "cooling_capacity_kw"):
            v = getattr(self, name)
            require(np.isfinite(v) and v >= 0, name, "finite and >= 0", v)
        if self.initial_output_kw is not None:
            require(np.isfinite(self.initial_output_kw), "initial_output_kw", "finite", self.initial_output_kw)


@dataclass
class RoomSources:
    """Heat and species sources on the time grid (arrays of shape ``(n_t,)``; scalars
    broadcast).

    Attributes
    ----------
    plume_hrr_kw : array
        Heat release rate of the main buoyant plume (fire, stove) [kW].
    plume_xy_m : array (2,)
        Plume axis position on the floor plan [m].
    plume_radiative_fraction : float or array
        Radiated fraction of the plume's heat release [-]; the rest heats the gas.
    distributed_heat_kw : array
        Heat added to the room air without a plume (heaters, people, sun) [kW].
    co2_g_s, h2o_g_s, soot_g_s : array
        Release rates [g/s].
    air_changes_per_hour : array or None
        Overrides ``Room.air_changes_per_hour`` over time (window opening) [1/h].
    plume_base_height_m : float
        Height of the fire base above the floor [m] (a stove top, a table).
    plume_diameter_m : float
        Effective fire diameter for the Heskestad virtual origin [m].
    plume_species_fraction : array or None
        Share of the species carried by the plume into the upper layer [-]; None means
        ``plume_hrr / (plume_hrr + distributed_heat)`` (species follow the heat).
    thermostat : Thermostat or None
        A thermostat-controlled terminal that holds the room at its setpoint; None: none.
    """

    plume_hrr_kw: np.ndarray | float
    plume_xy_m: np.ndarray
    plume_radiative_fraction: np.ndarray | float = 0.3
    distributed_heat_kw: np.ndarray | float = 0.0
    co2_g_s: np.ndarray | float = 0.0
    h2o_g_s: np.ndarray | float = 0.0
    soot_g_s: np.ndarray | float = 0.0
    air_changes_per_hour: np.ndarray | float | None = None
    plume_base_height_m: float = 0.0
    plume_diameter_m: float = 0.3
    plume_species_fraction: np.ndarray | float | None = None
    thermostat: Thermostat | None = None


@dataclass
class RoomHistory:
    """Zone-model output on the time grid (arrays of shape ``(n_t,)``).

    ``co2_ppm_mean`` room average [ppm]; ``co2_ppm_at_sensor``,
    ``temperature_c_at_sensor`` [C], ``humidity_rh_at_sensor`` [%] the true fields at
    the sensor (feed these to the SCD41 model); ``upper_layer_temperature_c``,
    ``layer_depth_m`` (down from the ceiling; 0 when there is no layer),
    ``upper_layer_co2_ppm`` and ``smoke_optical_density_per_m`` [1/m, base 10] of the hot
    layer (for the camera's smoke layer); ``surface_temperature_c`` the ceiling lining
    [C]; ``lower_layer_temperature_c``, ``temperature_c_mean`` [C];
    ``ceiling_jet_temperature_rise_k`` the Alpert rise applied at the sensor [K];
    ``co2_mass_g`` the CO2 in the room [g]; ``plume_hrr_kw`` the plume's heat release
    after the oxygen limit [kW]; ``lower_layer_oxygen_mole_fraction`` [-];
    ``oxygen_mass_g`` the O2 in the room [g]; ``hvac_heat_kw`` the heat the thermostat's
    terminal adds (negative: removes) [kW].
    """

    time_s: np.ndarray
    co2_ppm_mean: np.ndarray
    co2_ppm_at_sensor: np.ndarray
    temperature_c_at_sensor: np.ndarray
    humidity_rh_at_sensor: np.ndarray
    upper_layer_temperature_c: np.ndarray
    layer_depth_m: np.ndarray
    upper_layer_co2_ppm: np.ndarray
    smoke_optical_density_per_m: np.ndarray
    surface_temperature_c: np.ndarray
    lower_layer_temperature_c: np.ndarray | None = None
    temperature_c_mean: np.ndarray | None = None
    ceiling_jet_temperature_rise_k: np.ndarray | None = None
    co2_mass_g: np.ndarray | None = None
    plume_hrr_kw: np.ndarray | None = None
    lower_layer_oxygen_mole_fraction: np.ndarray | None = None
    oxygen_mass_g: np.ndarray | None = None
    hvac_heat_kw: np.ndarray | None = None


def _series(name, value, n):
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise InvalidParameterError(name, f"a scalar or an array of shape ({n},)", a.shape)
    if not np.all(np.isfinite(a)):
        raise InvalidParameterError(name, "finite values", "NaN or inf")
    return np.ascontiguousarray(a)


def simulate_room(time_s, room: Room, sources: RoomSources, *, sensor_xyz_m) -> RoomHistory:
    """Integrate the two-zone room model and sample it at a sensor.

    Parameters
    ----------
    time_s : numpy.ndarray
        Strictly increasing time grid [s] (steps up to any length; the integration
        sub-steps at <= 1 s).
    room : Room
        Geometry, ventilation and initial conditions.
    sources : RoomSources
        Heat and species sources on the grid.
    sensor_xyz_m : array_like (3,)
        Sensor position [m] (room frame; ``z`` up from the floor).

    Returns
    -------
    RoomHistory
        Room-mean and sensor-point CO2 [ppm], temperatures [C], RH [%], upper-layer
        depth [m], temperature and CO2, smoke optical density [1/m], ceiling surface
        temperature [C].

    Notes
    -----
    Upper layer volume :math:`V_u`, lower :math:`V_l = V - V_u`; plume entrainment
    :math:`\\dot m_p` (Heskestad [2]) at the interface height moves lower-layer gas up;
    ventilation :math:`q_v = \\mathrm{ACH}\\,V/3600` leaves from both layers in
    proportion to volume and enters the lower layer at outdoor conditions; turbulence
    returns :math:`V_u/\\tau_{mix}` to the lower layer. For each species mass
    :math:`M` (background included):

    .. math:: \\frac{dM_u}{dt} = f_p S + q_p C_l - (q_v V_u/V + q_{mix} + q_{exp}) C_u

    .. math:: \\frac{dM_l}{dt} = (1-f_p) S + q_v C_{out} - q_v \\frac{V_l}{V} C_l - q_p C_l
              + q_{mix} C_u

    with :math:`q_{exp} = \\dot Q_{net}/(P c_p / R_{air})` the thermal expansion that leaks
    out. Heat: each layer's excess enthalpy :math:`\\rho c_p V \\Delta T` gains the
    convective heat :math:`(1-\\chi_r)\\dot Q` (upper) and distributed heat (by volume),
    loses :math:`h A (T - T_{lining})` to its linings and what the flows carry [1]; each
    lining is a lumped node of heat capacity ``wall_heat_capacity_j_m2k`` cooled through
    the wall by ``wall_back_conductance_w_m2k`` [9]. Per layer, in temperature:
    :math:`C\\,dT/dt = G_{in}(T_{in} - T) + \\dot Q - hA(T - T_{lining})` with
    :math:`C = P c_p V/(R T)`, integrated backward-Euler so that a thin layer (vanishing
    :math:`C`) stays bounded at its quasi-steady, plume-fed value; cooling draws outdoor air
    in as heating pushes gas out. A layer colder than the gas below merges into it, and a
    minimum-volume sliver without plume flow is room air (no layer).

    Oxygen limit [10, 11]: the plume HRR is at most the O2 the plume entrains from the
    lower layer times 13.1 kJ/g and :math:`\\tfrac12 + \\tfrac12\\tanh(800(X_{O_2} - LOL) - 4)`
    (``Room.lower_oxygen_limit_mole_fraction``); the O2 burned leaves the gas and the
    plume's share :math:`f_p` of the species scales with the burning fraction.

    At the sensor: layer values weighted by how far the interface has passed it, or the
    ceiling jet where it is hotter: the lower layer's temperature plus Alpert's rise
    :math:`\\Delta T_{Alpert}(\\dot Q_{eq}, H, r)\\,e^{-(\\delta/0.11H)^2}` (a rise over
    the gas the plume entrains, not over the upper layer) with
    :math:`\\dot Q_{eq} = (1-\\chi_r)\\dot Q / 0.74` (Alpert's fires convected 74 %)
    (:math:`\\delta` the sensor's depth below the ceiling) [3]; species likewise, the
    jet's excess mass fraction being :math:`\\dot m_i c_p \\Delta T / \\dot Q_c` for a
    plume species source :math:`\\dot m_i` [12]; all lagged by the
    jet's travel time :math:`r / \\max(U_{Alpert}, 0.1\\,\\mathrm{m/s})`. Humidity: the
    vapour mole fraction times the pressure over the Magnus saturation pressure at the
    sensor temperature [4]. Smoke optical density :math:`D = \\sigma_s m_s/\\ln 10` [7].

    A :class:`Thermostat` adds its PI output to the lower layer's heat at each sub-step,
    from the lower layer's temperature at the start of the sub-step [13].

    References
    ----------
    See the module docstring.
    """
    room.validate()
    t = np.asarray(time_s, dtype=float)
    if t.ndim != 1 or t.size < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise InvalidParameterError("time_s", "a strictly increasing 1-D array of >= 2 times",
                                    getattr(t, "shape", t))
    n = t.size
    xyz = np.asarray(sensor_xyz_m, dtype=float)
    if xyz.shape != (3,) or not np.all(np.isfinite(xyz)):
        raise InvalidParameterError("sensor_xyz_m", "3 finite coordinates [m]", sensor_xyz_m)
    if not (0 <= xyz[2] <= room.height_m):
        raise InvalidParameterError("sensor_xyz_m[2]", f"in [0, {room.height_m}] m", xyz[2])
    pxy = np.asarray(sources.plume_xy_m, dtype=float)
    if pxy.shape != (2,) or not np.all(np.isfinite(pxy)):
        raise InvalidParameterError("plume_xy_m", "2 finite coordinates [m]", sources.plume_xy_m)
    require(0 <= sources.plume_base_height_m < room.height_m, "plume_base_height_m",
            f"in [0, {room.height_m}) m", sources.plume_base_height_m)
    require(sources.plume_diameter_m > 0, "plume_diameter_m", "> 0", sources.plume_diameter_m)

    q_plume = _series("plume_hrr_kw", sources.plume_hrr_kw, n)
    chi = _series("plume_radiative_fraction", sources.plume_radiative_fraction, n)
    q_dist = _series("distributed_heat_kw", sources.distributed_heat_kw, n)
    co2 = _series("co2_g_s", sources.co2_g_s, n)
    h2o = _series("h2o_g_s", sources.h2o_g_s, n)
    soot = _series("soot_g_s", sources.soot_g_s, n)
    ach = _series("air_changes_per_hour",
                  room.air_changes_per_hour if sources.air_changes_per_hour is None
                  else sources.air_changes_per_hour, n)
    for name, arr in (("plume_hrr_kw", q_plume), ("co2_g_s", co2), ("h2o_g_s", h2o),
                      ("soot_g_s", soot), ("air_changes_per_hour", ach)):
        if np.any(arr < 0):
            raise InvalidParameterError(name, ">= 0 everywhere", float(arr.min()))
    if np.any((chi < 0) | (chi >= 1)):
        raise InvalidParameterError("plume_radiative_fraction", "in [0, 1)", float(chi.min()))
    if sources.plume_species_fraction is None:
        total = q_plume + np.clip(q_dist, 0.0, None)
        fp = np.where(total > 0, q_plume / np.where(total > 0, total, 1.0), 0.0)
    else:
        fp = _series("plume_species_fraction", sources.plume_species_fraction, n)
        if np.any((fp < 0) | (fp > 1)):
            raise InvalidParameterError("plume_species_fraction", "in [0, 1]", float(fp.min()))

    radius = float(np.hypot(xyz[0] - pxy[0], xyz[1] - pxy[1]))
    t_amb_k = room.ambient_temperature_c + ZERO_CELSIUS_K
    c = ROOM_CONSTANTS
    co2_out_g_m3 = room.outdoor_co2_ppm * 1e-6 * _P * c["molar_mass_co2_g_mol"] / (_R * t_amb_k)
    co2_init_ppm = room.outdoor_co2_ppm if room.initial_co2_ppm is None else room.initial_co2_ppm
    co2_init_g_m3 = co2_init_ppm * 1e-6 * _P * c["molar_mass_co2_g_mol"] / (_R * t_amb_k)
    e_amb = float(magnus_saturation_vapour_pressure_pa(room.ambient_temperature_c)) * (
        room.relative_humidity_rh / 100.0)
    h2o_out_g_m3 = e_amb * c["molar_mass_h2o_g_mol"] / (_R * t_amb_k)
    o2_out_g_m3 = (c["oxygen_mole_fraction_dry_air"] * (_P - e_amb) * c["molar_mass_o2_g_mol"]
                   / (_R * t_amb_k))
    thermo = _thermostat_args(sources.thermostat, q_dist[0])

    out = zone_kernel(
        t, q_plume, chi, q_dist, co2, h2o, soot, ach, fp,
        room.width_m, room.depth_m, room.height_m, t_amb_k,
        co2_out_g_m3, co2_init_g_m3, h2o_out_g_m3,
        room.heat_transfer_coefficient_w_m2k, room.layer_mixing_time_s,
        room.wall_heat_capacity_j_m2k, room.wall_back_conductance_w_m2k, radius, float(xyz[2]),
        sources.plume_base_height_m, sources.plume_diameter_m,
        o2_out_g_m3, room.lower_oxygen_limit_mole_fraction, c["oxygen_heat_release_j_g"], *thermo,
    )
    (co2_mean, co2_sensor, temp_sensor, xv_sensor, t_upper, depth, co2_upper, od, t_surf,
     t_lower, t_mean, dt_jet, co2_mass, hrr_eff, o2_lower, o2_mass, hvac_w) = out
    rh = relative_humidity_from_vapour_pressure(xv_sensor * _P, temp_sensor)
    return RoomHistory(
        time_s=t,
        co2_ppm_mean=co2_mean,
        co2_ppm_at_sensor=co2_sensor,
        temperature_c_at_sensor=temp_sensor,
        humidity_rh_at_sensor=rh,
        upper_layer_temperature_c=t_upper,
        layer_depth_m=depth,
        upper_layer_co2_ppm=co2_upper,
        smoke_optical_density_per_m=od,
        surface_temperature_c=t_surf,
        lower_layer_temperature_c=t_lower,
        temperature_c_mean=t_mean,
        ceiling_jet_temperature_rise_k=dt_jet,
        co2_mass_g=co2_mass,
        plume_hrr_kw=hrr_eff,
        lower_layer_oxygen_mole_fraction=o2_lower,
        oxygen_mass_g=o2_mass,
        hvac_heat_kw=hvac_w / 1000.0 if sources.thermostat is not None else None,
    )


def _thermostat_args(thermostat: Thermostat | None, q_dist0_kw: float) -> tuple[float, ...]:
    """The kernel's thermostat arguments: setpoint [K], gain [W/K], integral time [s],
    heating and cooling capacities [W] and the integral term at t = 0 [W] (all zero
    without a thermostat: no output)."""
    if thermostat is None:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    thermostat.validate()
    heat_w, cool_w = thermostat.heating_capacity_kw * 1000.0, thermostat.cooling_capacity_kw * 1000.0
    initial_kw = -q_dist0_kw if thermostat.initial_output_kw is None else thermostat.initial_output_kw
    return (thermostat.setpoint_c + ZERO_CELSIUS_K, max(heat_w, cool_w) / thermostat.throttling_range_k,
            float(thermostat.integral_time_s), heat_w, cool_w, initial_kw * 1000.0)
