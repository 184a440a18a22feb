"""Assembling the running system from a :class:`RunConfig`: broker, stores, model, the
monitoring, analysis, response and learning agents, Device Defender
(:mod:`firesight.agents.defender_agent`), the alarm rules (:mod:`firesight.ops.alarms`) and
the model watcher under one coordinator; the dashboard and
``/metrics`` when configured. The analysis agent sends a sample of the windows it scores to
the learning agent over the durable queue ``field-windows``
(:class:`~firesight.agents.field_windows.FieldWindowSampler`).

Used by ``firesight run``, the live demo, the end-to-end test and the online benchmark,
so all of them run the same wiring. Adapters come from :mod:`firesight.bootstrap`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from firesight.agents.coordinator import AgentSpec, Coordinator, ModelWatcher
from firesight.agents.runtime_config import RunConfig

log = logging.getLogger(__name__)


def service_client(name: str, url: str, registry: Any, *, will: Any = None, persistent: bool = False,
                   mqtt_version: int = 311, session_expiry_s: int | None = None, manual_ack: bool = False,
                   receive_maximum: int | None = None) -> Any:
    """A connected service client: with a service certificate on ``mqtts://``, plain on
    ``mqtt://`` (the embedded broker's internal listener). ``persistent``: a persistent
    session (``clean_session=False``; on MQTT 5 with ``session_expiry_s``), returned *not yet
    connected* so that its user routes its filters before the broker delivers what it
    queued (the ingest gateway connects it). ``mqtt_version`` 311 or 5; ``manual_ack``: QoS 1
    messages acknowledged once handled, and on MQTT 5 at most ``receive_maximum`` of them
    unacknowledged (:class:`firesight.iot.client.MqttClient`)."""
    from firesight.iot.client import ServiceClient

    kwargs: dict[str, Any] = {"reconnect_min_s": 0.2, "reconnect_max_s": 5.0, "max_queued": 100_000,
                              "clean_session": not persistent, "mqtt_version": mqtt_version,
                              "manual_ack": manual_ack}
    if persistent and mqtt_version == 5:
        kwargs["session_expiry_s"] = session_expiry_s
    if receive_maximum is not None and mqtt_version == 5:
        kwargs["receive_maximum"] = receive_maximum
    if will is not None:
        kwargs["will"] = will
    if url.startswith(("mqtts://", "ssl://")):
        creds = registry.register_service(name)
        client = ServiceClient(name, url, cert_path=creds.cert_path, key_path=creds.key_path,
                               ca_path=creds.ca_path, client_id=name, **kwargs)
    else:
        client = ServiceClient(name, url, client_id=name, **kwargs)
    return client if persistent else client.connect()


def embedded_broker(broker: Any) -> bool:
    """Whether ``broker`` is the embedded (amqtt) broker: MQTT 3.1.1 only, and it gives up
    on a delivery whose PUBACK takes over 5 s (the message is then dropped), so its
    clients acknowledge on arrival."""
    from firesight.iot.broker import EmbeddedBroker

    return isinstance(broker, EmbeddedBroker)


def client_mqtt_version(config: RunConfig, broker: Any) -> int:
    """The service clients' MQTT version (``broker.mqtt_version``), checked against the
    broker in use."""
    from firesight.errors import InvalidParameterError

    version = config.broker.mqtt_version
    if version != 311 and embedded_broker(broker):
        raise InvalidParameterError("broker.mqtt_version", "311 with the embedded broker (MQTT 3.1.1 only)", version)
    return version


def build_channels(config: RunConfig) -> dict[str, Any]:
    """The notification channels of the configuration, by name (secrets named by
    ``password_env`` / ``secret_env`` are read from the environment by bootstrap)."""
    from firesight import bootstrap

    return bootstrap.notifier_channels({c.channel_name: {"type": c.kind, **c.options}
                                        for c in config.channels})


def alarm_service(config: RunConfig, queue: Any) -> Any:
    """The alarm rules of ``config`` over this process's metrics; their trouble events go to
    ``queue``. The depth of the durable alert queue is refreshed before each evaluation
    (``firesight_queue_depth_messages{queue="alert-events"}``) when the queue can count."""
    from firesight.agents.events import ALERT_EVENTS_QUEUE
    from firesight.ops import metrics
    from firesight.ops.alarms import AlarmEvaluator, AlarmService

    evaluator = AlarmEvaluator(config.alarms.build_rules(), queue=queue,
                               site=config.site if config.site != "+" else "system")
    probes = []
    if callable(getattr(queue, "counts", None)):
        depth = metrics.QUEUE_DEPTH.labels(queue=ALERT_EVENTS_QUEUE)
        probes.append(lambda: depth.set(sum(queue.counts(ALERT_EVENTS_QUEUE).values())))
    return AlarmService(evaluator, interval_s=config.alarms.interval_s, probes=probes)


def build_policy(config: RunConfig, channel_names: list[str]) -> Any:
    """The response policy: the configured one, or the recommended one over the channels
    (with the configured fields other than ``routes`` applied)."""
    from firesight.agents.response_policy import ResponsePolicy, default_policy

    values = dict(config.response.policy)
    if values.get("routes"):
        return ResponsePolicy.from_dict(values)
    base = default_policy(channel_names)
    merged = {**base.to_dict(), **values}
    return ResponsePolicy.from_dict(merged)


def learning_enabled(config: RunConfig) -> bool:
    """Whether this process runs the learning agent (``learning.enabled``; unset: when it is
    the only worker, since one learning agent per home writes the field windows)."""
    enabled = config.learning.enabled
    return not config.workers.shared_group if enabled is None else bool(enabled)


def field_sampler(config: RunConfig, queue: Any) -> Any:
    """The analysis agent's sampler of field windows for the learning agent (None when
    ``learning.field_every_n`` and ``learning.field_around_change`` are both 0). Every
    worker samples; the learning agent that consumes may run in another process."""
    from firesight.agents.field_windows import FieldWindowSampler

    settings = config.learning
    if not settings.field_every_n and not settings.field_around_change:
        return None
    return FieldWindowSampler(queue, every_n=settings.field_every_n, around_change=settings.field_around_change,
                              max_queued=settings.field_queue_max)


def defender_enabled(config: RunConfig) -> bool:
    """Whether this process runs Device Defender (``defender.enabled``; unset: when it is
    the only worker, so that each violation is raised once)."""
    enabled = config.defender.enabled
    return not config.workers.shared_group if enabled is None else bool(enabled)


def defender_spec(config: RunConfig, registry: Any, queue: Any, broker: Any, service_url: str) -> tuple:
    """The Device Defender agent's :class:`AgentSpec`, a callable that detaches it from the
    broker at stop, and the tap for the monitoring agent's ingest (None when not needed).

    On a broker with event hooks (the embedded one) the Defender counts its events
    (connections, refusals, publishes, denials). Elsewhere it counts the device messages a
    subscriber receives: with one worker, the monitoring agent already receives every
    device stream it serves, so its ingest gateway counts them (the tap) and the Defender
    subscribes only to the ``features`` stream the monitoring agent does not take; a
    scale-out worker sees only its share of the devices, so its Defender keeps a
    subscription of its own to every device topic."""
    from firesight.agents.defender_agent import DefenderAgent, build_defender, registry_site
    from firesight.iot.defender_service import device_message_counter
    from firesight.iot.topics import device_filter

    settings = config.defender
    defender = build_defender(settings.profiles, registry=registry, quarantine=settings.quarantine)
    hooks = broker is not None and callable(getattr(broker, "add_listener", None))
    attached = [hooks]
    if hooks:
        broker.add_listener(lambda event: defender.record_broker_event(event) if attached[0] else None)
    tap = None if hooks or config.workers.shared_group else device_message_counter(defender)
    observe = None if hooks else (device_filter("features", config.site) if tap is not None else "firesight/v1/+/+/#")

    def agent() -> Any:
        client = service_client(f"defender-{config.workers.id}", service_url, registry,
                                mqtt_version=client_mqtt_version(config, broker))
        return DefenderAgent(defender, queue, client, period_s=settings.period_s, site_of=registry_site(registry),
                             observe=observe)

    def detach() -> None:
        attached[0] = False

    def close(agent: Any) -> None:
        agent.client.close(flush_timeout_s=2.0)

    return AgentSpec("defender", agent, stop_order=1, close=close), detach, tap


def learning_agent(config: RunConfig, base: Any, queue: Any, metadata: Any, objects: Any, model: dict) -> Any:
    """The learning agent on this run's queue and stores, judging drift against the training
    reference of the model the analysis agent runs now (``model["path"]``; none for the
    shipped default, which has no reference), retraining through the local workflow runner."""
    from firesight.agents.drift import TrainingReference
    from firesight.agents.learning import LearningAgent, LearningSettings
    from firesight.workflows import workflow_runner

    s = config.learning
    settings = LearningSettings(feedback_threshold=s.feedback_threshold,
                                max_windows_per_device=s.max_windows_per_device, field_flush_s=s.field_flush_s,
                                field_hold_s=s.field_hold_s, interval_s=s.interval_s,
                                base_request=dict(s.base_request))
    references: dict[str, Any] = {}

    def reference() -> Any:
        path = model.get("path") or ""
        if path not in references:
            references[path] = TrainingReference.load(path) if path else None
        return references[path]

    return LearningAgent(queue, metadata, workflow_runner(base), reference=reference, settings=settings,
                         objects=objects)


@dataclass
class RunningSystem:
    """What :func:`start_system` started; :meth:`stop` takes it down in stages."""

    config: RunConfig
    coordinator: Coordinator
    device_url: str
    service_url: str
    ca_path: str
    registry: Any
    queue: Any
    metadata: Any
    objects: Any
    model: dict
    broker: Any = None
    owns_broker: bool = False
    extra_clients: list = field(default_factory=list)
    on_stop: list = field(default_factory=list)
    dashboard: Any = None
    dashboard_bridge: Any = None
    metrics_server: Any = None

    def health(self) -> dict:
        report = self.coordinator.health()
        report["broker"] = {"device_url": self.device_url, "service_url": self.service_url,
                            "embedded": self.owns_broker}
        report["model"] = self.model
        if self.dashboard is not None and self.dashboard_bridge is not None:
            report["dashboard"] = {"url": self.dashboard.url, "received": self.dashboard_bridge.received,
                                   "rejected": self.dashboard_bridge.rejected}
        if self.metrics_server is not None:
            report["metrics"] = {"url": self.metrics_server.url + "/metrics"}
        return report

    def stop(self) -> dict:
        if self.dashboard_bridge is not None:  # stop showing first, then stop the agents
            self.dashboard_bridge.stop()
        if self.dashboard is not None:
            self.dashboard.stop()
        if self.metrics_server is not None:
            self.metrics_server.stop()
        report = self.coordinator.stop()
        for hook in self.on_stop:
            hook()
        for client in self.extra_clients:
            try:
                client.close(flush_timeout_s=2.0)
            except Exception:  # closing is best effort at shutdown
                log.debug("closing a service client failed", exc_info=True)
        if self.owns_broker and self.broker is not None:
            self.broker.stop()
        report["status"] = "stopped"
        return report


def start_system(config: RunConfig, *, broker: Any = None, channels_factory: Any = None,
                 response: bool | None = None) -> RunningSystem:
    """Start everything ``config`` names.

    Parameters
    ----------
    config : RunConfig
    broker : started broker, optional
        Use this broker (its ``url``, and ``plain_url`` when it has one) instead of the
        configured one; a Mosquitto launcher gets its ACL reloaded after the services are
        registered.
    channels_factory : callable, optional
        ``channels_factory()`` -> {name: Notifier}; default: the configured channels.
    response : bool, optional
        Run the response agent (default: ``config.response.enabled``).
    """
    from firesight import bootstrap
    from firesight.agents.analysis import AnalysisAgent
    from firesight.agents.monitoring import MonitoringAgent, worker_topic
    from firesight.iot import open_registry
    from firesight.model_registry.resolve import load_model

    base = config.base_config()
    registry = open_registry(base)
    queue = bootstrap.message_queue(base)
    metadata = bootstrap.metadata_store(base)
    objects = bootstrap.object_store(config=base)
    owns_broker = False
    if broker is None and config.broker.url == "embedded":
        from firesight.iot.broker import BrokerConfig, EmbeddedBroker

        broker = EmbeddedBroker(registry, BrokerConfig(host=config.broker.host, tls_port=config.broker.tls_port))
        broker.start()
        owns_broker = True
    if broker is not None:
        device_url = broker.url
        service_url = getattr(broker, "plain_url", None) or broker.url
    else:
        device_url = service_url = config.broker.url
    mqtt_version = client_mqtt_version(config, broker)
    worker = config.workers.id
    names = [f"monitoring-{worker}", f"analysis-{worker}", "shadow-service"]
    if config.dashboard.enabled:
        names.append("dashboard")
    if defender_enabled(config):
        names.append(f"defender-{worker}")
    if service_url.startswith("mqtts://"):
        for name in names:
            registry.register_service(name)
        if broker is not None and hasattr(broker, "reload_acl"):
            broker.reload_acl()

    bundle, ref = load_model(config.model.ref or None, base)
    model = {"source": ref["source"], "version": ref.get("version") or "", "path": str(ref.get("path") or ""),
             "bundle": bundle}
    step_s = float(bundle.info.get("step_s", 1.0))
    window_s = float(bundle.info.get("window_s", 60.0))
    site = config.site

    defender_parts = (defender_spec(config, registry, queue, broker, service_url) if defender_enabled(config)
                      else None)

    def monitoring() -> Any:
        will = None
        if config.workers.shared_group:
            will = (worker_topic(worker), b"offline", 1, True)
        # a persistent session keeps the readings published while it is down (one worker:
        # every device; scale-out: the devices this worker serves); on a real broker the
        # readings are acknowledged once handled, so none dies with the process unhandled
        client = service_client(names[0], service_url, registry, will=will, persistent=True,
                                mqtt_version=mqtt_version, session_expiry_s=config.workers.session_expiry_s,
                                manual_ack=not embedded_broker(broker),
                                receive_maximum=config.workers.receive_maximum)
        return MonitoringAgent(client, queue, state_store=metadata, step_s=step_s, window_s=window_s, site=site,
                               worker_id=worker, shared_group=config.workers.shared_group,
                               settings=config.monitoring, takeover_after_s=config.workers.takeover_after_s,
                               observer=defender_parts[2] if defender_parts else None)

    def analysis() -> Any:
        client = service_client(names[1], service_url, registry, mqtt_version=mqtt_version)
        return AnalysisAgent(client, queue, model["bundle"], model_version=model["version"], state_store=metadata,
                             object_store=objects, worker_id=worker, settings=config.analysis,
                             field_windows=field_sampler(config, queue))

    def close_client(agent: Any) -> None:
        agent.client.close(flush_timeout_s=2.0)

    specs = [AgentSpec("analysis", analysis, stop_order=1, close=close_client),
             AgentSpec("monitoring", monitoring, stop_order=0, close=close_client)]
    run_response = config.response.enabled if response is None else response
    if run_response:
        from firesight.agents.alert_store import AlertStore
        from firesight.agents.response import ResponseAgent

        def response_agent() -> Any:
            chans = channels_factory() if channels_factory is not None else build_channels(config)
            policy = build_policy(config, list(chans))
            return ResponseAgent(queue, AlertStore(metadata), chans, policy, worker_id=f"response-{worker}")

        specs.append(AgentSpec("response", response_agent, stop_order=2))
    if learning_enabled(config):
        specs.append(AgentSpec("learning", lambda: learning_agent(config, base, queue, metadata, objects, model),
                               stop_order=4))
    if config.alarms.enabled:
        # stopped first: the shutdown itself (ingest ending) must not raise an alarm
        specs.append(AgentSpec("alarms", lambda: alarm_service(config, queue), stop_order=-1))
    on_stop = []
    if defender_parts:
        specs.append(defender_parts[0])
        on_stop.append(defender_parts[1])
    holder: dict[str, Coordinator] = {}
    if not config.model.ref and config.model.poll_s > 0:
        from firesight.model_registry.resolve import registry_for

        def approved() -> str | None:
            if base.registry_uri.startswith("sqlite:///"):
                from pathlib import Path

                if not Path(base.registry_uri[len("sqlite:///"):]).exists():
                    return None
            entry = registry_for(base).approved_version()
            return None if entry is None else str(entry["version"])

        paths: dict[str, str] = {}

        def load(version: str) -> Any:
            loaded, where = load_model(f"registry:{version}", base)
            paths[version] = str(where.get("path") or "")
            return loaded

        def switched(bundle: Any, version: str) -> None:
            model.update(bundle=bundle, version=version, source="registry", path=paths.get(version, ""))

        specs.append(AgentSpec("model-watcher", lambda: ModelWatcher(
            lambda: holder["coordinator"].agent("analysis"), model["version"], approved, load,
            config.model.poll_s, on_switch=switched), stop_order=3))
    coordinator = Coordinator(specs, restart_min_s=config.coordinator.restart_min_s,
                              restart_max_s=config.coordinator.restart_max_s,
                              drain_timeout_s=config.coordinator.drain_timeout_s)
    holder["coordinator"] = coordinator
    extra = []
    if owns_broker:
        from firesight.iot.shadow import ShadowManager, ShadowService

        shadow_client = service_client("shadow-service", service_url, registry)
        ShadowService(ShadowManager(metadata), shadow_client).start()
        extra.append(shadow_client)
    coordinator.start()
    ca_path = str(registry.ca.ca_path)
    system = RunningSystem(config=config, coordinator=coordinator, device_url=device_url, service_url=service_url,
                           ca_path=ca_path, registry=registry, queue=queue, metadata=metadata, objects=objects,
                           model={k: v for k, v in model.items() if k != "bundle"}, broker=broker,
                           owns_broker=owns_broker, extra_clients=extra, on_stop=on_stop)
    try:
        _start_http(system, base, registry)
    except BaseException:  # a port in use: take down what started, then say why
        system.stop()
        raise
    return system


def _start_http(system: RunningSystem, base: Any, registry: Any) -> None:
    """The dashboard (with its broker bridge) and ``/metrics``, as configured."""
    from firesight.web.server import DashboardConfig

    config = system.config
    if config.dashboard.enabled:
        from firesight.web.bridge import BrokerBridge
        from firesight.web.server import DashboardServer

        settings = config.dashboard
        system.dashboard = DashboardServer.from_config(DashboardConfig(host=settings.host, port=settings.port),
                                                       app_config=base).start()
        bridge_client = service_client("dashboard", system.service_url, registry,
                                       mqtt_version=client_mqtt_version(config, system.broker))
        system.dashboard_bridge = BrokerBridge(system.dashboard.feed, bridge_client).start()
    if config.metrics.enabled:
        from firesight.web.metrics_server import MetricsServer

        system.metrics_server = MetricsServer.from_config(
            DashboardConfig(host=config.metrics.host, port=config.metrics.port), app_config=base).start()
