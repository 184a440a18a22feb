"""Fire growth: t-squared curves with incipient smouldering, fuel-limited peaks, burnout
decay and suppression, and the products each phase releases.

References
----------
.. [1] NFPA 204, Standard for Smoke and Heat Venting (2021), Annex on t-squared fires:
   growth coefficients for slow / medium / fast / ultrafast fires, which reach 1055 kW
   (1000 Btu/s) in 600 / 300 / 150 / 75 s.
.. [2] SFPE Handbook of Fire Protection Engineering, 5th ed. (Springer, 2016),
   Chapter 26 (Babrauskas, "Heat release rates"): t-squared design fires.
.. [3] EN 1991-1-2:2002, Eurocode 1: Actions on structures exposed to fire, Annex E.4:
   the decay phase begins when 70 % of the fire load has been consumed.
.. [4] T. J. Ohlemiller, "Smoldering combustion", SFPE Handbook 4th ed., Chapter 2-9:
   smouldering fronts release 0.01-2 kW in furnishings, long before any flaming.
.. [5] G. W. Mulholland, C. Croarkin, "Specific extinction coefficient of flame generated
   smoke", Fire and Materials 24 (2000) 227-230: 8.7 m2/g for flaming soot; G. W.
   Mulholland, "Smoke production and properties", SFPE Handbook 3rd ed., Ch. 2-13:
   about 4.4 m2/g for smouldering aerosol.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import cumulative_trapezoid

from firesight.errors import InvalidParameterError, require
from firesight.physics.fuels import SMOULDERING_PROPERTIES, get_fuel, get_smouldering

__all__ = [
    "T_SQUARED_ALPHA_KW_S2",
    "STATE_NONE",
    "STATE_SMOULDERING",
    "STATE_FLAMING",
    "BURNOUT_DECAY_FRACTION",
    "SPECIFIC_EXTINCTION_M2_PER_G",
    "FireSpec",
    "FireHistory",
    "t_squared_hrr",
    "simulate_fire",
]

#: t-squared growth coefficients alpha [kW/s2] from NFPA 204 [1] (Q = 1055 kW at
#: 600 / 300 / 150 / 75 s).
T_SQUARED_ALPHA_KW_S2: dict[str, float] = {
    "slow": 0.00293,
    "medium": 0.01172,
    "fast": 0.0469,
    "ultrafast": 0.1876,
}

STATE_NONE, STATE_SMOULDERING, STATE_FLAMING = 0, 1, 2

#: Fraction of the fuel energy consumed when the decay phase begins (Eurocode [3]).
BURNOUT_DECAY_FRACTION = 0.7

#: Specific light-extinction coefficient [m2/g] of flaming soot and smouldering aerosol
#: (Mulholland [5]); smouldering smoke is reported as soot of equal extinction.
SPECIFIC_EXTINCTION_M2_PER_G: dict[str, float] = {"flaming": 8.7, "smouldering": 4.4}

#: During decay, a fire counts as flaming while its HRR exceeds this fraction of the HRR
#: at the start of the decay, then as glowing/smouldering down to the second fraction,
#: then as out. (Model convention, not a published constant.)
_DECAY_FLAMING_FRACTION = 0.05
_DECAY_OUT_FRACTION = 0.005


def t_squared_hrr(time_s, alpha_kw_s2, *, ignition_time_s=0.0):
    """Heat release rate of a t-squared fire.

    Parameters
    ----------
    time_s : array_like
        Times [s].
    alpha_kw_s2 : float
        Growth coefficient [kW/s2], e.g. :data:`T_SQUARED_ALPHA_KW_S2` ``["fast"]``.
    ignition_time_s : float
        Start of the growth (effective ignition) [s].

    Returns
    -------
    numpy.ndarray
        Heat release rate [kW], zero before ignition.

    Notes
    -----
    .. math:: \\dot Q(t) = \\alpha\\,\\max(t - t_{ign}, 0)^2

    References
    ----------
    .. [1] NFPA 204 (2021), t-squared fires.
    .. [2] SFPE Handbook 5th ed., Chapter 26.
    """
    require(np.isfinite(alpha_kw_s2) and alpha_kw_s2 >= 0, "alpha_kw_s2", ">= 0", alpha_kw_s2)
    t = np.asarray(time_s, dtype=float)
    return alpha_kw_s2 * np.clip(t - ignition_time_s, 0.0, None) ** 2


@dataclass(kw_only=True)
class FireSpec:
    """What burns and how (all keyword arguments).

    Attributes
    ----------
    fuel : str
        Key of :data:`firesight.physics.fuels.FUEL_PROPERTIES`.
    ignition_time_s : float
        Time the fire starts (smouldering or flaming) [s].
    growth_alpha_kw_s2 : float
        t-squared growth coefficient of the flaming phase [kW/s2].
    peak_hrr_kw : float
        Ventilation- or area-limited peak heat release rate [kW].
    smoulder_duration_s : float
        Length of the incipient smouldering phase [s]; 0 means flaming from ignition.
    smoulder_hrr_kw : float
        Heat release rate the smouldering phase reaches [kW] (typically 0.01-2 kW [4]).
    fuel_energy_kj : float
        Heat the whole fuel load can release by flaming [kJ]; ``inf`` for no limit.
    transition_to_flaming : bool
        False: the fire smoulders for the whole scenario.
    suppression_time_s : float or None
        Time water or an extinguisher knocks the fire down [s].
    decay_time_constant_s : float
        e-folding time of the heat release after suppression [s].
    """

    fuel: str
    ignition_time_s: float
    growth_alpha_kw_s2: float
    peak_hrr_kw: float
    smoulder_duration_s: float = 0.0
    smoulder_hrr_kw: float = 0.0
    fuel_energy_kj: float = float("inf")
    transition_to_flaming: bool = True
    suppression_time_s: float | None = None
    decay_time_constant_s: float = 60.0

    def validate(self) -> None:
        """Raise :class:`InvalidParameterError` for out-of-range fields."""
        get_fuel(self.fuel)
        require(np.isfinite(self.ignition_time_s), "ignition_time_s", "finite", self.ignition_time_s)
        require(self.growth_alpha_kw_s2 > 0, "growth_alpha_kw_s2", "> 0", self.growth_alpha_kw_s2)
        require(self.peak_hrr_kw > 0, "peak_hrr_kw", "> 0", self.peak_hrr_kw)
        require(self.smoulder_duration_s >= 0, "smoulder_duration_s", ">= 0", self.smoulder_duration_s)
        require(self.smoulder_hrr_kw >= 0, "smoulder_hrr_kw", ">= 0", self.smoulder_hrr_kw)
        require(self.fuel_energy_kj > 0, "fuel_energy_kj", "> 0", self.fuel_energy_kj)
        require(self.decay_time_constant_s > 0, "decay_time_constant_s", "> 0",
                self.decay_time_constant_s)
        smoulders = self.smoulder_duration_s > 0 or not self.transition_to_flaming
        if smoulders:
            get_smouldering(self.fuel)
            require(self.smoulder_hrr_kw > 0, "smoulder_hrr_kw",
                    "> 0 when the fire smoulders", self.smoulder_hrr_kw)
        if self.suppression_time_s is not None:
            require(self.suppression_time_s > self.ignition_time_s, "suppression_time_s",
                    f"> ignition_time_s ({self.ignition_time_s})", self.suppression_time_s)


@dataclass
class FireHistory:
    """Ground truth of one fire on a time grid (all arrays shape ``(n_t,)``).

    ``soot_g_s`` is light-extinction-equivalent flaming soot: smouldering aerosol is
    scaled by the ratio of specific extinction coefficients (4.4 / 8.7, [5]).
    """

    time_s: np.ndarray
    hrr_kw: np.ndarray
    state: np.ndarray
    mass_loss_rate_g_s: np.ndarray
    co2_g_s: np.ndarray
    co_g_s: np.ndarray
    h2o_g_s: np.ndarray
    soot_g_s: np.ndarray
    radiative_fraction: float = 0.3
    ignition_time_s: float = 0.0
    extra: dict = field(default_factory=dict)


def _check_time(time_s) -> np.ndarray:
    t = np.asarray(time_s, dtype=float)
    if t.ndim != 1 or t.size < 2:
        raise InvalidParameterError("time_s", "a 1-D array of >= 2 times", t.shape)
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise InvalidParameterError("time_s", "finite and strictly increasing", "other")
    return t


def _undecayed_hrr(spec: FireSpec, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HRR and state of the fire before any burnout or suppression decay."""
    hrr = np.zeros_like(t)
    state = np.zeros(t.shape, dtype=np.int8)
    t_ign = spec.ignition_time_s
    since = t - t_ign
    burning = since >= 0
    if not spec.transition_to_flaming:
        ramp = 1.0 if spec.smoulder_duration_s == 0 else np.clip(
            0.1 + 0.9 * since / spec.smoulder_duration_s, 0.1, 1.0)
        hrr = np.where(burning, spec.smoulder_hrr_kw * ramp, 0.0)
        state[burning] = STATE_SMOULDERING
        return np.minimum(hrr, spec.peak_hrr_kw), state
    t_flame = t_ign + spec.smoulder_duration_s
    smoulder = burning & (t < t_flame)
    if spec.smoulder_duration_s > 0:
        hrr[smoulder] = spec.smoulder_hrr_kw * (0.1 + 0.9 * since[smoulder] / spec.smoulder_duration_s)
        state[smoulder] = STATE_SMOULDERING
        q0 = spec.smoulder_hrr_kw
    else:
        q0 = 0.0
    flaming = t >= t_flame
    # Continuous hand-over: the t-squared curve starts where smouldering ended.
    t0 = np.sqrt(q0 / spec.growth_alpha_kw_s2)
    hrr[flaming] = spec.growth_alpha_kw_s2 * (t[flaming] - t_flame + t0) ** 2
    state[flaming] = STATE_FLAMING
    return np.minimum(hrr, spec.peak_hrr_kw), state


def _heat_of_combustion_by_state(spec: FireSpec, state: np.ndarray) -> np.ndarray:
    fuel = get_fuel(spec.fuel)
    dh = np.full(state.shape, fuel.heat_of_combustion_kj_per_g)
    if spec.fuel in SMOULDERING_PROPERTIES:
        dh[state == STATE_SMOULDERING] = get_smouldering(spec.fuel).heat_of_combustion_kj_per_g
    return dh


def _decay_start(t, hrr, mass_rate_g_s, spec: FireSpec) -> float:
    """Time at which BURNOUT_DECAY_FRACTION of the fuel energy has been consumed."""
    if not np.isfinite(spec.fuel_energy_kj):
        return np.inf
    consumed_kj = cumulative_trapezoid(mass_rate_g_s, t, initial=0.0) * get_fuel(
        spec.fuel).heat_of_combustion_kj_per_g
    target = BURNOUT_DECAY_FRACTION * spec.fuel_energy_kj
    if consumed_kj[-1] < target:
        return np.inf
    return float(np.interp(target, consumed_kj, t))


def simulate_fire(spec: FireSpec, time_s: np.ndarray) -> FireHistory:
    """Heat release rate, burning state and product release of a fire over time.

    Parameters
    ----------
    spec : FireSpec
        The fire.
    time_s : numpy.ndarray
        Strictly increasing time grid [s].

    Returns
    -------
    FireHistory
        ``hrr_kw`` [kW], ``state`` (0 none, 1 smouldering, 2 flaming),
        ``mass_loss_rate_g_s`` [g/s] and product release rates [g/s].

    Notes
    -----
    Phases, with :math:`t_i` the ignition and :math:`t_f = t_i + t_{smoulder}`:

    * smouldering, :math:`t_i \\le t < t_f`: :math:`\\dot Q` rises linearly from 10 %
      to 100 % of ``smoulder_hrr_kw`` [4];
    * flaming growth: :math:`\\dot Q = \\min(\\alpha (t - t_f + t_0)^2, \\dot Q_{peak})`
      with :math:`t_0 = \\sqrt{\\dot Q_{smoulder}/\\alpha}` so the curve is continuous
      [1, 2];
    * burnout: when 70 % of ``fuel_energy_kj`` is consumed [3], at :math:`t_b`,
      :math:`\\dot Q = \\dot Q(t_b) e^{-(t - t_b)/\\tau_b}` with
      :math:`\\tau_b = 0.3 E / \\dot Q(t_b)`, so the fuel energy is conserved;
    * suppression at :math:`t_s`: :math:`\\dot Q = \\dot Q(t_s) e^{-(t-t_s)/\\tau_s}`,
      :math:`\\tau_s` = ``decay_time_constant_s``.

    Mass loss rate :math:`\\dot m = \\dot Q / \\Delta H_c` with the flaming or the
    smouldering heat of combustion; product rates are :math:`y_i \\dot m`.

    References
    ----------
    .. [1] NFPA 204 (2021).  .. [2] SFPE Handbook 5th ed., Ch. 26.
    .. [3] EN 1991-1-2 Annex E.4.  .. [4] Ohlemiller, SFPE Handbook Ch. 2-9.
    """
    spec.validate()
    t = _check_time(time_s)
    fuel = get_fuel(spec.fuel)
    hrr, state = _undecayed_hrr(spec, t)
    mass = hrr / _heat_of_combustion_by_state(spec, state)

    t_burn = _decay_start(t, hrr, mass, spec)
    decay_from, tau, q_start = np.inf, np.inf, 0.0
    if np.isfinite(t_burn):
        q_start = float(np.interp(t_burn, t, hrr))
        remaining_kj = (1.0 - BURNOUT_DECAY_FRACTION) * spec.fuel_energy_kj
        # Heat still to come, expressed at the heat of combustion of the current phase.
        dh_now = float(np.interp(t_burn, t, _heat_of_combustion_by_state(spec, state)))
        tau = remaining_kj * dh_now / fuel.heat_of_combustion_kj_per_g / max(q_start, 1e-9)
        decay_from = t_burn
    t_sup = spec.suppression_time_s if spec.suppression_time_s is not None else np.inf
    decay_state_at_start = STATE_FLAMING
    if np.isfinite(decay_from):
        decay_state_at_start = int(state[np.searchsorted(t, decay_from, side="right") - 1])
        in_decay = t >= decay_from
        hrr = np.where(in_decay, q_start * np.exp(-(t - decay_from) / tau), hrr)
    if np.isfinite(t_sup):
        q_sup = float(np.interp(t_sup, t, hrr))
        if not np.isfinite(decay_from) or t_sup < decay_from:
            decay_state_at_start = int(state[max(np.searchsorted(t, t_sup, side="right") - 1, 0)])
            q_start = q_sup
        in_sup = t >= t_sup
        hrr = np.where(in_sup, q_sup * np.exp(-(t - t_sup) / spec.decay_time_constant_s), hrr)
        decay_from = min(decay_from, t_sup)

    if np.isfinite(decay_from):
        decaying = t >= decay_from
        q_ref = max(q_start, 1e-12)
        glowing = decaying & (hrr < _DECAY_FLAMING_FRACTION * q_ref)
        # Liquids and gases cannot glow: below the flaming threshold they are out.
        out_fraction = (_DECAY_OUT_FRACTION if spec.fuel in SMOULDERING_PROPERTIES
                        else _DECAY_FLAMING_FRACTION)
        out = decaying & (hrr < out_fraction * q_ref)
        state = state.copy()
        state[decaying] = decay_state_at_start
        state[glowing] = STATE_SMOULDERING
        state[out] = STATE_NONE
        hrr = np.where(out, 0.0, hrr)

    dh = _heat_of_combustion_by_state(spec, state)
    mass = np.where(state == STATE_NONE, 0.0, hrr / dh)
    smouldering = state == STATE_SMOULDERING
    co2 = mass * fuel.co2_yield_g_per_g
    co = mass * fuel.co_yield_g_per_g
    h2o = mass * fuel.h2o_yield_g_per_g
    soot = mass * fuel.soot_yield_g_per_g
    if spec.fuel in SMOULDERING_PROPERTIES:
        sm = get_smouldering(spec.fuel)
        ratio = SPECIFIC_EXTINCTION_M2_PER_G["smouldering"] / SPECIFIC_EXTINCTION_M2_PER_G["flaming"]
        co2 = np.where(smouldering, mass * sm.co2_yield_g_per_g, co2)
        co = np.where(smouldering, mass * sm.co_yield_g_per_g, co)
        h2o = np.where(smouldering, mass * sm.h2o_yield_g_per_g, h2o)
        soot = np.where(smouldering, mass * sm.smoke_yield_g_per_g * ratio, soot)
    return FireHistory(
        time_s=t,
        hrr_kw=hrr,
        state=state.astype(np.int8),
        mass_loss_rate_g_s=mass,
        co2_g_s=co2,
        co_g_s=co,
        h2o_g_s=h2o,
        soot_g_s=soot,
        radiative_fraction=fuel.radiative_fraction,
        ignition_time_s=float(spec.ignition_time_s),
        extra={"burnout_decay_start_s": float(t_burn), "suppression_time_s": float(t_sup)},
    )
