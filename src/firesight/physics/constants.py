"""Gas constants shared by the room physics: standard pressure, the molar gas constant
and molar masses of the species the zone model carries; and the standard atmosphere's
pressure at an altitude.

References
----------
1. CODATA 2018 (E. Tiesinga et al., Rev. Mod. Phys. 93 (2021) 025010): molar gas
   constant R = 8.314462618 J/(mol K) (exact since the 2019 SI redefinition).
2. IUPAC standard atomic weights (2021), summed per molecule: CO2 44.0095, H2O 18.01528,
   O2 31.9988 g/mol; dry air 28.9647 g/mol (U.S. Standard Atmosphere, 1976).
3. U.S. Standard Atmosphere, 1976 (NOAA/NASA/USAF), troposphere: barometric formula
   ``p = p0 (1 - 2.25577e-5 h)^5.25588`` (h in m; lapse rate 6.5 K/km, 288.15 K at sea level).
"""

from __future__ import annotations

__all__ = ["GAS_CONSTANTS", "standard_atmosphere_pressure_pa"]

#: Standard pressure [Pa], molar gas constant [J/(mol K)] [1], molar masses [g/mol] [2].
GAS_CONSTANTS = {
    "pressure_pa": 101325.0,
    "gas_constant_j_mol_k": 8.314462618,
    "molar_mass_co2_g_mol": 44.0095,
    "molar_mass_h2o_g_mol": 18.01528,
    "molar_mass_air_g_mol": 28.9647,
    "molar_mass_o2_g_mol": 31.9988,
}


def standard_atmosphere_pressure_pa(altitude_m, sea_level_pa: float = GAS_CONSTANTS["pressure_pa"]):
    """Mean pressure at ``altitude_m`` [m] above sea level [Pa]: ``sea_level_pa`` scaled by
    the standard atmosphere's barometric formula ``(1 - 2.25577e-5 h)^5.25588`` [3]
    (troposphere, below 11 km). Scalars or arrays."""
    return sea_level_pa * (1.0 - 2.25577e-5 * altitude_m) ** 5.25588
