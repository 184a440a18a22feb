"""Numba kernel of the two-zone room model (see :func:`firesight.physics.room.simulate_room`
for the equations and references)."""

from __future__ import annotations

import numpy as np
from numba import njit

#: Convective share of the heat release of the alcohol pool fires on which Alpert fitted
#: his ceiling-jet correlations (R. L. Alpert, SFPE Handbook 5th ed., ch. 14, discussion
#: of total versus convective heat release).
ALPERT_CONVECTIVE_FRACTION = 0.74


@njit(cache=True)
def zone_kernel(t, q_plume, chi, q_dist, co2, h2o, soot, ach, fp,
                 width, depth, height, t_amb, co2_out, co2_init, h2o_out,
                 h_conv, tau_mix, wall_cap, wall_back, radius, z_sensor, z_base, diameter):
    n = t.size
    P = 101325.0
    R = 8.314462618
    M_CO2 = 44.0095
    M_H2O = 18.01528
    CP = 1005.0
    rho_amb = P * 0.0289647 / (R * t_amb)
    pcr = rho_amb * CP * t_amb  # P cp / R_air [J/m3]: excess enthalpy scale
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

    vu = v_min
    hu = 0.0
    hl = 0.0
    mu_c = co2_init * vu
    ml_c = co2_init * (vol - vu)
    mu_w = h2o_out * vu
    ml_w = h2o_out * (vol - vu)
    mu_s = 0.0
    ml_s = 0.0
    t_surf = t_amb  # lining in contact with the upper layer (ceiling)
    t_wall = t_amb  # lining in contact with the lower layer
    lag_c = 0.0
    lag_t = 0.0
    lag_x = 0.0

    for i in range(n):
        # --- sample the state at t[i] ---
        vl = vol - vu
        xu = min(max(hu / (pcr * vu), -0.2), 0.8)
        xl = min(max(hl / (pcr * vl), -0.2), 0.8)
        tu = t_amb / (1.0 - xu)
        tl = t_amb / (1.0 - xl)
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
        q_total = q_plume[i]
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
        raw_t = min(base_t + dtj, t_amb + 1200.0)
        raw_c = w * cu_ppm + (1.0 - w) * cl_ppm
        raw_x = w * xwu + (1.0 - w) * xwl
        # Transport lag of the ceiling jet to the sensor (first order).
        tau_tr = radius / max(u_jet, 0.1)
        if i == 0:
            lag_c = raw_c
            lag_t = raw_t
            lag_x = raw_x
        else:
            a = 1.0 - np.exp(-(t[i] - t[i - 1]) / tau_tr) if tau_tr > 0 else 1.0
            lag_c += a * (raw_c - lag_c)
            lag_t += a * (raw_t - lag_t)
            lag_x += a * (raw_x - lag_x)
        co2_sensor[i] = lag_c
        temp_sensor[i] = lag_t - 273.15
        xv_sensor[i] = lag_x
        co2_mean[i] = (mu_c + ml_c) / M_CO2 / (nu + nl) * 1e6
        t_upper[i] = tu - 273.15
        t_lower[i] = tl - 273.15
        t_mean[i] = (vu * tu + vl * tl) / vol - 273.15
        layer_depth[i] = d if vu > 2.0 * v_min else 0.0
        co2_upper[i] = cu_ppm
        od[i] = 8.7 * (mu_s / vu) / np.log(10.0)
        t_surf_out[i] = t_surf - 273.15
        dt_jet_out[i] = dtj
        co2_mass[i] = mu_c + ml_c
        if i == n - 1:
            break

        # --- integrate to t[i+1] with sub-steps <= 1 s, sources held at t[i] ---
        span = t[i + 1] - t[i]
        n_sub = int(np.ceil(span / 1.0))
        dt = span / n_sub
        qc_w = (1.0 - chi[i]) * q_total * 1000.0
        qd_w = q_dist[i] * 1000.0
        q_v = ach[i] * vol / 3600.0
        for _ in range(n_sub):
            vl = vol - vu
            xu = min(max(hu / (pcr * vu), -0.2), 0.8)
            xl = min(max(hl / (pcr * vl), -0.2), 0.8)
            tu = t_amb / (1.0 - xu)
            tl = t_amb / (1.0 - xl)
            d = vu / area
            # Plume entrainment of lower-layer gas up to the interface (Heskestad).
            q_ent = 0.0
            z_int = height - d - z_base
            if q_total > 0.0 and z_int > 0.0:
                z0 = 0.083 * q_total ** 0.4 - 1.02 * diameter
                z_eff = max(z_int - z0, 0.05)
                qc_kw = qc_w / 1000.0
                m_p = 0.071 * qc_kw ** (1.0 / 3.0) * z_eff ** (5.0 / 3.0) + 0.071 * 0.026 * qc_kw
                rho_l = rho_amb * t_amb / tl
                q_ent = min(m_p / rho_l, 0.5 * (vl - v_min) / dt)
                q_ent = max(q_ent, 0.0)
            # Flows [m3/s]: ventilation shares, layer erosion, thermal expansion.
            qv_u = q_v * vu / vol
            qv_l = q_v * vl / vol
            q_mix = vu / tau_mix
            a_u = area + perim * d
            a_l = area + perim * (height - d)
            loss_u = h_conv * a_u * (tu - t_surf)
            loss_l = h_conv * a_l * (tl - t_wall)
            src_u = qc_w + qd_w * vu / vol
            src_l = qd_w * vl / vol
            # Excess enthalpy densities (ideal gas at constant pressure).
            eu = pcr * xu
            el = pcr * xl
            net_u = src_u - loss_u
            net_l = src_l - loss_l
            # Heating at constant pressure expels q = Q / (P cp / R_air) of layer gas.
            q_exp_u = max(net_u, 0.0) / pcr
            q_exp_l = max(net_l, 0.0) / pcr
            # Outflows never take more than the layer holds within one sub-step.
            out_u = min(qv_u + q_mix + q_exp_u, 0.9 * vu / dt)
            out_l = min(qv_l + q_ent + q_exp_l, 0.9 * vl / dt)
            # Energy
            hu += dt * (net_u + q_ent * el - out_u * eu)
            hl += dt * (net_l + q_mix * eu - out_l * el)
            # Species: concentrations [g/m3]
            cu = mu_c / vu
            cl = ml_c / vl
            wu = mu_w / vu
            wl = ml_w / vl
            su = mu_s / vu
            sl = ml_s / vl
            f = fp[i]
            share_u = f + (1.0 - f) * vu / vol
            mu_c += dt * (share_u * co2[i] + q_ent * cl - out_u * cu)
            ml_c += dt * ((1.0 - share_u) * co2[i] + q_v * co2_out - out_l * cl + q_mix * cu)
            mu_w += dt * (share_u * h2o[i] + q_ent * wl - out_u * wu)
            ml_w += dt * ((1.0 - share_u) * h2o[i] + q_v * h2o_out - out_l * wl + q_mix * wu)
            mu_s += dt * (share_u * soot[i] + q_ent * sl - out_u * su)
            ml_s += dt * ((1.0 - share_u) * soot[i] - out_l * sl + q_mix * su)
            # Layer volume
            vu_raw = vu + dt * (q_ent - qv_u - q_mix)
            vu = min(max(vu_raw, v_min), vol - v_min)
            # A clipped volume is exchanged with the other layer, contents included, so
            # that nothing is created or lost.
            dv = vu - vu_raw
            if dv > 0.0:  # upper layer topped up with lower-layer gas
                vl_now = vol - vu_raw
                mu_c += dv * ml_c / vl_now
                ml_c -= dv * ml_c / vl_now
                mu_w += dv * ml_w / vl_now
                ml_w -= dv * ml_w / vl_now
                mu_s += dv * ml_s / vl_now
                ml_s -= dv * ml_s / vl_now
                hu += dv * hl / vl_now
                hl -= dv * hl / vl_now
            elif dv < 0.0:  # upper layer overfilled: return the excess to the lower
                f_back = -dv / vu_raw
                ml_c += f_back * mu_c
                mu_c -= f_back * mu_c
                ml_w += f_back * mu_w
                mu_w -= f_back * mu_w
                ml_s += f_back * mu_s
                mu_s -= f_back * mu_s
                hl += f_back * hu
                hu -= f_back * hu
            # Linings: lumped node heated by the gas, cooled through the wall.
            t_surf += dt * (h_conv * (tu - t_surf) - wall_back * (t_surf - t_amb)) / wall_cap
            t_wall += dt * (h_conv * (tl - t_wall) - wall_back * (t_wall - t_amb)) / wall_cap
            mu_c = max(mu_c, 0.0)
            ml_c = max(ml_c, 0.0)
            mu_w = max(mu_w, 0.0)
            ml_w = max(ml_w, 0.0)
            mu_s = max(mu_s, 0.0)
            ml_s = max(ml_s, 0.0)
    return (co2_mean, co2_sensor, temp_sensor, xv_sensor, t_upper, layer_depth, co2_upper,
            od, t_surf_out, t_lower, t_mean, dt_jet_out, co2_mass)
