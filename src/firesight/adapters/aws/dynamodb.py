"""Amazon DynamoDB implementation of :class:`firesight.ports.MetadataStore`.

Each logical table is one DynamoDB table ``{table_prefix}{table}`` (on-demand capacity,
server-side encryption) with the string key attributes ``_pk`` and ``_sk``, each the item's key value behind a
``#`` (DynamoDB refuses empty key strings; ``_sk`` is ``#`` when the logical table has no
sort key, and the common prefix keeps the order); the item's own attributes are stored
beside them, so
filters run in DynamoDB (``FilterExpression``). Items are normalised as the SQLite adapter
does (a JSON round trip; numbers become ``Decimal`` on the way in and ``int`` / ``float`` on
the way out).

Conditional writes are DynamoDB ``ConditionExpression`` s, checked atomically with the write:
``if_absent`` is ``attribute_not_exists(_pk)``; ``expected_version=N`` is ``version = N``
(``N = 0``: the item or its ``version`` is absent). A failed condition raises
:class:`firesight.errors.ConflictError`.

References
----------
1. Amazon DynamoDB Developer Guide, "Condition expressions", "Query", "Scan",
   "Working with items: Python" (``Decimal`` numbers), "Service quotas" (400 KB items).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from decimal import Decimal, DecimalException
from typing import Any

from firesight.adapters.aws._session import AwsSettings, ClientFactory, error_code, translate
from firesight.errors import ConflictError, DataError, InvalidParameterError, require
from firesight.ports import Item, MetadataStore

PK, SK = "_pk", "_sk"


def _k(value: Any) -> str:
    return "#" + ("" if value is None else str(value))
_TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_ATTRIBUTE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _to_dynamo(item: Item) -> dict[str, Any]:
    """The item as the SQLite adapter stores it (JSON types), floats as ``Decimal``."""
    try:
        text = json.dumps(item, sort_keys=True, allow_nan=False, default=str)
    except ValueError as exc:
        raise InvalidParameterError("item", "JSON-serialisable values without NaN or infinity",
                                    str(exc)) from exc
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 \
            else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, set):
        return sorted(_from_dynamo(v) for v in value)
    return value


class DynamoDBMetadataStore(MetadataStore):
    """Items in DynamoDB tables named ``{table_prefix}{table}``.

    Parameters
    ----------
    table_prefix : str
        Prepended to every logical table name (``firesight-prod-``).
    settings : AwsSettings
        Region and endpoint.
    create_tables : bool
        Create a missing table (on-demand, SSE) on first use; ``False`` when the deployment
        template made them (the runtime role then needs no ``CreateTable``).
    """

    def __init__(self, table_prefix: str = "firesight-", *, settings: AwsSettings | None = None,
                 create_tables: bool = True):
        self.table_prefix = table_prefix
        self.settings = settings or AwsSettings()
        self.create_tables = create_tables
        self._clients = ClientFactory(self.settings)
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        return self._clients.client("dynamodb")

    @property
    def resource(self) -> Any:
        # the resource API serialises Python values (Decimal, dict, list) for us
        with self._lock:
            if not hasattr(self, "_resource"):
                import boto3
                from botocore.config import Config as BotoConfig

                self._resource = boto3.session.Session().resource(
                    "dynamodb", endpoint_url=self.settings.endpoint_url or None,
                    config=BotoConfig(region_name=self.settings.region,
                                      retries={"mode": "standard", "max_attempts": self.settings.max_attempts}))
            return self._resource

    def table_name(self, table: str) -> str:
        name = f"{self.table_prefix}{table}"
        if not _TABLE_NAME_RE.match(name):
            raise InvalidParameterError("table", "3..255 letters, digits, '_', '-' or '.' with the prefix", name)
        return name

    def _table(self, table: str) -> Any:
        name = self.table_name(table)
        if name not in self._ready:
            if self.create_tables:
                self.ensure_table(table)
            self._ready.add(name)
        return self.resource.Table(name)

    def ensure_table(self, table: str) -> str:
        """Create the table of ``table`` if absent (on-demand, SSE) and wait until it is
        active; return its name."""
        name = self.table_name(table)
        try:
            status = self.client.describe_table(TableName=name)["Table"]["TableStatus"]
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise translate(exc, f"describe table {name}") from exc
            try:
                self.client.create_table(
                    TableName=name, BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": PK, "AttributeType": "S"},
                                          {"AttributeName": SK, "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": PK, "KeyType": "HASH"},
                               {"AttributeName": SK, "KeyType": "RANGE"}],
                    SSESpecification={"Enabled": True},
                    Tags=[{"Key": "application", "Value": "firesight"}])
            except Exception as create_exc:  # another process created it meanwhile
                if error_code(create_exc) != "ResourceInUseException":
                    raise translate(create_exc, f"create table {name}") from create_exc
            status = "CREATING"
        deadline = time.monotonic() + 120.0
        while status != "ACTIVE":
            if time.monotonic() > deadline:
                raise DataError(f"DynamoDB table {name} did not become ACTIVE within 120 s")
            time.sleep(0.5)
            status = self.client.describe_table(TableName=name)["Table"]["TableStatus"]
        return name

    # -- the port -------------------------------------------------------------------------------
    def put(self, table: str, item: Item, *, key: str, sort_key: str | None = None,
            if_absent: bool = False, expected_version: int | None = None) -> None:
        from boto3.dynamodb.conditions import Attr

        if key not in item:
            raise InvalidParameterError("item", f"a dict with the key attribute {key!r}", sorted(item))
        if sort_key is not None and sort_key not in item:
            raise InvalidParameterError("item", f"a dict with the sort key attribute {sort_key!r}", sorted(item))
        stored = _to_dynamo(item)
        stored[PK] = _k(item[key])
        stored[SK] = _k(None if sort_key is None else item[sort_key])
        condition = None
        if if_absent:
            condition = Attr(PK).not_exists()
        if expected_version is not None:
            require(int(expected_version) >= 0, "expected_version", "an integer >= 0", expected_version)
            version = Attr("version").eq(Decimal(int(expected_version)))
            if int(expected_version) == 0:
                version = Attr(PK).not_exists() | Attr("version").not_exists()
            condition = version if condition is None else condition & version
        args: dict[str, Any] = {"Item": stored}
        if condition is not None:
            args["ConditionExpression"] = condition
        try:
            self._table(table).put_item(**args)
        except DecimalException as exc:  # boto3 refuses numbers DynamoDB cannot hold exactly
            raise InvalidParameterError("item", "numbers of at most 38 significant digits within "
                                        "1e-130..1e126 (DynamoDB's number type)", str(exc)) from exc
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                what = "already exists" if if_absent and expected_version is None else \
                    f"is not at version {expected_version}" if not if_absent else \
                    f"exists or is not at version {expected_version}"
                raise ConflictError(f"{table} item {stored[PK][1:]!r}/{stored[SK][1:]!r} {what}") from exc
            if error_code(exc) == "ValidationException":
                raise InvalidParameterError("item", "an item DynamoDB accepts (< 400 KB, numbers of "
                                            "at most 38 digits)", str(exc)) from exc
            raise translate(exc, f"put into {self.table_name(table)}") from exc

    def get(self, table: str, key: str, sort_key: str | None = None) -> Item | None:
        try:
            response = self._table(table).get_item(Key={PK: _k(key), SK: _k(sort_key)}, ConsistentRead=True)
        except Exception as exc:
            raise translate(exc, f"get from {self.table_name(table)}") from exc
        found = response.get("Item")
        return None if found is None else _public(found)

    def delete(self, table: str, key: str, sort_key: str | None = None) -> None:
        try:
            self._table(table).delete_item(Key={PK: _k(key), SK: _k(sort_key)})
        except Exception as exc:
            raise translate(exc, f"delete from {self.table_name(table)}") from exc

    def query(self, table: str, key: str | None = None,
              where: Mapping[str, Any] | None = None, limit: int | None = None) -> list[Item]:
        from boto3.dynamodb.conditions import Attr, Key

        filters = None
        for name, value in (where or {}).items():
            if not _ATTRIBUTE_RE.match(name):
                raise InvalidParameterError("where", "attribute names of letters, digits and _", name)
            value = _to_dynamo({"v": value})["v"]
            # SQLite's json_extract compares booleans as 0/1: accept either stored form
            cond = Attr(name).eq(value)
            if isinstance(value, bool):
                cond = cond | Attr(name).eq(Decimal(int(value)))
            filters = cond if filters is None else filters & cond
        args: dict[str, Any] = {"ConsistentRead": True}
        if filters is not None:
            args["FilterExpression"] = filters
        tbl = self._table(table)
        items: list[dict] = []
        try:
            if key is not None:
                args["KeyConditionExpression"] = Key(PK).eq(_k(key))
                call = tbl.query
            else:
                call = tbl.scan
            while True:
                page = call(**args)
                items.extend(page.get("Items", []))
                if key is not None and limit is not None and len(items) >= limit:
                    break  # a query returns its partition in sort-key order
                if "LastEvaluatedKey" not in page:
                    break
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except Exception as exc:
            raise translate(exc, f"query {self.table_name(table)}") from exc
        items.sort(key=lambda i: (str(i[PK]).encode("utf-8"), str(i[SK]).encode("utf-8")))
        if limit is not None:
            items = items[:int(limit)]
        return [_public(i) for i in items]


def _public(stored: Mapping[str, Any]) -> Item:
    return {k: _from_dynamo(v) for k, v in stored.items() if k not in (PK, SK)}
