"""Gas constants shared by the room physics: standard pressure, the molar gas constant
and molar masses of the species the zone model carries.

References
----------
1. CODATA 2018 (E. Tiesinga et al., Rev. Mod. Phys. 93 (2021) 025010): molar gas
   constant R = 8.314462618 J/(mol K) (exact since the 2019 SI redefinition).
2. IUPAC standard atomic weights (2021), summed per molecule: CO2 44.0095, H2O 18.01528,
   O2 31.9988 g/mol; dry air 28.9647 g/mol (U.S. Standard Atmosphere, 1976).
"""

from __future__ import annotations

__all__ = ["GAS_CONSTANTS"]

#: Standard pressure [Pa], molar gas constant [J/(mol K)] [1], molar masses [g/mol] [2].
GAS_CONSTANTS = {
    "pressure_pa": 101325.0,
    "gas_constant_j_mol_k": 8.314462618,
    "molar_mass_co2_g_mol": 44.0095,
    "molar_mass_h2o_g_mol": 18.01528,
    "molar_mass_air_g_mol": 28.9647,
    "molar_mass_o2_g_mol": 31.9988,
}
