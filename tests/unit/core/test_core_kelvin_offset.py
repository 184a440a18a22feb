"""The Kelvin offset is defined once (``firesight.units.ZERO_CELSIUS_K``); every other
module imports it. Read from the source with :mod:`ast`: docstrings may quote the number,
code may not."""

from __future__ import annotations

import ast
from pathlib import Path

import firesight

SRC = Path(firesight.__file__).resolve().parent


def _offset_literals(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and type(node.value) is float and node.value == 273.15]


def test_only_units_writes_the_kelvin_offset():
    found = {str(p.relative_to(SRC)): lines for p in sorted(SRC.rglob("*.py"))
             if (lines := _offset_literals(p))}
    assert list(found) == ["units.py"], found  # units.py itself is the positive control
