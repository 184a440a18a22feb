"""The shadow manager on DynamoDB: two processes updating one shadow lose no update (the
conditional write by version is DynamoDB's ConditionExpression)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from support.moto import unique_name
from support.stores import open_metadata_store, shadow_updates


def test_two_processes_update_one_shadow_on_dynamodb(moto_settings):
    from firesight.iot.shadow import ShadowManager

    spec = {"kind": "aws", "prefix": unique_name("fs") + "-", "region": moto_settings.region,
            "endpoint": moto_settings.endpoint_url}
    n = 10
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = [pool.submit(shadow_updates, spec, "kitchen", prefix, n) for prefix in ("a", "b")]
        a, b = (job.result(timeout=120) for job in jobs)
    assert a == sorted(a) and b == sorted(b)                 # each writer sees its versions increase
    assert sorted(a + b) == list(range(1, 2 * n + 1))        # every version taken exactly once
    state = ShadowManager(open_metadata_store(spec)).get("kitchen")
    desired = state["state"]["desired"]
    assert {f"a{i}" for i in range(n)} | {f"b{i}" for i in range(n)} <= set(desired)
    assert state["version"] == 2 * n
