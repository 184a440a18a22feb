"""Learning agent: operator feedback and field windows in, retraining decisions out.

- **Feedback** arrives on :data:`~firesight.agents.events.FEEDBACK_QUEUE` (the body
  :func:`firesight.agents.alert_store.feedback_message` builds; ``kind`` one of
  ``false_alarm`` / ``confirmed_fire`` / ``missed_fire``, optionally ``family``: the
  scenario family the operator names as the cause, e.g. ``gas_stove_cooking``). Each item
  is stored once in the metadata table :data:`FEEDBACK_TABLE` by its ``feedback_id`` (given,
  else derived from alert, kind, time and author), so a redelivered message is counted once.
- **Field windows**: in a running system the analysis agent sends a bounded sample of the
  windows it scores (:class:`~firesight.agents.field_windows.FieldWindowSampler`: every N-th
  window per device and the windows around each alert-level change, with device time,
  variant, probability and level) on the durable queue
  :data:`~firesight.agents.events.FIELD_WINDOWS_QUEUE`; :meth:`LearningAgent.poll_field_windows`
  takes them at every step and deletes each message only once its window is written
  (:mod:`firesight.agents.field_intake`: at-least-once, a window already held is dropped).
  :meth:`LearningAgent.record_field_windows` keeps the latest feature
  windows per device in a bounded buffer (``max_windows_per_device``). With an object store
  they persist (:mod:`firesight.agents.field_windows`: append-only Parquet parts per day
  under ``learning/field-windows``, written every ``field_flush_s`` or ``field_flush_rows``
  and at stop, compacted into one bounded base once ``field_max_parts`` parts pile up) and
  are reloaded when the agent is built, so a restart keeps the evidence (at most the last
  flush interval is lost to a crash). Drift is the per-feature PSI of these windows against
  the training reference stored with the model that runs (:mod:`firesight.agents.drift`),
  on the regular sample only (``sampled="every_n"``, or rows recorded without the column):
  the windows around level changes over-represent fires and nuisances.
- **Retraining** runs the ``retraining`` workflow when either enough error feedback has
  arrived since the last retraining (``false_alarm`` + ``missed_fire`` >=
  ``feedback_threshold``) or drift is judged (PSI over ``drift_threshold`` on enough
  windows). The candidate is registered as PendingManualApproval with its evaluation beside
  the current model's; an operator approves it (``firesight models approve``).
- **Switching**: :class:`ApprovedVersionWatch` tells the analysis agent when the newest
  Approved version changed, so it can ``switch_model``.

Training uses synthetic data only. Feedback decides *when* to retrain and *which families*
the new synthetic training set has more of; field windows decide *when* (drift). No field
reading or window is ever fitted: labels in the field are an operator's opinion after the
fact, devices differ from the simulator in ways the labels do not describe, and a model
fitted on them could not be evaluated on the same terms as the synthetic test set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from firesight.agents.alert_store import FEEDBACK_KINDS
from firesight.agents.drift import MIN_FIELD_WINDOWS, PSI_SIGNIFICANT, TrainingReference, drift_report
from firesight.agents.events import FEEDBACK_QUEUE, parse_json_object
from firesight.agents.field_intake import FieldWindowIntake
from firesight.errors import ConflictError, DataError, FiresightError, require

log = logging.getLogger(__name__)

#: Feedback kinds that say the model was wrong (they count toward retraining).
ERROR_KINDS = ("false_alarm", "missed_fire")
FEEDBACK_TABLE = "learning_feedback"
RUNS_TABLE = "learning_runs"


@dataclass(frozen=True)
class Feedback:
    """One operator verdict, validated."""

    feedback_id: str
    kind: str
    thing: str
    alert_id: str = ""
    family: str = ""
    at_s: float = 0.0
    by: str = ""
    model_version: str = ""

    @classmethod
    def from_message(cls, body: str | bytes) -> "Feedback":
        """Parse a feedback queue message; :class:`DataError` naming what is wrong."""
        raw = parse_json_object(body, "feedback")
        kind = raw.get("kind")
        if kind not in FEEDBACK_KINDS:
            raise DataError(f"feedback kind must be one of {FEEDBACK_KINDS}, got {kind!r}")
        thing = raw.get("thing")
        if not isinstance(thing, str) or not thing:
            raise DataError(f"feedback needs a non-empty thing, got {thing!r}")
        family = raw.get("family") or ""
        if family:
            from firesight.scenarios import FAMILIES

            if family not in FAMILIES:
                raise DataError(f"feedback family {family!r} is not a scenario family")
        at_s = raw.get("at_s", 0.0)
        if not isinstance(at_s, (int, float)) or isinstance(at_s, bool):
            raise DataError(f"feedback at_s must be a number [s], got {at_s!r}")
        fid = raw.get("feedback_id") or hashlib.sha256(
            f"{raw.get('alert_id', '')}|{kind}|{at_s}|{raw.get('by', '')}|{thing}".encode()).hexdigest()[:24]
        return cls(feedback_id=str(fid), kind=kind, thing=thing, alert_id=str(raw.get("alert_id") or ""),
                   family=family, at_s=float(at_s), by=str(raw.get("by") or ""),
                   model_version=str(raw.get("model_version") or ""))


@dataclass(frozen=True)
class LearningSettings:
    """When the learning agent retrains.

    Parameters
    ----------
    feedback_threshold : int
        Error feedback items (false alarms + missed fires) since the last retraining that
        trigger one [-].
    drift_threshold : float
        PSI over which a feature has drifted [-] (default 0.25, see :mod:`~firesight.agents.drift`).
    min_field_windows : int
        Field windows needed before drift is judged [-].
    max_windows_per_device : int
        Field windows kept per device (oldest dropped) [-].
    per_feedback : int
        Extra synthetic scenarios of a family per feedback item naming it [-].
    retry_after_s : float
        Wait after a failed retraining before trying again [s].
    field_flush_s : float
        Longest time recorded field windows wait before they are written [s].
    field_flush_rows : int
        Recorded windows that are written at once, whatever the time [-].
    field_max_parts : int
        Parts written beyond the last compaction that trigger the next one [-].
    field_hold_s : float
        Visibility timeout of a received field window message until its window is written
        (extended while it waits; after a crash the message comes back this much later) [s].
    field_poll_max : int
        Field window messages taken per step at most [-].
    interval_s : float
        Step period of the agent's loop (:meth:`LearningAgent.start`) [s].
    base_request : dict
        Overrides of the training run (dataset sizes, model kind; see
        :data:`firesight.workflows.tasks.RUN_DEFAULTS`).
    """

    feedback_threshold: int = 5
    drift_threshold: float = PSI_SIGNIFICANT
    min_field_windows: int = MIN_FIELD_WINDOWS
    max_windows_per_device: int = 3600
    per_feedback: int = 2
    retry_after_s: float = 3600.0
    field_flush_s: float = 60.0
    field_flush_rows: int = 5000
    field_max_parts: int = 64
    field_hold_s: float = 300.0
    field_poll_max: int = 5000
    interval_s: float = 30.0
    base_request: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(self.feedback_threshold >= 1, "feedback_threshold", ">= 1", self.feedback_threshold)
        require(self.drift_threshold > 0, "drift_threshold", "> 0", self.drift_threshold)
        require(self.max_windows_per_device >= 1, "max_windows_per_device", ">= 1", self.max_windows_per_device)
        require(self.per_feedback >= 0, "per_feedback", ">= 0", self.per_feedback)
        require(self.field_flush_s >= 0, "field_flush_s", ">= 0", self.field_flush_s)
        require(self.field_flush_rows >= 1, "field_flush_rows", ">= 1", self.field_flush_rows)
        require(self.field_max_parts >= 1, "field_max_parts", ">= 1", self.field_max_parts)
        require(1.0 <= self.field_hold_s <= 43_200.0, "field_hold_s", "within 1..43200 s (SQS's range)",
                self.field_hold_s)
        require(self.field_poll_max >= 1, "field_poll_max", ">= 1", self.field_poll_max)
        require(self.interval_s > 0, "interval_s", "> 0", self.interval_s)


class LearningAgent(FieldWindowIntake):
    """Collect feedback and field windows; retrain through the workflow on enough evidence.

    Parameters
    ----------
    queue : MessageQueue
        Holds :data:`FEEDBACK_QUEUE`.
    store : MetadataStore
        Feedback items and retraining runs.
    run_workflow : callable
        ``run_workflow(name, input) -> Execution`` (:func:`firesight.workflows.workflow_runner`).
    reference : callable
        Returns the :class:`TrainingReference` of the model that runs now, or None.
    settings : LearningSettings
    clock : callable
        Wall clock [s].
    objects : ObjectStore, optional
        Where field windows persist (none: in memory only); those stored are loaded here.
    field_prefix : str
        Their key prefix.
    """

    def __init__(self, queue: Any, store: Any, run_workflow: Callable[[str, Any], Any], *,
                 reference: Callable[[], TrainingReference | None], settings: LearningSettings | None = None,
                 clock: Callable[[], float] = time.time, objects: Any = None,
                 field_prefix: str = "learning/field-windows"):
        self.queue, self.store, self.run_workflow = queue, store, run_workflow
        self.reference = reference
        self.settings = settings or LearningSettings()
        self.clock = clock
        self.counters: Counter = Counter()
        self._lock = threading.Lock()
        self._last_failure_s: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._init_field_windows(objects, field_prefix)

    # -- inputs -------------------------------------------------------------------------
    def poll_feedback(self, max_messages: int = 10) -> int:
        """Receive feedback messages, store new items once, acknowledge; return new items."""
        new = 0
        for msg in self.queue.receive(FEEDBACK_QUEUE, max_messages=max_messages, visibility_timeout_s=60.0):
            try:
                fb = Feedback.from_message(msg["body"])
            except DataError as exc:
                self.counters["feedback_rejected"] += 1
                log.warning("feedback message %s rejected: %s", msg["message_id"], exc)
                self.queue.delete(FEEDBACK_QUEUE, msg["receipt_handle"])
                continue
            item = {**fb.__dict__, "received_s": self.clock(), "used_by": ""}
            try:
                self.store.put(FEEDBACK_TABLE, item, key="feedback_id", if_absent=True)
                new += 1
                self.counters[f"feedback_{fb.kind}"] += 1
            except ConflictError:
                self.counters["feedback_duplicate"] += 1
            self.queue.delete(FEEDBACK_QUEUE, msg["receipt_handle"])
        return new


    # -- decisions ----------------------------------------------------------------------
    def drift(self) -> dict:
        """PSI of the field windows against the running model's training reference."""
        reference = self.reference()
        if reference is None:
            return {"judged": False, "drift": False, "reason": "the running model has no training reference"}
        field = self.field_windows()
        if "sampled" in field.columns:  # the regular sample only: unbiased by level changes
            field = field[field["sampled"].isna() | (field["sampled"] == "every_n")].reset_index(drop=True)
        return drift_report(reference, field, threshold=self.settings.drift_threshold,
                            min_windows=self.settings.min_field_windows)

    def pending_feedback(self) -> list[dict]:
        return [i for i in self.store.query(FEEDBACK_TABLE) if not i.get("used_by")]

    def evidence(self) -> dict:
        """What would go into a retraining: error feedback since the last one, families named,
        drift; and ``reason`` (``feedback``, ``drift``) or None when it is not enough."""
        pending = self.pending_feedback()
        kinds = Counter(i["kind"] for i in pending)
        errors = sum(kinds[k] for k in ERROR_KINDS)
        families = Counter(i["family"] for i in pending if i["kind"] in ERROR_KINDS and i["family"])
        drift = self.drift()
        reason = "feedback" if errors >= self.settings.feedback_threshold else "drift" if drift["drift"] else None
        return {"reason": reason, "feedback": dict(kinds), "errors": errors, "families": dict(families),
                "drifted": drift.get("drifted", []), "drift": drift,
                "feedback_ids": sorted(i["feedback_id"] for i in pending)}

    def step(self) -> dict:
        """Take field windows and feedback, weigh the evidence, retrain if it is enough.
        Returns what happened."""
        self.poll_field_windows()
        self.poll_feedback()
        evidence = self.evidence()
        if evidence["reason"] is None:
            return {"retrained": False, "evidence": evidence}
        if self._last_failure_s is not None and self.clock() - self._last_failure_s < self.settings.retry_after_s:
            return {"retrained": False, "evidence": evidence, "waiting": "after a failed retraining"}
        return self.retrain(evidence)

    def retrain(self, evidence: Mapping) -> dict:
        """Run the retraining workflow; on success mark the feedback used and record the run."""
        runs = self.store.query(RUNS_TABLE)
        base = dict(self.settings.base_request)
        train = dict(base.get("train") or {})
        # each retraining draws fresh synthetic scenarios: the training seed moves on
        train["seed"] = int(train.get("seed", 101)) + 1000 * (len(runs) + 1)
        base["train"] = train
        run_id = f"retrain-{len(runs) + 1:04d}-{int(self.clock())}"
        payload = {"evidence": {k: evidence[k] for k in ("reason", "feedback", "families", "drifted")},
                   "base": base, "per_feedback": self.settings.per_feedback, "run_id": run_id}
        self.counters["retrainings"] += 1
        self.flush_field_windows()  # the windows received so far are written and acknowledged first
        execution = self.run_workflow("retraining", payload)
        record = {"run_id": run_id, "status": execution.status, "at_s": self.clock(),
                  "evidence": {k: evidence[k] for k in ("reason", "feedback", "families", "drifted", "errors")},
                  "output": execution.output, "error": execution.error, "cause": execution.cause}
        self.store.put(RUNS_TABLE, json.loads(json.dumps(record, default=str)), key="run_id")
        if execution.status != "SUCCEEDED":
            self._last_failure_s = self.clock()
            self.counters["retraining_failed"] += 1
            return {"retrained": False, "run_id": run_id, "error": execution.error, "cause": execution.cause}
        self._last_failure_s = None
        for fid in evidence["feedback_ids"]:
            item = self.store.get(FEEDBACK_TABLE, fid)
            if item is not None:
                self.store.put(FEEDBACK_TABLE, {**item, "used_by": run_id}, key="feedback_id")
        with self._lock:  # a new model is judged on windows seen after it
            self._windows.clear()
            self._keys.clear()
            self._pending, self._pending_rows = [], 0
            if self.field_store is not None:
                self.field_store.clear()
        return {"retrained": True, "run_id": run_id, **execution.output}

    # -- service ------------------------------------------------------------------------
    def start(self, interval_s: float | None = None) -> "LearningAgent":
        """Run :meth:`step` every ``interval_s`` [s] (default ``settings.interval_s``) in a
        thread, writing the field windows every ``field_flush_s``."""
        interval_s = self.settings.interval_s if interval_s is None else interval_s
        require(interval_s > 0, "interval_s", "> 0", interval_s)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(interval_s,), name="learning-agent", daemon=True)
        self._thread.start()
        return self

    def _loop(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.step()
                if self.clock() - self._last_flush_s >= self.settings.field_flush_s:
                    self.flush_field_windows()
                self._extend_holds()
            except (FiresightError, OSError) as exc:  # supervised: log, count, go on
                self.counters["step_errors"] += 1
                log.exception("learning agent step failed: %s", exc)
            self._stop.wait(interval_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop polling; a retraining in progress finishes (its state machine is not cut);
        the field windows recorded since the last write are written."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.flush_field_windows()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> dict:
        with self._lock:
            held = sum(len(b) for b in self._windows.values())
            waiting = len(self._unacked)
        return {"alive": self.alive(), "counters": dict(self.counters),
                "devices_with_windows": len(self._windows), "field_windows_held": held,
                "field_windows_unwritten": self._pending_rows, "field_messages_unacknowledged": waiting}


class ApprovedVersionWatch:
    """Tells when the newest Approved registry version changed (the analysis agent then
    calls its ``switch_model``).

    Parameters
    ----------
    registry : firesight.model_registry.ModelRegistry
    current : str or None
        The version running now (None: the shipped default).
    """

    def __init__(self, registry: Any, current: str | None = None):
        self.registry = registry
        self.current = current

    def poll(self) -> dict | None:
        """The registry entry of a newly approved version, once; None when unchanged."""
        entry = self.registry.approved_version()
        version = entry["version"] if entry else None
        if version == self.current or version is None:
            return None
        self.current = version
        return entry


def approved_version_changed(registry: Any, current: str | None) -> dict | None:
    """The newest Approved version's entry if it differs from ``current``, else None."""
    return ApprovedVersionWatch(registry, current).poll()


def running_model_reference(config: Any = None) -> TrainingReference | None:
    """The training reference of the model the services load now (approved, else shipped;
    the shipped default has none)."""
    from firesight.config import load_config
    from firesight.detection.shipped_model import default_model_path
    from firesight.model_registry import load_approved_model, registry_for

    cfg = (config or load_config()).resolved()
    registry = registry_for(cfg)
    if registry.exists() and registry.approved_version() is not None:
        _, ref = load_approved_model(cfg)
        return TrainingReference.load(ref["path"])
    return TrainingReference.load(default_model_path())  # loading the shipped model is not needed


def build_learning_agent(config: Any = None, settings: LearningSettings | None = None) -> LearningAgent:
    """A learning agent on the configured adapters: the durable queue, the metadata store,
    the object store (field windows), the local workflow runner and the running model's
    training reference."""
    from firesight import bootstrap
    from firesight.config import load_config
    from firesight.workflows import workflow_runner

    cfg = (config or load_config()).resolved()
    return LearningAgent(bootstrap.message_queue(cfg), bootstrap.metadata_store(cfg), workflow_runner(cfg),
                         reference=lambda: running_model_reference(cfg), settings=settings,
                         objects=bootstrap.object_store(config=cfg))
