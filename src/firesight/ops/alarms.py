"""Alarm rules on metrics with Amazon CloudWatch's semantics, feeding the response path.

An :class:`AlarmRule` is a CloudWatch metric alarm: a statistic of a metric over each
``period_s`` gives one datapoint; the alarm looks at the last ``evaluation_periods``
datapoints and is in ``ALARM`` when at least ``datapoints_to_alarm`` of them breach the
threshold ("M out of N"). States are ``OK``, ``ALARM`` and ``INSUFFICIENT_DATA`` (the state
of a new alarm). Missing datapoints are treated as the rule says (``treat_missing_data``):

``notBreaching``
    a missing datapoint counts as within the threshold;
``breaching``
    a missing datapoint counts as breaching;
``ignore``
    the current state is kept when every datapoint is missing;
``missing`` (the default)
    when every datapoint in the evaluation range is missing the alarm goes to
    ``INSUFFICIENT_DATA``.

With ``missing`` or ``ignore`` and only some datapoints missing, the present ones decide:
``ALARM`` if at least M breach; ``OK`` if so many are within the threshold that M breaching
datapoints are impossible even were every missing one breaching; otherwise the state is kept.

Each change into ``ALARM`` emits an :class:`~firesight.agents.events.AlertEvent` with signal
``trouble`` (state ``active``, level = the rule's condition, e.g. ``ingest_stopped``) onto
the durable queue :data:`~firesight.agents.events.ALERT_EVENTS_QUEUE`; the change out of
``ALARM`` emits the same condition with state ``cleared``. The response agent treats them
like any other trouble signal.

References
----------
1. Amazon CloudWatch User Guide, "Using Amazon CloudWatch alarms" (alarm states, period,
   evaluation periods, datapoints to alarm) and "Configuring how CloudWatch alarms treat
   missing data", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
2. CloudWatch API Reference, ``PutMetricAlarm`` (``ComparisonOperator``, ``Statistic``,
   ``TreatMissingData`` values).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.errors import require
from firesight.ops import metrics
from firesight.ports import MessageQueue

log = logging.getLogger(__name__)

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
STATISTICS = ("Sum", "Average", "Maximum", "Minimum", "SampleCount")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
MISSING_TREATMENTS = ("missing", "notBreaching", "breaching", "ignore")


@dataclass(frozen=True)
class AlarmRule:
    """One metric alarm (the fields of CloudWatch's ``PutMetricAlarm``).

    Parameters
    ----------
    name : str
        Alarm name; also the trouble condition the alert event carries.
    statistic : str
        One of :data:`STATISTICS`, applied to the samples of each period.
    period_s : float
        Length of one datapoint's period [s].
    evaluation_periods : int
        N: datapoints looked at [count].
    datapoints_to_alarm : int
        M: breaching datapoints among the N that put the alarm in ALARM [count], 1 <= M <= N.
    threshold : float
        Threshold in the metric's unit.
    comparison : str
        One of :data:`COMPARISONS` (the datapoint on the left).
    treat_missing_data : str
        One of :data:`MISSING_TREATMENTS`.
    description : str
        What the alarm means, for people.
    """

    name: str
    statistic: str
    period_s: float
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str = "missing"
    description: str = ""

    def __post_init__(self) -> None:
        require(bool(self.name), "name", "a non-empty alarm name", self.name)
        require(self.statistic in STATISTICS, "statistic", f"one of {STATISTICS}", self.statistic)
        require(self.period_s > 0, "period_s", "> 0", self.period_s)
        require(self.evaluation_periods >= 1, "evaluation_periods", ">= 1", self.evaluation_periods)
        require(1 <= self.datapoints_to_alarm <= self.evaluation_periods, "datapoints_to_alarm",
                f"within 1..evaluation_periods ({self.evaluation_periods})", self.datapoints_to_alarm)
        require(self.comparison in COMPARISONS, "comparison", f"one of {tuple(COMPARISONS)}",
                self.comparison)
        require(self.treat_missing_data in MISSING_TREATMENTS, "treat_missing_data",
                f"one of {MISSING_TREATMENTS}", self.treat_missing_data)


def _statistic(name: str, values: list[float]) -> float:
    if name == "Sum":
        return float(sum(values))
    if name == "Average":
        return float(sum(values) / len(values))
    if name == "Maximum":
        return float(max(values))
    if name == "Minimum":
        return float(min(values))
    return float(len(values))


def evaluate_datapoints(rule: AlarmRule, datapoints: list[float | None], state: str) -> str:
    """The alarm state after looking at the last N ``datapoints`` (None = missing)."""
    window = list(datapoints[-rule.evaluation_periods:])
    window = [None] * (rule.evaluation_periods - len(window)) + window
    compare = COMPARISONS[rule.comparison]
    m, n = rule.datapoints_to_alarm, rule.evaluation_periods
    treat = rule.treat_missing_data
    if treat in ("breaching", "notBreaching"):
        fill = treat == "breaching"
        breaching = sum(fill if v is None else compare(v, rule.threshold) for v in window)
        return ALARM if breaching >= m else OK
    present = [v for v in window if v is not None]
    if not present:
        return INSUFFICIENT_DATA if treat == "missing" else state
    breaching = sum(compare(v, rule.threshold) for v in present)
    within = len(present) - breaching
    if breaching >= m:
        return ALARM
    if within > n - m:
        return OK
    return state


@dataclass
class _AlarmState:
    rule: AlarmRule
    state: str = INSUFFICIENT_DATA
    samples: dict[int, list[float]] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)


class AlarmEvaluator:
    """Datapoints in, alarm states and trouble alert events out.

    Parameters
    ----------
    rules : list of AlarmRule
        The alarms.
    queue : MessageQueue, optional
        Where alert events go (:data:`ALERT_EVENTS_QUEUE`); None: only returned.
    site : str
        Site the events carry (system alarms belong to the installation).
    since_s : float, optional
        When the metrics began to be watched [s]: an evaluation range that reaches before it
        is not evaluated (the alarm keeps its state, ``INSUFFICIENT_DATA`` at first), since
        periods nobody watched are unknown, not missing: a system just started has not had
        ``ingest_stopped``'s N periods to receive anything. None: every range is evaluated.
        :meth:`AlarmService.start` sets it.
    """

    THING = "firesight-ops"

    def __init__(self, rules: list[AlarmRule], *, queue: MessageQueue | None = None,
                 site: str = "system", since_s: float | None = None):
        names = [r.name for r in rules]
        require(len(set(names)) == len(names), "rules", "unique names", names)
        self.alarms = {r.name: _AlarmState(r) for r in rules}
        self.queue = queue
        self.site = site
        self.since_s = since_s

    def put(self, name: str, time_s: float, value: float) -> None:
        """Add one sample of alarm ``name``'s metric at ``time_s`` [s] (like PutMetricData)."""
        require(math.isfinite(value), "value", "a finite number", value)
        alarm = self.alarms[name]
        alarm.samples.setdefault(int(math.floor(time_s / alarm.rule.period_s)), []).append(float(value))

    def state(self, name: str) -> str:
        return self.alarms[name].state

    def evaluate(self, now_s: float) -> list[AlertEvent]:
        """Evaluate every alarm over the periods that ended by ``now_s``; return the alert
        events of the changes into and out of ALARM (sent to the queue when there is one)."""
        events = []
        for alarm in self.alarms.values():
            rule = alarm.rule
            last = int(math.floor(now_s / rule.period_s)) - 1  # the newest complete period
            periods = range(last - rule.evaluation_periods + 1, last + 1)
            if self.since_s is not None and periods.start * rule.period_s < self.since_s:
                continue  # the range reaches back before anyone watched
            points = [(_statistic(rule.statistic, alarm.samples[p]) if p in alarm.samples else None)
                      for p in periods]
            for p in [p for p in alarm.samples if p < periods.start]:
                del alarm.samples[p]
            new = evaluate_datapoints(rule, points, alarm.state)
            if new != alarm.state:
                event = self._transition(alarm, new, now_s, points)
                if event is not None:
                    events.append(event)
        return events

    def _transition(self, alarm: _AlarmState, new: str, now_s: float, points) -> AlertEvent | None:
        old = alarm.state
        alarm.state = new
        alarm.history.append({"time_s": now_s, "from": old, "to": new, "datapoints": points})
        del alarm.history[:-100]  # the recent changes; the counter below keeps the total
        metrics.ALARM_TRANSITIONS.labels(alarm=alarm.rule.name, state=new).inc()
        if ALARM not in (old, new):
            return None
        ts_ms = int(now_s * 1000)
        event_id = f"{self.THING}:trouble:{alarm.rule.name}:{ts_ms}"
        (log.warning if new == ALARM else log.info)("alarm %s: %s -> %s (datapoints %s)", alarm.rule.name, old,
                                                     new, points, extra={"correlation_id": event_id})
        event = AlertEvent(
            event_id=event_id, site=self.site, correlation_id=event_id,
            thing=self.THING, signal="trouble", state="active" if new == ALARM else "cleared",
            level=alarm.rule.name, previous=old, ts_ms=ts_ms,
            explanation={"alarm": alarm.rule.name, "description": alarm.rule.description,
                         "from": old, "to": new, "datapoints": points,
                         "threshold": alarm.rule.threshold, "comparison": alarm.rule.comparison})
        metrics.ALERTS.labels(signal="trouble", level=alarm.rule.name).inc()
        if self.queue is not None:
            self.queue.send(ALERT_EVENTS_QUEUE, event.to_json(), attributes={"signal": "trouble"})
        return event


# -- the default rules, sampled from the Prometheus registry -------------------------------

def default_rules(period_s: float = 60.0) -> list[AlarmRule]:
    """Ingest stopped, queue backing up, notification failures, model latency."""
    return [
        AlarmRule("ingest_stopped", "Sum", period_s, 3, 3, 0.0, "LessThanOrEqualToThreshold",
                  "breaching", "no device message received for 3 periods (missing counts as none)"),
        AlarmRule("queue_backing_up", "Maximum", period_s, 5, 3, 1000.0, "GreaterThanThreshold",
                  "missing", "a queue held more than 1000 messages in 3 of 5 periods"),
        AlarmRule("notification_failures", "Sum", period_s, 1, 1, 0.0, "GreaterThanThreshold",
                  "notBreaching", "a notification could not be delivered"),
        AlarmRule("model_latency", "Average", period_s, 5, 3, 0.5, "GreaterThanThreshold",
                  "notBreaching", "mean inference time above 0.5 s in 3 of 5 periods"),
    ]


def _total(name: str, label_filter: dict[str, str] | None = None) -> float:
    """Sum of every sample of ``name`` in the firesight registry (optionally filtered)."""
    total = 0.0
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (label_filter or {}).items()):
                total += sample.value
    return total


def _maximum(name: str) -> float | None:
    values = [s.value for f in metrics.REGISTRY.collect() for s in f.samples if s.name == name]
    return max(values) if values else None


class RegistrySampler:
    """Turns the Prometheus registry into datapoints for :func:`default_rules` (counter
    increases since the previous sample, gauge maxima, mean latency of the period)."""

    def __init__(self, evaluator: AlarmEvaluator):
        self.evaluator = evaluator
        self._last: dict[str, float] = {}

    def _increase(self, key: str, value: float) -> float | None:
        """Counter increase since the previous sample (None at the first sample)."""
        previous = self._last.get(key)
        self._last[key] = value
        return None if previous is None else max(0.0, value - previous)

    def sample(self, now_s: float) -> None:
        """Read the registry once and add the datapoints of time ``now_s`` [s]."""
        ev = self.evaluator
        received = self._increase("rx", _total("firesight_messages_received_total"))
        if "ingest_stopped" in ev.alarms and received is not None:
            ev.put("ingest_stopped", now_s, received)
        depth = _maximum("firesight_queue_depth_messages")
        if "queue_backing_up" in ev.alarms and depth is not None:
            ev.put("queue_backing_up", now_s, depth)
        failures = self._increase("nf", _total("firesight_notification_failures_total"))
        if "notification_failures" in ev.alarms and failures:
            ev.put("notification_failures", now_s, failures)
        n = self._increase("lat_n", _total("firesight_inference_latency_seconds_count", {"path": "agent"}))
        s = self._increase("lat_s", _total("firesight_inference_latency_seconds_sum", {"path": "agent"}))
        if "model_latency" in ev.alarms and n and s is not None:
            ev.put("model_latency", now_s, s / n)


class AlarmService:
    """Samples the registry and evaluates the alarms every ``interval_s`` in a background
    thread (``firesight run`` runs it under the coordinator beside the agents).

    ``probes`` are called before each sample to refresh gauges that nobody else sets (the
    depth of the durable alert queue). A failing evaluation is logged and counted in
    ``errors``; the loop goes on. ``stop`` ends the loop and waits for it (staged: no new
    sample after the call).
    """

    def __init__(self, evaluator: AlarmEvaluator, *, interval_s: float = 10.0, clock=None,
                 probes: list[Callable[[], None]] | tuple = ()):
        require(interval_s > 0, "interval_s", "> 0", interval_s)
        self.evaluator = evaluator
        self.sampler = RegistrySampler(evaluator)
        self.interval_s = float(interval_s)
        self.clock = clock or time.time
        self.probes = list(probes)
        self.errors = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[AlertEvent]:
        """One sample and evaluation now; returns the alert events it raised."""
        for probe in self.probes:
            try:
                probe()
            except Exception as exc:  # a gauge left stale is reported, the alarms still run
                self.errors += 1
                self.last_error = f"probe: {type(exc).__name__}: {exc}"
                log.warning("alarm probe failed: %s", exc)
        now = self.clock()
        self.sampler.sample(now)
        return self.evaluator.evaluate(now)

    def start(self) -> "AlarmService":
        if self.evaluator.since_s is None:
            self.evaluator.since_s = self.clock()
        self._thread = threading.Thread(target=self._run, name="alarms", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception as exc:  # a supervised loop: log, count, go on
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("alarm evaluation failed")

    def stop(self, timeout_s: float = 10.0) -> bool:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> dict:
        """Each alarm's state and its last transition, and the loop's errors."""
        alarms = {}
        for name, alarm in self.evaluator.alarms.items():
            last = alarm.history[-1] if alarm.history else None
            alarms[name] = {"state": alarm.state, "last_change_s": None if last is None else last["time_s"],
                            "last_change": None if last is None else f"{last['from']} -> {last['to']}"}
        return {"alarms": alarms, "errors": self.errors, "last_error": self.last_error,
                "interval_s": self.interval_s}
