"""Scenarios: the catalog of families (:data:`FAMILIES`), their parameter samplers, and
the build from parameters to physics, thermal scene, device readings and ground truth.
The thermal scene contract is :mod:`firesight.scenarios.scene`; rendering is
:mod:`firesight.scenarios.render`."""

from firesight.scenarios.families import FAMILIES, LABELS, Family, get_family

__all__ = ["FAMILIES", "LABELS", "Family", "get_family"]
