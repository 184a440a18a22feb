"""The run configuration of ``firesight run``: one typed, validated file with environment
overrides.

The file is YAML (``.yaml``/``.yml``) or TOML (``.toml``); every section and field is
optional and has an embedded default that works on one machine. ``FIRESIGHT_<SECTION>_<FIELD>``
environment variables override a field (``FIRESIGHT_BROKER_URL=mqtt://host:1883``,
``FIRESIGHT_MONITORING_OFFLINE_AFTER_S=30``); ``FIRESIGHT_HOME`` and ``FIRESIGHT_SITE``
override the top-level fields. Values from the environment are parsed as YAML scalars
(``true``, ``12.5``, ``[a, b]``). Unknown keys and wrong types are errors that name the
field. Every field is documented in ``docs/running.md``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pydantic import ConfigDict, TypeAdapter, ValidationError

from firesight.errors import InvalidParameterError, require

_STRICT = ConfigDict(extra="forbid")
ENV_PREFIX = "FIRESIGHT_"


@dataclass(frozen=True)
class BrokerSettings:
    """Where the MQTT broker is.

    ``url``: ``embedded`` (an in-process mTLS broker started by ``firesight run``) or
    ``mqtt://HOST:PORT`` / ``mqtts://HOST:PORT`` (services authenticate with service
    certificates from the device registry on ``mqtts://``). ``host`` and ``tls_port``: where
    the embedded broker listens (0: any free port). ``mqtt_version``: the protocol of the
    service clients, 311 (MQTT 3.1.1) or 5 (MQTT 5.0: standard shared subscriptions and
    session expiry, on Mosquitto or AWS IoT Core); the embedded broker speaks 3.1.1 only.
    """

    __pydantic_config__ = _STRICT
    url: str = "embedded"
    host: str = "127.0.0.1"
    tls_port: int = 0
    mqtt_version: int = 311

    def __post_init__(self) -> None:
        require(self.url == "embedded" or self.url.startswith(("mqtt://", "mqtts://")), "broker.url",
                "'embedded', mqtt://HOST:PORT or mqtts://HOST:PORT", self.url)
        require(0 <= self.tls_port < 65536, "broker.tls_port", "0 (any free) or a TCP port", self.tls_port)
        require(self.mqtt_version in (311, 5), "broker.mqtt_version", "311 (MQTT 3.1.1) or 5 (MQTT 5.0)",
                self.mqtt_version)
        require(self.url != "embedded" or self.mqtt_version == 311, "broker.mqtt_version",
                "311 with the embedded broker (it speaks MQTT 3.1.1 only)", self.mqtt_version)


@dataclass(frozen=True)
class ModelSettings:
    """Which detector the analysis agent runs."""

    __pydantic_config__ = _STRICT
    ref: str = ""
    poll_s: float = 30.0

    def __post_init__(self) -> None:
        require(self.poll_s >= 0, "model.poll_s", ">= 0 (0: never re-check the registry)", self.poll_s)


@dataclass(frozen=True)
class MonitoringSettings:
    """Data quality and presence thresholds of the monitoring agent (device time unless
    said otherwise)."""

    __pydantic_config__ = _STRICT
    step_s: float | None = None
    window_s: float | None = None
    offline_missed_readings: int = 3
    min_offline_s: float = 2.0
    camera_timeout_s: float = 5.0
    camera_start_grace_s: float = 120.0
    frozen_after_s: float = 3.0
    scd41_missing_readings: int = 3
    scd41_interval_s: float = 5.0
    scd41_stuck_readings: int = 8
    clock_jump_s: float = 30.0
    queue_size: int = 4096

    def __post_init__(self) -> None:
        for name in ("min_offline_s", "camera_timeout_s", "frozen_after_s", "scd41_interval_s",
                     "clock_jump_s"):
            require(getattr(self, name) > 0, f"monitoring.{name}", "> 0", getattr(self, name))
        for name in ("offline_missed_readings", "scd41_missing_readings", "scd41_stuck_readings",
                     "queue_size"):
            require(getattr(self, name) >= 1, f"monitoring.{name}", ">= 1", getattr(self, name))
        require(self.camera_start_grace_s >= 0, "monitoring.camera_start_grace_s", ">= 0",
                self.camera_start_grace_s)
        for name in ("step_s", "window_s"):
            value = getattr(self, name)
            require(value is None or value > 0, f"monitoring.{name}", "> 0 or null (the model's)", value)


@dataclass(frozen=True)
class AnalysisSettings:
    """The analysis agent. ``publish_probability``: publish each device's fire probability on
    ``firesight/v1/{site}/probability`` (QoS 0) for the dashboard's chart, at most once per
    ``probability_interval_s`` [s, receiver clock] per device (0: every window) and at every
    level change. ``sustain_checkpoint_windows``: while a device's slow-path run (the alert
    policy's ``sustain_consecutive``) grows, its count is saved with the device's level every
    this many windows [count]; a restarted agent resumes it if its first window of that device
    comes within ``sustain_resume_gap_s`` [s, device clock] of the checkpoint (else the run
    starts over, as after any gap)."""

    __pydantic_config__ = _STRICT
    publish_alerts: bool = True
    snapshot_png: bool = True
    top_features: int = 5
    queue_size: int = 4096
    publish_probability: bool = True
    probability_interval_s: float = 1.0
    sustain_checkpoint_windows: int = 10
    sustain_resume_gap_s: float = 60.0

    def __post_init__(self) -> None:
        require(1 <= self.top_features <= 40, "analysis.top_features", "within 1..40", self.top_features)
        require(self.queue_size >= 1, "analysis.queue_size", ">= 1", self.queue_size)
        require(self.probability_interval_s >= 0, "analysis.probability_interval_s", ">= 0 (0: every window)",
                self.probability_interval_s)
        require(self.sustain_checkpoint_windows >= 1, "analysis.sustain_checkpoint_windows", ">= 1",
                self.sustain_checkpoint_windows)
        require(self.sustain_resume_gap_s >= 0, "analysis.sustain_resume_gap_s", ">= 0", self.sustain_resume_gap_s)


@dataclass(frozen=True)
class WorkerSettings:
    """Scale-out: ``shared_group`` "" runs one worker that serves every device; a group
    name makes this process one of several workers that share the devices through MQTT 5
    shared subscriptions (``$share/{group}/...``; needs Mosquitto or another broker with
    shared subscriptions). ``id`` names the worker and must be unique in the group.
    ``takeover_after_s``: a worker gone without a clean stop (its last will) keeps its
    devices this long [s] (its persistent session queues their readings), so that one
    restarted within it resumes without loss; after it, the other workers take them over
    at their next status message (0: at once). ``session_expiry_s``: with
    ``broker.mqtt_version`` 5, the Session Expiry Interval of the monitoring client's
    persistent session: the broker keeps a gone worker's subscriptions and queued readings
    this long [s], then drops them (at least ``takeover_after_s``, so the readings a worker
    missed before the takeover wait for it). On MQTT 3.1.1 the broker's own setting
    applies (1 h on the embedded broker and the generated Mosquitto configuration).
    ``receive_maximum``: with ``broker.mqtt_version`` 5, the Receive Maximum of the
    monitoring client (1-65535): the broker sends it at most this many QoS 1 readings
    before they are acknowledged (once handled), so a worker that falls behind leaves the
    backlog in the broker's session instead of its own memory; 100, as AWS IoT Core's limit
    of unacknowledged in-flight QoS 1 messages per connection."""

    __pydantic_config__ = _STRICT
    id: str = "local"
    shared_group: str = ""
    takeover_after_s: float = 30.0
    session_expiry_s: int = 3600
    receive_maximum: int = 100

    def __post_init__(self) -> None:
        from firesight.iot.client import MAX_SESSION_EXPIRY_S
        from firesight.iot.topics import validate_name

        validate_name(self.id, "workers.id")
        require(self.takeover_after_s >= 0, "workers.takeover_after_s", ">= 0", self.takeover_after_s)
        require(max(1.0, self.takeover_after_s) <= self.session_expiry_s <= MAX_SESSION_EXPIRY_S,
                "workers.session_expiry_s",
                f"within max(1, workers.takeover_after_s)..{MAX_SESSION_EXPIRY_S}", self.session_expiry_s)
        require(1 <= self.receive_maximum <= 65535, "workers.receive_maximum", "within 1..65535",
                self.receive_maximum)
        if self.shared_group:
            validate_name(self.shared_group, "workers.shared_group")


@dataclass(frozen=True)
class ChannelSettings:
    """One notification channel: ``kind`` console | email | webhook | slack; ``options``
    the channel's fields (see docs/running.md); ``name`` the name routes use (default: the
    kind)."""

    __pydantic_config__ = _STRICT
    kind: str
    name: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def channel_name(self) -> str:
        return self.name or self.kind


@dataclass(frozen=True)
class ResponseSettings:
    """The response agent: ``enabled`` false leaves alert events on the queue for another
    consumer; ``policy`` the response policy (routes, retry, ...; default: the recommended
    policy over the configured channels)."""

    __pydantic_config__ = _STRICT
    enabled: bool = True
    policy: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CoordinatorSettings:
    """Supervision: restart backoff [s], staged-stop drain time [s], health print period [s]."""

    __pydantic_config__ = _STRICT
    restart_min_s: float = 0.5
    restart_max_s: float = 30.0
    drain_timeout_s: float = 10.0
    health_interval_s: float = 30.0

    def __post_init__(self) -> None:
        require(0 < self.restart_min_s <= self.restart_max_s, "coordinator.restart_min_s/restart_max_s",
                "0 < min <= max", (self.restart_min_s, self.restart_max_s))
        require(self.drain_timeout_s >= 0, "coordinator.drain_timeout_s", ">= 0", self.drain_timeout_s)
        require(self.health_interval_s >= 0, "coordinator.health_interval_s", ">= 0 (0: never)",
                self.health_interval_s)


@dataclass(frozen=True)
class DashboardSettings:
    """The operator's dashboard (``firesight dashboard``) inside ``firesight run``: off unless
    ``enabled``; it listens on ``host``:``port`` (loopback by default; 0: any free port) and
    sees the broker's device and alert topics through its own service certificate. Sign-in
    needs an API token (``firesight tokens create NAME --role viewer``)."""

    __pydantic_config__ = _STRICT
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8090

    def __post_init__(self) -> None:
        require(0 <= self.port <= 65535, "dashboard.port", "a TCP port 0-65535", self.port)


#: Fields of :class:`firesight.ops.alarms.AlarmRule` a configuration may change.
ALARM_RULE_FIELDS = ("statistic", "period_s", "evaluation_periods", "datapoints_to_alarm", "threshold",
                     "comparison", "treat_missing_data", "description")


@dataclass(frozen=True)
class AlarmSettings:
    """Alarm rules with CloudWatch's semantics on this process's metrics
    (:mod:`firesight.ops.alarms`, docs/operations.md), run beside the agents: every
    ``interval_s`` [s] the metrics are sampled and the rules evaluated; ``period_s`` [s] is
    the period of the default rules (``ingest_stopped``, ``queue_backing_up``,
    ``notification_failures``, ``model_latency``); ``rules`` changes a default rule by name
    (``{notification_failures: {threshold: 2}}``; the fields of ``AlarmRule``) or turns it
    off (``{ingest_stopped: {enabled: false}}``). A change into ALARM puts a ``trouble``
    alert event on the durable queue."""

    __pydantic_config__ = _STRICT
    enabled: bool = True
    interval_s: float = 10.0
    period_s: float = 60.0
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(self.interval_s > 0, "alarms.interval_s", "> 0", self.interval_s)
        require(self.period_s > 0, "alarms.period_s", "> 0", self.period_s)
        self.build_rules()  # names, fields and values checked now, not at start

    def build_rules(self) -> list:
        """The :class:`~firesight.ops.alarms.AlarmRule` list this configuration runs."""
        from firesight.ops.alarms import default_rules

        rules = {r.name: r for r in default_rules(self.period_s)}
        for name, change in self.rules.items():
            require(name in rules, "alarms.rules", f"names of the default rules {sorted(rules)}", name)
            require(isinstance(change, dict), f"alarms.rules.{name}", "a mapping of AlarmRule fields", change)
            change = dict(change)
            enabled = change.pop("enabled", True)
            require(isinstance(enabled, bool), f"alarms.rules.{name}.enabled", "true or false", enabled)
            unknown = sorted(set(change) - set(ALARM_RULE_FIELDS))
            require(not unknown, f"alarms.rules.{name}", f"fields among {ALARM_RULE_FIELDS} or enabled", unknown)
            if not enabled:
                del rules[name]
                continue
            try:
                rules[name] = dataclasses.replace(rules[name], **change)
            except InvalidParameterError as exc:
                raise InvalidParameterError(f"alarms.rules.{name}.{exc.name}", exc.expected, exc.got) from None
            except TypeError as exc:
                raise InvalidParameterError(f"alarms.rules.{name}", "valid AlarmRule values", str(exc)) from None
        return list(rules.values())


@dataclass(frozen=True)
class MetricsSettings:
    """``GET /metrics`` (Prometheus text format, a viewer API token as for every firesight
    HTTP surface) and an open ``GET /ping``, served by ``firesight run`` on ``host``:``port``
    when ``enabled`` (loopback by default; 0: any free port, the URL is in the started and
    health lines). The dashboard, when enabled, serves the same ``/metrics``."""

    __pydantic_config__ = _STRICT
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9464

    def __post_init__(self) -> None:
        require(0 <= self.port <= 65535, "metrics.port", "a TCP port 0-65535", self.port)


@dataclass(frozen=True)
class LearningRunSettings:
    """The learning agent in ``firesight run`` (:mod:`firesight.agents.learning`).

    ``enabled``: run it in this process (null: when this process is the only worker, i.e.
    no ``workers.shared_group``; one learning agent per home writes the field windows).
    ``interval_s``: its step period (field windows, feedback, drift, retraining) [s].
    The analysis agent sends every ``field_every_n``-th scored window of each device and
    ``field_around_change`` windows on each side of every level change on the durable queue
    ``field-windows`` (both 0: none), pausing while the queue holds ``field_queue_max``
    messages. The other fields are those of ``LearningSettings``."""

    __pydantic_config__ = _STRICT
    enabled: bool | None = None
    interval_s: float = 30.0
    field_every_n: int = 10
    field_around_change: int = 5
    field_queue_max: int = 100_000
    field_flush_s: float = 60.0
    field_hold_s: float = 300.0
    max_windows_per_device: int = 3600
    feedback_threshold: int = 5
    base_request: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(self.interval_s > 0, "learning.interval_s", "> 0", self.interval_s)
        for name in ("field_every_n", "field_around_change"):
            require(getattr(self, name) >= 0, f"learning.{name}", ">= 0", getattr(self, name))
        for name in ("field_queue_max", "max_windows_per_device", "feedback_threshold"):
            require(getattr(self, name) >= 1, f"learning.{name}", ">= 1", getattr(self, name))
        require(self.field_flush_s >= 0, "learning.field_flush_s", ">= 0", self.field_flush_s)
        require(1.0 <= self.field_hold_s <= 43_200.0, "learning.field_hold_s", "within 1..43200 s",
                self.field_hold_s)


@dataclass(frozen=True)
class DefenderRunSettings:
    """Device Defender in ``firesight run`` (:mod:`firesight.agents.defender_agent`).

    ``enabled``: run it in this process (null: when this process is the only worker, i.e.
    no ``workers.shared_group``; one Defender per broker raises each violation once).
    Every ``period_s`` [s] the security ``profiles`` (AWS ``Behavior`` shape plus
    ``quarantineBehaviors``, docs/iot-services.md; empty: the built-in ``firesight-nodes``
    profile) are evaluated over each registered device's traffic: the embedded broker's
    events, or the device topics seen through a subscription on an external broker. A
    violation is a ``trouble`` alert event (condition ``defender:{behaviour}``), sets
    ``firesight_defender_violations{behavior}`` and shows on the dashboard's device;
    ``quarantine``: apply the deny-all policy to devices that violate a behaviour listed in
    ``quarantineBehaviors``."""

    __pydantic_config__ = _STRICT
    enabled: bool | None = None
    period_s: float = 5.0
    quarantine: bool = True
    profiles: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        require(self.period_s > 0, "defender.period_s", "> 0", self.period_s)
        from firesight.iot.defender import SecurityProfile

        names = []
        for i, profile in enumerate(self.profiles):
            try:
                names.append(SecurityProfile.from_dict(profile).name)
            except InvalidParameterError as exc:
                raise InvalidParameterError(f"defender.profiles[{i}].{exc.name}", exc.expected, exc.got) from None
        require(len(names) == len(set(names)), "defender.profiles", "unique securityProfileName", names)


@dataclass(frozen=True)
class RunConfig:
    """Everything ``firesight run`` starts, in one object (see docs/running.md)."""

    __pydantic_config__ = _STRICT
    home: str = ""
    site: str = "+"
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    workers: WorkerSettings = field(default_factory=WorkerSettings)
    channels: list[ChannelSettings] = field(default_factory=lambda: [ChannelSettings(kind="console")])
    response: ResponseSettings = field(default_factory=ResponseSettings)
    coordinator: CoordinatorSettings = field(default_factory=CoordinatorSettings)
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    alarms: AlarmSettings = field(default_factory=AlarmSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    learning: LearningRunSettings = field(default_factory=LearningRunSettings)
    defender: DefenderRunSettings = field(default_factory=DefenderRunSettings)

    def __post_init__(self) -> None:
        if self.site != "+":
            from firesight.iot.topics import validate_name

            validate_name(self.site, "site")
        names = [c.channel_name for c in self.channels]
        require(len(names) == len(set(names)), "channels", "unique names", names)

    def base_config(self):
        """The :class:`firesight.config.Config` (home, stores, registry) this run uses."""
        from firesight.config import load_config

        return load_config(home=Path(self.home).expanduser() if self.home else None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_ADAPTER = TypeAdapter(RunConfig)


def parse_run_config(values: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
                     ) -> RunConfig:
    """Validate ``values`` (a parsed file) with ``FIRESIGHT_*`` overrides from ``environ``.

    Raises
    ------
    InvalidParameterError
        Naming the first bad field, what it expects and what it got.
    """
    data = _plain(values or {})
    require(isinstance(data, dict), "run configuration", "a mapping at the top level", type(data).__name__)
    _apply_environment(data, os.environ if environ is None else environ)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        original = (err.get("ctx") or {}).get("error")
        if isinstance(original, InvalidParameterError):
            raise original from None
        where = ".".join(str(p) for p in err["loc"]) or "run configuration"
        raise InvalidParameterError(where, err["msg"].lower(), err.get("input")) from None
    except (TypeError, ValueError) as exc:  # raised by __post_init__ through pydantic
        if isinstance(exc, InvalidParameterError):
            raise
        raise InvalidParameterError("run configuration", "valid fields", str(exc)) from None


def load_run_config(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None
                    ) -> RunConfig:
    """Read a YAML or TOML run configuration (None: defaults and environment only)."""
    values: Any = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InvalidParameterError("config", "an existing YAML or TOML file", str(p))
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".toml":
            try:
                values = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise InvalidParameterError("config", "valid TOML", f"{p}: {exc}") from None
        elif p.suffix.lower() in (".yaml", ".yml", ".json"):
            import yaml

            try:
                values = yaml.safe_load(text) or {}
            except yaml.YAMLError as exc:
                raise InvalidParameterError("config", "valid YAML", f"{p}: {exc}") from None
        else:
            raise InvalidParameterError("config", "a .yaml, .yml, .json or .toml file", str(p))
    return parse_run_config(values, environ)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    import yaml

    sections = {f.name for f in dataclasses.fields(RunConfig)
                if f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(f.default_factory())}
    top = {"home", "site"}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name in top:
            data[name] = raw
            continue
        section, _, fname = name.partition("_")
        if section not in sections or not fname:
            continue
        cls = {f.name: f for f in dataclasses.fields(RunConfig)}[section].default_factory()  # type: ignore[misc]
        if fname not in {f.name for f in dataclasses.fields(cls)}:
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(getattr(cls, fname), str) and not isinstance(value, str):
            value = raw
        sect = data.setdefault(section, {})
        require(isinstance(sect, dict), section, "a mapping", sect)
        sect[fname] = value
