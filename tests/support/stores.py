"""The two sets of adapters behind each port, built from a picklable spec so that a child
process of a test (the two-process races) opens the same store as its parent."""

from __future__ import annotations

from typing import Any

from firesight.adapters.aws._session import AwsSettings


def open_metadata_store(spec: dict[str, Any]):
    """``{"kind": "local", "path": ...}`` or ``{"kind": "aws", "prefix", "region", "endpoint"}``."""
    if spec["kind"] == "local":
        from firesight.adapters.local.metadata import SQLiteMetadataStore

        return SQLiteMetadataStore(spec["path"])
    from firesight.adapters.aws.dynamodb import DynamoDBMetadataStore

    return DynamoDBMetadataStore(spec["prefix"], settings=AwsSettings(
        region=spec["region"], endpoint_url=spec["endpoint"], max_attempts=2))


def increment_with_versions(spec: dict[str, Any], table: str, key: str, times: int) -> int:
    """Add 1 to the item's ``count`` ``times`` times by read-modify-write with
    ``expected_version``, retrying on conflict; return the number of conflicts met.

    Runs in a child process: two of these racing must never lose an increment.
    """
    from firesight.errors import ConflictError

    store = open_metadata_store(spec)
    conflicts = 0
    done = 0
    while done < times:
        item = store.get(table, key) or {"id": key, "count": 0, "version": 0}
        version = int(item.get("version", 0))
        new = {**item, "count": int(item["count"]) + 1, "version": version + 1}
        try:
            store.put(table, new, key="id", expected_version=version)
            done += 1
        except ConflictError:
            conflicts += 1
    return conflicts


def shadow_updates(spec: dict[str, Any], thing: str, prefix: str, times: int) -> list[int]:
    """``times`` desired-state updates of ``thing``'s shadow through the shadow manager on
    the store of ``spec``; return the versions they were accepted at (child process)."""
    from firesight.iot.shadow import ShadowManager

    manager = ShadowManager(open_metadata_store(spec))
    return [manager.update(thing, {"state": {"desired": {f"{prefix}{i}": i}}})["accepted"]["version"]
            for i in range(times)]
