"""Fuel properties: effective heat of combustion, product yields and radiative fraction.

Flaming values are for well-ventilated burning as tabulated by Tewarson [1]; water-vapour
yields, which [1] does not tabulate, follow from each fuel's chemical formula and its
combustion efficiency (ratio of effective to complete heat of combustion) [1, 2].
Smouldering yields are in :data:`SMOULDERING_PROPERTIES` and come from Ohlemiller's
review of smouldering combustion [3] and the measurements it cites.

References
----------
.. [1] A. Tewarson, "Generation of heat and gaseous, liquid, and solid products in
   fires", SFPE Handbook of Fire Protection Engineering, 4th ed., Section 3, Chapter 4
   (NFPA, 2008), Table 3-4.14 (yields and heats of combustion, well-ventilated fires)
   and Table 3-4.15/3-4.16 (radiative fractions of the chemical heat release).
.. [2] D. Drysdale, An Introduction to Fire Dynamics, 3rd ed. (Wiley, 2011), Table 1.13
   (heats of combustion) and Section 1.2.3 (stoichiometry).
.. [3] T. J. Ohlemiller, "Smoldering combustion", SFPE Handbook of Fire Protection
   Engineering, 4th ed., Section 2, Chapter 9 (NFPA, 2008): smoulder heat release
   5-7 kJ per g of fuel, CO/CO2 mass ratio 0.3-1, aerosol (smoke) yields 0.05-0.2 g/g.
.. [4] V. Babrauskas, Ignition Handbook (Fire Science Publishers, 2003), Table "heats of
   combustion": paraffin wax 42-43 kJ/g.
.. [5] Cooking oil as triolein, C57H104O6 (M = 885.4 g/mol), the typical triglyceride of
   vegetable oils: gross heat of combustion about 39 kJ/g; yields from its stoichiometry
   at a combustion efficiency of 0.9 (a model assumption for a sooty pan fire).
.. [6] Lithium-ion battery vent gas and electrolyte: dimethyl carbonate C3H6O3 (heat of
   combustion 15.8 kJ/g, NIST Chemistry WebBook) stands for the carbonate solvents; the
   vent gas itself is rich in CO2, CO and H2 (A. W. Golubkov et al., "Thermal-runaway
   experiments on consumer Li-ion batteries with metal-oxide and olivin-type cathodes",
   RSC Advances 4 (2014) 3633-3642). CO2 yield = DMC's complete-combustion 1.47 g/g less
   incomplete combustion plus vented CO2; CO and smoke yields are model assumptions (H2 is
   not tracked: no sensor of the node sees it).
"""

from __future__ import annotations

from dataclasses import dataclass

from firesight.errors import InvalidParameterError

__all__ = [
    "Fuel",
    "SmoulderingYields",
    "FUEL_PROPERTIES",
    "SMOULDERING_PROPERTIES",
    "get_fuel",
    "get_smouldering",
]


@dataclass(frozen=True)
class Fuel:
    """Flaming combustion properties of one fuel, per gram of fuel gasified.

    Attributes
    ----------
    name : str
        Key in :data:`FUEL_PROPERTIES`.
    heat_of_combustion_kj_per_g : float
        Effective (chemical) heat of combustion [kJ/g].
    co2_yield_g_per_g, co_yield_g_per_g, soot_yield_g_per_g, h2o_yield_g_per_g : float
        Mass of product per mass of fuel gasified [g/g].
    radiative_fraction : float
        Fraction of the heat release emitted as flame radiation [-].
    source : str
        Where the numbers come from.
    """

    name: str
    heat_of_combustion_kj_per_g: float
    co2_yield_g_per_g: float
    co_yield_g_per_g: float
    soot_yield_g_per_g: float
    h2o_yield_g_per_g: float
    radiative_fraction: float
    source: str


@dataclass(frozen=True)
class SmoulderingYields:
    """Smouldering (flameless, solid-phase oxidation and pyrolysis) properties [3].

    Smouldering releases far less heat per gram than flaming, converts a much larger
    share of the carbon to CO (high CO/CO2 ratio) and makes a light-coloured aerosol of
    condensed pyrolysates rather than black soot.
    """

    heat_of_combustion_kj_per_g: float
    co2_yield_g_per_g: float
    co_yield_g_per_g: float
    smoke_yield_g_per_g: float
    h2o_yield_g_per_g: float
    source: str


_TEWARSON = "Tewarson, SFPE Handbook 4th ed., Table 3-4.14 / 3-4.16"

#: Flaming properties of the fuels that firesight's scenarios burn. H2O yields are from
#: stoichiometry scaled by the combustion efficiency (Drysdale [2]); all other numbers
#: from Tewarson [1] unless the ``source`` string says otherwise.
FUEL_PROPERTIES: dict[str, Fuel] = {
    "wood": Fuel(
        "wood", 12.4, 1.27, 0.004, 0.015, 0.50, 0.35,
        f"{_TEWARSON}: red oak; H2O from C6H10O5 stoichiometry plus 10 % moisture",
    ),
    "polyurethane_foam": Fuel(
        "polyurethane_foam", 17.8, 1.55, 0.010, 0.131, 0.57, 0.41,
        f"{_TEWARSON}: flexible PU foam GM21; H2O from CH1.8O0.3N0.05 stoichiometry",
    ),
    "cotton": Fuel(
        "cotton", 14.5, 1.38, 0.005, 0.015, 0.47, 0.30,
        f"{_TEWARSON}: cellulose/cotton; H2O from C6H10O5 stoichiometry",
    ),
    "n_heptane": Fuel(
        "n_heptane", 41.2, 2.85, 0.010, 0.037, 1.34, 0.33,
        f"{_TEWARSON}: n-heptane; H2O from C7H16 stoichiometry",
    ),
    "ethanol": Fuel(
        "ethanol", 25.6, 1.77, 0.001, 0.008, 1.12, 0.20,
        f"{_TEWARSON}: ethyl alcohol; H2O from C2H5OH stoichiometry",
    ),
    "pvc_cable": Fuel(
        "pvc_cable", 5.7, 0.46, 0.063, 0.172, 0.10, 0.35,
        f"{_TEWARSON}: PVC (rigid/cable compound); H2O from C2H3Cl stoichiometry",
    ),
    "methane": Fuel(
        "methane", 49.6, 2.72, 0.0, 0.0, 2.24, 0.15,
        f"{_TEWARSON}: methane (natural gas); H2O from CH4 stoichiometry",
    ),
    "candle_wax": Fuel(
        "candle_wax", 42.0, 3.06, 0.005, 0.010, 1.30, 0.30,
        "Babrauskas Ignition Handbook [4] (paraffin 42-43 kJ/g); CO2/H2O from C25H52 "
        "stoichiometry at 0.98 combustion efficiency; CO/soot: clean laminar flame",
    ),
    "propane": Fuel(
        "propane", 43.7, 2.85, 0.005, 0.024, 1.55, 0.29,
        f"{_TEWARSON}: propane (DelCo burner fires); H2O from C3H8 stoichiometry",
    ),
    "cooking_oil": Fuel(
        "cooking_oil", 35.0, 2.55, 0.02, 0.03, 0.952, 0.30,
        "triolein C57H104O6 [5]: 39 kJ/g gross x 0.9; CO2 2.83 and H2O 1.058 g/g complete x 0.9; "
        "CO, soot and radiative fraction: assumptions for a sooty pan fire (n-heptane-like)",
    ),
    "li_ion_battery": Fuel(
        "li_ion_battery", 15.0, 1.4, 0.08, 0.08, 0.55, 0.25,
        "carbonate electrolyte (DMC, 15.8 kJ/g) and vent gases [6]; yields model assumptions",
    ),
}

_OHLEMILLER = "Ohlemiller, SFPE Handbook 4th ed., Ch. 2-9"

#: Smouldering properties per fuel that can smoulder [3]. Fuels missing here (liquids,
#: gases) do not smoulder.
SMOULDERING_PROPERTIES: dict[str, SmoulderingYields] = {
    "wood": SmoulderingYields(6.0, 0.90, 0.30, 0.10, 0.40, f"{_OHLEMILLER}: wood/cellulosics"),
    "cotton": SmoulderingYields(5.5, 0.85, 0.28, 0.15, 0.40, f"{_OHLEMILLER}: cellulose"),
    "polyurethane_foam": SmoulderingYields(
        5.0, 0.60, 0.25, 0.20, 0.30, f"{_OHLEMILLER}: flexible PU foam"
    ),
    "pvc_cable": SmoulderingYields(
        4.0, 0.30, 0.12, 0.20, 0.10, f"{_OHLEMILLER}: overheated cable insulation"
    ),
}


def get_fuel(name: str) -> Fuel:
    """Return the :class:`Fuel` called ``name``, or raise naming the known fuels."""
    try:
        return FUEL_PROPERTIES[name]
    except KeyError:
        raise InvalidParameterError(
            "fuel", f"one of {sorted(FUEL_PROPERTIES)}", name
        ) from None


def get_smouldering(name: str) -> SmoulderingYields:
    """Return the smouldering yields of fuel ``name``, or raise if it cannot smoulder."""
    try:
        return SMOULDERING_PROPERTIES[name]
    except KeyError:
        raise InvalidParameterError(
            "fuel", f"a smouldering fuel, one of {sorted(SMOULDERING_PROPERTIES)}", name
        ) from None
