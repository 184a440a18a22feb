"""The dataset catalog in the :class:`firesight.ports.MetadataStore` port.

Two tables: ``datasets`` (one item per dataset URL: generation settings, scenario count,
status) and ``scenarios`` (partition key ``dataset``, sort key ``id``: the manifest row
with every scalar parameter flattened into a top-level attribute, e.g.
``room_height_m``, ``fire_fuel``), so scenarios are queryable by family, label and
parameters. A scenario enters the catalog only after it is committed to the manifest.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Iterable, Mapping
from typing import Any

from firesight.errors import InvalidParameterError
from firesight.ports import MetadataStore

DATASETS_TABLE = "datasets"
SCENARIOS_TABLE = "scenarios"

_COMPARATORS = {
    ">=": operator.ge, "<=": operator.le, "!=": operator.ne,
    ">": operator.gt, "<": operator.lt, "=": operator.eq,
}
_WHERE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|>|<|=)\s*(.*?)\s*$")


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalar leaves of a nested parameter dict as ``{"a_b_c": value}`` (lists skipped)."""
    flat: dict[str, Any] = {}
    for name, value in params.items():
        key = f"{prefix}_{name}" if prefix else str(name)
        key = re.sub(r"[^A-Za-z0-9_]", "_", key)
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, key))
        elif isinstance(value, (bool, int, float, str)) or value is None:
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            flat[key] = value
    return flat


def scenario_item(dataset_url: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog item of one manifest row."""
    item = flatten_params(json.loads(row["params_json"]))
    for name, value in row.items():
        if name == "params_json":
            continue
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        item[name] = value
    item["dataset"] = dataset_url
    return item


def record_dataset(store: MetadataStore, item: Mapping[str, Any]) -> None:
    """Create or replace the ``datasets`` item (keyed by ``url``)."""
    store.put(DATASETS_TABLE, dict(item), key="url")


def record_scenario(store: MetadataStore, dataset_url: str, row: Mapping[str, Any]) -> None:
    """Create or replace the catalog item of one committed manifest row."""
    store.put(SCENARIOS_TABLE, scenario_item(dataset_url, row), key="dataset", sort_key="id")


def sync_scenarios(store: MetadataStore, dataset_url: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """Make the catalog's scenarios of ``dataset_url`` exactly the manifest ``rows``."""
    rows = list(rows)
    keep = {str(r["id"]) for r in rows}
    for item in store.query(SCENARIOS_TABLE, key=dataset_url):
        if str(item["id"]) not in keep:
            store.delete(SCENARIOS_TABLE, dataset_url, str(item["id"]))
    for row in rows:
        record_scenario(store, dataset_url, row)


def parse_value(text: str) -> Any:
    """``true``/``false`` → bool, then int, then float, else the string itself."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_where(expressions: Iterable[str]) -> list[tuple[str, str, Any]]:
    """Parse ``key=value`` style filters (also ``!=``, ``<``, ``<=``, ``>``, ``>=``)."""
    parsed = []
    for expression in expressions:
        match = _WHERE.match(expression)
        if not match:
            raise InvalidParameterError("where", "KEY=VALUE (or KEY<VALUE, KEY>=VALUE, ...) with KEY of "
                                        "letters, digits and _", expression)
        name, op, value = match.groups()
        parsed.append((name, op, parse_value(value)))
    return parsed


def list_scenarios(store: MetadataStore, *, dataset: str | None = None, family: str | None = None,
                   label: str | None = None, where: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Catalog scenarios matching every filter, sorted by (dataset, id).

    Equality filters go to the store's query; comparisons are applied to what it returns.
    """
    filters = parse_where(where)
    equal: dict[str, Any] = {}
    if family:
        equal["family"] = family
    if label:
        equal["label"] = label
    compare = []
    for name, op, value in filters:
        if op == "=" and not isinstance(value, float):
            equal[name] = value
        else:
            compare.append((name, _COMPARATORS[op], value))
    items = store.query(SCENARIOS_TABLE, key=dataset, where=equal or None)
    selected = []
    for item in items:
        ok = True
        for name, fn, value in compare:
            have = item.get(name)
            try:
                ok = have is not None and bool(fn(have, value) if fn is not operator.eq
                                               else math.isclose(float(have), float(value), rel_tol=1e-9))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                break
        if ok:
            selected.append(item)
    return selected


def list_datasets(store: MetadataStore) -> list[dict[str, Any]]:
    """Every dataset item, sorted by URL."""
    return store.query(DATASETS_TABLE)
