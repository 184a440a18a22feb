"""Numba kernel of the two-zone room model (see :func:`firesight.physics.room.simulate_room`
for the equations and references).

Numerics. The state is each layer's volume, temperature and species masses. A layer's
heat capacity :math:`P c_p V/(R T)` goes to zero with its volume, so the terms that relax
its temperature (entrained gas, convection to the lining) are stiff when the layer is
thin: they are integrated backward-Euler in temperature, which keeps every layer
temperature a weighted mean of the temperatures feeding it plus the added heat over a
positive capacity (bounded, finite, and the quasi-steady plume-fed value when the
layer is a sliver). Species move between layers as exact exponential fractions of a
layer's content (positive and conservative for any step). A layer colder than the gas
under it is not buoyant and mixes into it; without plume flow a sliver at the minimum
volume is room air, not a layer.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from firesight.physics.lag import first_order_step
from firesight.units import ZERO_CELSIUS_K

#: Convective share of the heat release of the alcohol pool fires on which Alpert fitted
#: his ceiling-jet correlations (R. L. Alpert, SFPE Handbook 5th ed., ch. 14, discussion
#: of total versus convective heat release).
ALPERT_CONVECTIVE_FRACTION = 0.74


@njit(cache=True)
def _plume_mass_flow_kg_s(q_kw, chi, z_int, diameter):
    """Heskestad plume mass flow through the interface ``z_int`` [m] above the fire base."""
    if q_kw <= 0.0 or z_int <= 0.0:
        return 0.0
    qc_kw = (1.0 - chi) * q_kw
    z0 = 0.083 * q_kw ** 0.4 - 1.02 * diameter
    z_eff = max(z_int - z0, 0.05)
    return 0.071 * qc_kw ** (1.0 / 3.0) * z_eff ** (5.0 / 3.0) + 0.071 * 0.026 * qc_kw


@njit(cache=True)
def _burning_fraction(q_kw, chi, z_int, diameter, x_o2_lower, x_o2_upper, lol, h_o2_j_g):
    """Share of the requested HRR that the oxygen reaching the fire supports (CFAST):
    the plume's entrained O2 times a smooth lower-oxygen-limit factor, times 13.1 kJ/g."""
    if q_kw <= 0.0:
        return 1.0
    if z_int > 0.0:  # the fire breathes lower-layer gas through its plume
        m_p = _plume_mass_flow_kg_s(q_kw, chi, z_int, diameter)
        y_o2 = x_o2_lower * 31.9988 / 28.9647
        factor = 0.5 + 0.5 * np.tanh(800.0 * (x_o2_lower - lol) - 4.0)
        return min(1.0, m_p * 1000.0 * y_o2 * factor * h_o2_j_g / (q_kw * 1000.0))
    # the layer has reached the fire base: it burns in upper-layer gas
    return 0.5 + 0.5 * np.tanh(800.0 * (x_o2_upper - lol) - 4.0)


@njit(cache=True)
def zone_kernel(t, q_plume, chi, q_dist, co2, h2o, soot, ach, fp,
                 width, depth, height, t_amb, co2_out, co2_init, h2o_out,
                 h_conv, tau_mix, wall_cap, wall_back, radius, z_sensor, z_base, diameter,
                 o2_out, lol, h_o2_j_g, t_set, gain_w_k, integral_time_s, heat_cap_w, cool_cap_w,
                 integral0_w):
    n = t.size
    P = 101325.0
    R = 8.314462618
    M_CO2 = 44.0095
    M_H2O = 18.01528
    M_O2 = 31.9988
    M_AIR = 28.9647
    CP = 1005.0
    rho_amb = P * 0.0289647 / (R * t_amb)
    pcr = rho_amb * CP * t_amb  # P cp / R_air [J/m3]: heat capacity C = pcr V / T
    area = width * depth
    perim = 2.0 * (width + depth)
    vol = area * height
    v_min = 1e-4 * vol
    h_fire = height - z_base
    sensor_depth = height - z_sensor
    jet_depth = 0.11 * h_fire
    interface_band = max(0.05 * height, 0.02)

    co2_mean = np.empty(n)
    co2_sensor = np.empty(n)
    temp_sensor = np.empty(n)
    xv_sensor = np.empty(n)
    t_upper = np.empty(n)
    layer_depth = np.empty(n)
    co2_upper = np.empty(n)
    od = np.empty(n)
    t_surf_out = np.empty(n)
    t_lower = np.empty(n)
    t_mean = np.empty(n)
    dt_jet_out = np.empty(n)
    co2_mass = np.empty(n)
    hrr_eff = np.empty(n)
    o2_lower = np.empty(n)
    o2_mass = np.empty(n)
    hvac_w = np.empty(n)

    vu = v_min
    tu = t_amb
    tl = t_amb
    mu_c = co2_init * vu
    ml_c = co2_init * (vol - vu)
    mu_w = h2o_out * vu
    ml_w = h2o_out * (vol - vu)
    mu_s = 0.0
    ml_s = 0.0
    mu_o = o2_out * vu
    ml_o = o2_out * (vol - vu)
    t_surf = t_amb  # lining in contact with the upper layer (ceiling)
    t_wall = t_amb  # lining in contact with the lower layer
    lag_c = 0.0
    lag_t = 0.0
    lag_x = 0.0
    # Thermostat (PI on the lower layer's temperature; zero gain and capacities: none). The
    # integral term starts at ``integral0_w`` (a controller that has been running) and is
    # clamped to the capacities (anti-windup).
    integ = min(max(integral0_w, -cool_cap_w), heat_cap_w)
    u_hvac = min(max(gain_w_k * (t_set - tl) + integ, -cool_cap_w), heat_cap_w)

    for i in range(n):
        # --- sample the state at t[i] ---
        vl = vol - vu
        nu = P * vu / (R * tu)
        nl = P * vl / (R * tl)
        cu_ppm = mu_c / M_CO2 / nu * 1e6
        cl_ppm = ml_c / M_CO2 / nl * 1e6
        xwu = mu_w / M_H2O / nu
        xwl = ml_w / M_H2O / nl
        d = vu / area
        w = min(max((d - sensor_depth) / interface_band + 0.5, 0.0), 1.0)
        if vu <= 2.0 * v_min:
            w = 0.0
        x_o2_u = mu_o / M_O2 / nu
        x_o2_l = ml_o / M_O2 / nl
        q_total = q_plume[i] * _burning_fraction(q_plume[i], chi[i], height - d - z_base,
                                                 diameter, x_o2_l, x_o2_u, lol, h_o2_j_g)
        # Alpert fitted alcohol pool fires that convect 74 % of their heat [3]; feed his
        # correlations the total HRR of such a fire with the same convective heat.
        q = q_total * (1.0 - chi[i]) / ALPERT_CONVECTIVE_FRACTION
        # Alpert ceiling jet at the sensor (rise over the gas it runs into).
        dtj = 0.0
        u_jet = 0.0
        if q > 0.0:
            if radius / h_fire <= 0.18:
                dtj = 16.9 * q ** (2.0 / 3.0) / h_fire ** (5.0 / 3.0)
            else:
                dtj = 5.38 * (q / radius) ** (2.0 / 3.0) / h_fire
            if radius / h_fire <= 0.15:
                u_jet = 0.96 * (q / h_fire) ** (1.0 / 3.0)
            else:
                u_jet = 0.195 * q ** (1.0 / 3.0) * h_fire ** 0.5 / radius ** (5.0 / 6.0)
            dtj *= np.exp(-(sensor_depth / jet_depth) ** 2)
        base_t = w * tu + (1.0 - w) * tl
        base_c = w * cu_ppm + (1.0 - w) * cl_ppm
        base_x = w * xwu + (1.0 - w) * xwl
        # Alpert's rise is over the gas the plume entrains (ambient in his unconfined
        # tests; the lower layer here), not over the upper layer: the sensor reads the
        # hotter of the layer it sits in and the jet [3]. The jet carries the plume's
        # products diluted exactly as its heat: per convected joule the plume adds
        # m_species / Qc of species, so the jet's mass-fraction excess is
        # m_species cp dT / Qc [12] (mole fraction: times M_air / M_species).
        qc_now = (1.0 - chi[i]) * q_total * 1000.0
        jet_c = 0.0
        jet_x = 0.0
        if qc_now > 0.0 and dtj > 0.0:
            burn_now = q_total / q_plume[i]
            dy_per_k = fp[i] * burn_now * CP / 1000.0 / qc_now  # [1/K per g/s of species]
            jet_c = co2[i] * dy_per_k * dtj * M_AIR / M_CO2 * 1e6
            jet_x = h2o[i] * dy_per_k * dtj * M_AIR / M_H2O
        raw_t = min(max(base_t, tl + dtj), t_amb + 1200.0)
        raw_c = max(base_c, cl_ppm + jet_c)
        raw_x = max(base_x, xwl + jet_x)
        # Transport lag of the ceiling jet to the sensor (first order).
        tau_tr = radius / max(u_jet, 0.1)
        if i == 0:
            lag_c = raw_c
            lag_t = raw_t
            lag_x = raw_x
        else:
            lag_c = first_order_step(lag_c, raw_c, t[i] - t[i - 1], tau_tr)
            lag_t = first_order_step(lag_t, raw_t, t[i] - t[i - 1], tau_tr)
            lag_x = first_order_step(lag_x, raw_x, t[i] - t[i - 1], tau_tr)
        co2_sensor[i] = lag_c
        temp_sensor[i] = lag_t - ZERO_CELSIUS_K
        xv_sensor[i] = lag_x
        co2_mean[i] = (mu_c + ml_c) / M_CO2 / (nu + nl) * 1e6
        t_upper[i] = tu - ZERO_CELSIUS_K
        t_lower[i] = tl - ZERO_CELSIUS_K
        t_mean[i] = (vu * tu + vl * tl) / vol - ZERO_CELSIUS_K
        layer_depth[i] = d if vu > 2.0 * v_min else 0.0
        co2_upper[i] = cu_ppm
        od[i] = 8.7 * (mu_s / vu) / np.log(10.0)
        t_surf_out[i] = t_surf - ZERO_CELSIUS_K
        dt_jet_out[i] = dtj
        co2_mass[i] = mu_c + ml_c
        hrr_eff[i] = q_total
        o2_lower[i] = x_o2_l
        o2_mass[i] = mu_o + ml_o
        hvac_w[i] = u_hvac
        if i == n - 1:
            break

        # --- integrate to t[i+1] with sub-steps <= 1 s, sources held at t[i] ---
        span = t[i + 1] - t[i]
        n_sub = int(np.ceil(span / 1.0))
        dt = span / n_sub
        qd_w = q_dist[i] * 1000.0
        q_v = ach[i] * vol / 3600.0
        for _ in range(n_sub):
            vl = vol - vu
            d = vu / area
            z_int = height - d - z_base
            # Oxygen limit: the HRR the O2 reaching the fire supports (CFAST).
            x_o2_u = mu_o / M_O2 / (P * vu / (R * tu))
            x_o2_l = ml_o / M_O2 / (P * vl / (R * tl))
            burn = _burning_fraction(q_plume[i], chi[i], z_int, diameter, x_o2_l, x_o2_u,
                                     lol, h_o2_j_g)
            q_total = q_plume[i] * burn
            qc_w = (1.0 - chi[i]) * q_total * 1000.0
            # Plume entrainment of lower-layer gas up to the interface (Heskestad).
            m_p = _plume_mass_flow_kg_s(q_total, chi[i], z_int, diameter)
            q_ent = m_p * tl / (rho_amb * t_amb)
            # Without plume flow a sliver at the minimum volume is no layer: the ceiling
            # touches the room air.
            no_layer = q_ent == 0.0 and vu <= 2.0 * v_min
            # Flows [m3/s]: ventilation shares, layer erosion.
            qv_u = q_v * vu / vol
            qv_l = q_v * vl / vol
            q_mix = vu / tau_mix
            a_ceil = 0.0 if no_layer else area
            ha_u = h_conv * (a_ceil + perim * d)
            ha_l = h_conv * (area - a_ceil + area + perim * (height - d))
            t_top_l = t_surf if no_layer else t_wall  # lining the ceiling's share meets
            # The terminal conditions the occupied (lower) zone, where its thermostat is.
            err = t_set - tl
            u_hvac = min(max(gain_w_k * err + integ, -cool_cap_w), heat_cap_w)
            if integral_time_s > 0.0:
                integ = min(max(integ + dt * gain_w_k * err / integral_time_s, -cool_cap_w), heat_cap_w)
            src_u = qc_w + qd_w * vu / vol
            src_l = qd_w * vl / vol + u_hvac
            # Energy, backward Euler in temperature: C dT/dt = G_in (T_in - T) + Q
            # - hA (T - T_lining), C = P cp V/(R T), G = cp x mass flow [W/K]; gas that
            # leaves at the layer's temperature does not change it.
            c_u = pcr * vu / tu
            c_l = pcr * vl / tl
            g_ent = pcr * q_ent / tl
            tu_new = (c_u * tu + dt * (g_ent * tl + src_u + ha_u * t_surf)) / (
                c_u + dt * (g_ent + ha_u))
            g_mix = pcr * q_mix / tu_new
            g_v = pcr * q_v / t_amb
            ha_ls = h_conv * (area - a_ceil)
            ha_lw = ha_l - ha_ls
            tl_new = (c_l * tl + dt * (g_mix * tu_new + g_v * t_amb + src_l
                                       + ha_ls * t_top_l + ha_lw * t_wall)) / (
                c_l + dt * (g_mix + g_v + ha_l))
            # Heating at constant pressure expels Q / (P cp / R_air) of layer gas [m3/s];
            # cooling draws as much outdoor air in through the same leaks (its volume at
            # ambient temperature: x T_amb / T).
            net_u = src_u - ha_u * (tu_new - t_surf)
            net_l = src_l - ha_ls * (tl_new - t_top_l) - ha_lw * (tl_new - t_wall)
            q_exp_u = max(net_u, 0.0) / pcr
            q_exp_l = max(net_l, 0.0) / pcr
            q_in_u = max(-net_u, 0.0) / pcr * t_amb / tu_new
            q_in_l = max(-net_l, 0.0) / pcr * t_amb / tl_new
            # Linings: lumped nodes heated by the gas, cooled through the wall (implicit).
            t_gas_ceil = tl_new if no_layer else tu_new
            t_surf = (wall_cap * t_surf + dt * (h_conv * t_gas_ceil + wall_back * t_amb)) / (
                wall_cap + dt * (h_conv + wall_back))
            t_wall = (wall_cap * t_wall + dt * (h_conv * tl_new + wall_back * t_amb)) / (
                wall_cap + dt * (h_conv + wall_back))
            tu = tu_new
            tl = tl_new
            # Species and volume: each layer loses the exact fraction 1 - exp(-dt q/V) of
            # its content, shared among the destinations in proportion to the flows.
            out_u = qv_u + q_mix + q_exp_u
            out_l = qv_l + q_ent + q_exp_l
            fu = 1.0 - np.exp(-dt * out_u / vu)
            fl = 1.0 - np.exp(-dt * out_l / vl)
            fu_mix = fu * q_mix / out_u if out_u > 0.0 else 0.0
            fl_ent = fl * q_ent / out_l if out_l > 0.0 else 0.0
            fu_vent = fu * qv_u / out_u if out_u > 0.0 else 0.0
            f = fp[i]
            share_u = f + (1.0 - f) * vu / vol
            # The plume's share of the species is the fire's: it follows the burning rate.
            s_scale = 1.0 - f * (1.0 - burn)
            o2_use = q_total * 1000.0 / h_o2_j_g  # O2 consumed [g/s] (Huggett)
            mu_o, ml_o = (max(mu_o * (1.0 - fu) + fl_ent * ml_o
                              + dt * (q_in_u * o2_out - share_u * o2_use), 0.0),
                          max(ml_o * (1.0 - fl) + fu_mix * mu_o + dt * (
                              (q_v + q_in_l) * o2_out - (1.0 - share_u) * o2_use), 0.0))
            mu_c, ml_c = (mu_c * (1.0 - fu) + fl_ent * ml_c
                          + dt * (share_u * s_scale * co2[i] + q_in_u * co2_out),
                          ml_c * (1.0 - fl) + fu_mix * mu_c
                          + dt * ((1.0 - share_u) * s_scale * co2[i] + (q_v + q_in_l) * co2_out))
            mu_w, ml_w = (mu_w * (1.0 - fu) + fl_ent * ml_w
                          + dt * (share_u * s_scale * h2o[i] + q_in_u * h2o_out),
                          ml_w * (1.0 - fl) + fu_mix * mu_w
                          + dt * ((1.0 - share_u) * s_scale * h2o[i] + (q_v + q_in_l) * h2o_out))
            mu_s, ml_s = (mu_s * (1.0 - fu) + fl_ent * ml_s + dt * share_u * s_scale * soot[i],
                          ml_s * (1.0 - fl) + fu_mix * mu_s
                          + dt * (1.0 - share_u) * s_scale * soot[i])
            vu_raw = vu + fl_ent * vl - (fu_mix + fu_vent) * vu
            vu = min(max(vu_raw, v_min), vol - v_min)
            # A clipped volume is exchanged with the other layer, contents included
            # (temperatures mix by mass, i.e. by V/T).
            dv = vu - vu_raw
            if dv > 0.0:  # upper layer topped up with lower-layer gas
                vl_now = vol - vu_raw
                g = dv / vl_now
                mu_c, ml_c = mu_c + g * ml_c, ml_c * (1.0 - g)
                mu_w, ml_w = mu_w + g * ml_w, ml_w * (1.0 - g)
                mu_s, ml_s = mu_s + g * ml_s, ml_s * (1.0 - g)
                mu_o, ml_o = mu_o + g * ml_o, ml_o * (1.0 - g)
                tu = vu / (vu_raw / tu + dv / tl)
            elif dv < 0.0:  # upper layer overfilled: return the excess to the lower
                g = -dv / vu_raw
                ml_c, mu_c = ml_c + g * mu_c, mu_c * (1.0 - g)
                ml_w, mu_w = ml_w + g * mu_w, mu_w * (1.0 - g)
                ml_s, mu_s = ml_s + g * mu_s, mu_s * (1.0 - g)
                ml_o, mu_o = ml_o + g * mu_o, mu_o * (1.0 - g)
                vl_raw = vol - vu_raw
                tl = (vol - vu) / (vl_raw / tl - dv / tu)
            # A layer colder than the gas under it is not buoyant and sinks into it; a
            # sliver with no plume flow is room air. Merge (by mass) and leave the
            # minimum volume with the room's state.
            if tu < tl or (q_ent == 0.0 and vu <= 2.0 * v_min):
                t_mix = vol / (vu / tu + (vol - vu) / tl)
                tot_c = mu_c + ml_c
                tot_w = mu_w + ml_w
                tot_s = mu_s + ml_s
                tot_o = mu_o + ml_o
                vu = v_min
                g = v_min / vol
                mu_c, ml_c = tot_c * g, tot_c * (1.0 - g)
                mu_w, ml_w = tot_w * g, tot_w * (1.0 - g)
                mu_s, ml_s = tot_s * g, tot_s * (1.0 - g)
                mu_o, ml_o = tot_o * g, tot_o * (1.0 - g)
                tu = t_mix
                tl = t_mix
    return (co2_mean, co2_sensor, temp_sensor, xv_sensor, t_upper, layer_depth, co2_upper,
            od, t_surf_out, t_lower, t_mean, dt_jet_out, co2_mass, hrr_eff, o2_lower, o2_mass, hvac_w)
