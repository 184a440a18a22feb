"""A response agent in its own process, for crash tests: ``python response_worker.py HOME
CHANNELS_JSON POLICY_JSON``. It consumes the alert-event queue of ``HOME/queue.db`` into the
alert store ``HOME/metadata.db`` and exits when the queue is empty (or runs until killed)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from firesight.adapters.local import SQLiteMessageQueue, SQLiteMetadataStore
from firesight.agents.events import ALERT_EVENTS_QUEUE
from firesight.agents.response import ResponseAgent
from firesight.agents.response_policy import ResponsePolicy
from firesight.bootstrap import notifier_channels


def main(home: str, channels_json: str, policy_json: str) -> None:
    queue = SQLiteMessageQueue(str(Path(home) / "queue.db"))
    store = SQLiteMetadataStore(str(Path(home) / "metadata.db"))
    agent = ResponseAgent(queue, store, notifier_channels(json.loads(channels_json)),
                          ResponsePolicy.from_dict(json.loads(policy_json)), worker_id="response-crash")
    print("ready", flush=True)
    while True:  # until no message is left, in flight ones (of a killed predecessor) included
        handled = agent.process_available(10)
        agent.check_deadlines()
        counts = queue.counts(ALERT_EVENTS_QUEUE)
        if handled == 0 and counts["visible"] + counts["in_flight"] == 0:
            break
        if handled == 0:
            time.sleep(0.05)
    agent.stop(5.0)
    print(json.dumps(agent.health()["counters"]), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
