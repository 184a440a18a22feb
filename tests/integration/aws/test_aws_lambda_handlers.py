"""The Lambda entry points with real adapters behind them (SQS on moto)."""

from __future__ import annotations

import json
import time

from firesight.adapters.aws.lambda_handlers import ingest_handler, response_handler
from firesight.adapters.aws.sqs import SQSMessageQueue
from firesight.iot.codec import encode_scd41
from support.moto import unique_name


def _event(thing: str) -> str:
    return json.dumps({"event_id": f"{thing}:alarm:1", "site": "hq", "thing": thing, "signal": "alarm",
                       "state": "active", "level": "alarm", "previous": "watch", "ts_ms": 1_700_000_000_000,
                       "probability": 0.95})


def test_response_handler_runs_the_response_agent(tmp_path, capsys):
    """The real ResponseAgent (SQLite alert store, console channel) behind the handler; a
    malformed record is reported back to SQS, the others are applied."""
    import io

    from firesight.adapters.local.metadata import SQLiteMetadataStore
    from firesight.adapters.local.queue import SQLiteMessageQueue
    from firesight.agents.alert_store import AlertStore
    from firesight.agents.response import ResponseAgent
    from firesight.agents.response_policy import default_policy
    from firesight.notify.channels import ConsoleNotifier

    console = io.StringIO()
    store = AlertStore(SQLiteMetadataStore(str(tmp_path / "m.db")))
    agent = ResponseAgent(SQLiteMessageQueue(":memory:"), store, {"console": ConsoleNotifier(console)},
                          default_policy(["console"]), sleep=lambda s: None)
    records = [{"messageId": "m1", "body": _event("kitchen")}, {"messageId": "m2", "body": "{not json"},
               {"messageId": "m3", "body": _event("hall")}]
    out = response_handler({"Records": records}, agent=agent)
    assert out == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert sorted(a["thing"] for a in store.list()) == ["hall", "kitchen"]
    sent = console.getvalue()                     # the alarms were sent, not only recorded
    assert "kitchen" in sent and "hall" in sent
    assert {d["state"] for d in store.deliveries()} == {"sent"}
    emf = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (emf["AlertEventsApplied"], emf["AlertEventsMalformed"], emf["AlertEventsFailed"]) == (2, 1, 0)


def test_ingest_handler_forwards_valid_readings_and_counts_rejections(moto_settings):
    queue = SQSMessageQueue(unique_name("q") + "-", settings=moto_settings)
    now_ms = int(time.time() * 1000)
    good = json.loads(encode_scd41(co2_ppm=612.0, temperature_c=21.5, humidity_rh=40.0, ts_ms=now_ms, seq=7))
    topic = "firesight/v1/hq/kitchen/scd41"
    bad = {**good, "co2_ppm": "lots"}
    out = ingest_handler([{**good, "topic": topic}, {**bad, "topic": topic}, {"no": "topic"}], queue=queue)
    assert out["accepted"] == 1 and sum(out["rejected"].values()) == 2
    [msg] = queue.receive("readings")
    forwarded = json.loads(msg["body"])
    assert forwarded["topic"] == topic and json.loads(forwarded["payload"])["co2_ppm"] == 612.0
    assert msg["attributes"] == {"topic": topic}
