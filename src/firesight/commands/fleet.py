"""Commands of the IoT services: ``fleet simulate``, ``shadow get|update|delete|list``,
``rules list|deploy|test|run`` and ``defender profile|quarantine|release``."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from firesight._atomic import write_text_atomic
from firesight.errors import InvalidParameterError, NotFoundError

console = Console()
err_console = Console(stderr=True)

fleet_app = typer.Typer(help="Simulated fleets of Lepton 3.5 + SCD41 nodes.", no_args_is_help=True)
shadow_app = typer.Typer(help="Device shadows (AWS IoT Device Shadow semantics).", no_args_is_help=True)
rules_app = typer.Typer(help="Rules engine: AWS IoT SQL rules with actions.", no_args_is_help=True)
defender_app = typer.Typer(help="Device Defender: security profiles and quarantine.", no_args_is_help=True)


def _split(text: Optional[str]) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _print_json(obj: Any) -> None:
    console.print_json(json.dumps(obj, default=str))


@contextlib.contextmanager
def _broker(url: str, registry: Any, *, allow_plain_listener: bool = False):
    """Yield ``(device_side, service_url)``: for ``embedded``, a broker started here and
    its mTLS URL (services connect with their own certificates, like the devices); else the
    given URL for both. A plain listener (no authentication) is opened only with
    ``allow_plain_listener``, and gets the read-only plain-listener policy."""
    if url != "embedded":
        yield url, url
        return
    from firesight.iot.broker import BrokerConfig, EmbeddedBroker

    broker = EmbeddedBroker(registry, BrokerConfig(plain_port=0 if allow_plain_listener else None))
    broker.start()
    if broker.plain_url:
        err_console.print(f"plain listener without authentication (read the alerts only): {broker.plain_url}")
    try:
        yield broker, broker.url
    finally:
        broker.stop()


def _service_client(name: str, url: str, registry: Any) -> Any:
    """A connected service client: over mTLS with a certificate of this service instance's
    own (``registry.register_service_instance``: a second ``rules run`` gets
    ``rules-engine-1``, so that Mosquitto, which sets the client id to the certificate's
    CN, does not let the two take over each other's connection), or on a plain
    ``mqtt://`` URL without one."""
    from firesight.iot.client import ServiceClient

    if url.startswith(("mqtts://", "ssl://")):
        creds = registry.register_service_instance(name)
        return ServiceClient(creds.thing_name, url, cert_path=creds.cert_path, key_path=creds.key_path,
                             ca_path=creds.ca_path).connect()
    return ServiceClient(name, url).connect()


# -- fleet ---------------------------------------------------------------------------------------
@fleet_app.command("simulate")
def simulate(
    devices: int = typer.Option(4, "--devices", help="Number of virtual nodes [-] (default 4)."),
    broker: str = typer.Option("embedded", "--broker", help="`embedded` (an in-process broker with shadow "
                               "service and Device Defender, default) or mqtts://HOST:PORT / mqtt://HOST:PORT."),
    data: str = typer.Option(..., "--data", help="Dataset folder or fsspec URL (from `firesight generate`)."),
    scenarios: Optional[str] = typer.Option(None, "--scenarios", help="Comma-separated scenario ids, families "
                                            "or labels to play (default: all, node i plays scenario i mod n)."),
    speed: float = typer.Option(1.0, "--speed", help="Playback speed [x real time]; 0 = as fast as possible "
                                "(default 1)."),
    duration_s: Optional[float] = typer.Option(None, "--duration-s", help="Scenario time to play per node after its t = 0 [s] (the SCD41 history before t = 0 plays first) "
                                               "(default: whole scenarios)."),
    mode: Optional[str] = typer.Option(None, "--mode", help="Force the edge mode: frames | features "
                                       "(default: each node's shadow, `frames` if unset)."),
    site: str = typer.Option("sim", "--site", help="Site of the nodes (topic level) (default sim)."),
    prefix: str = typer.Option("sim-node", "--prefix", help="Thing name prefix; node i is PREFIX-iii "
                               "(default sim-node)."),
    misbehave: Optional[str] = typer.Option(None, "--misbehave", help="Comma-separated THING=MODE with MODE "
                                            "flood | probe | reconnect (default: none)."),
    status_interval_s: float = typer.Option(60.0, "--status-interval-s", help="Status message period [s] "
                                            "(default 60)."),
    allow_plain_listener: bool = typer.Option(False, "--allow-plain-listener", help="With --broker embedded: also "
                                              "open a listener WITHOUT authentication, limited to reading the site "
                                              "alerts (default: none; services use mTLS)."),
) -> None:
    """Run N virtual Lepton 3.5 + SCD41 nodes that play generated scenarios over MQTT, each
    with its own certificate and client id = thing name. Prints the run's counts as JSON."""
    from firesight.datasets.reader import open_dataset
    from firesight.iot import open_registry
    from firesight.iot.fleet import FleetSimulator, SimulatorSettings, select_scenarios

    pairs = {}
    for item in _split(misbehave):
        thing, _, how = item.partition("=")
        if not how:
            raise InvalidParameterError("misbehave", "THING=MODE pairs", item)
        pairs[thing.strip()] = how.strip()
    settings = SimulatorSettings(devices=devices, site=site, thing_prefix=prefix, speed=speed, duration_s=duration_s,
                                 mode=mode, misbehave=pairs, status_interval_s=status_interval_s)
    dataset = open_dataset(data)
    ids = select_scenarios(dataset, _split(scenarios))[:devices]
    played = [dataset.load(i) for i in ids]
    registry = open_registry()
    with _broker(broker, registry, allow_plain_listener=allow_plain_listener) as (device_side, service_url):
        device_url = device_side.url if not isinstance(device_side, str) else device_side
        extra: dict[str, Any] = {}
        services: list[Any] = []
        shadow_service = None
        if not isinstance(device_side, str):
            from firesight import bootstrap
            from firesight.iot.defender import DEFAULT_PROFILE, Defender, registry_quarantine
            from firesight.iot.shadow import ShadowManager, ShadowService

            shadow_client = _service_client("shadow-service", service_url, registry)
            services.append(shadow_client)
            shadow_service = ShadowService(ShadowManager(bootstrap.metadata_store()), shadow_client).start()
            defender = Defender([DEFAULT_PROFILE], quarantine=registry_quarantine(registry),
                                principal_filter=lambda name: name.startswith(prefix + "-"))
            device_side.add_listener(defender.record_broker_event)
            extra["defender"] = defender
        sim = FleetSimulator(settings, played, device_url, registry=registry)
        try:
            with Progress(SpinnerColumn(), TextColumn("[bold]fleet[/] {task.fields[sent]} messages"),
                          TimeElapsedColumn(), console=err_console) as bar:
                task = bar.add_task("fleet", total=None, sent=0)
                sim.connect()
                result = sim.run(progress=lambda n: bar.update(task, sent=n))
        except KeyboardInterrupt:
            sim.stop()
            result = {"interrupted": True, **{k: int(v) for k, v in sim.counts.items()}}
        finally:
            sim.close()
            if shadow_service is not None:  # staged: answer what is queued, then close its client
                shadow_service.stop()
            for client in services:
                client.close()
        result["scenarios"] = ids
        if "defender" in extra:
            result["violations"] = extra["defender"].evaluate()
            result["quarantined"] = sorted(extra["defender"].quarantined)
    _print_json(result)


# -- shadow --------------------------------------------------------------------------------------------
def _manager() -> Any:
    from firesight import bootstrap
    from firesight.iot.shadow import ShadowManager

    return ShadowManager(bootstrap.metadata_store())


def _mqtt_request(broker: str, thing: str, operation: str, body: dict, name: Optional[str]) -> dict:
    """Send one shadow request over MQTT and wait for its accepted / rejected answer."""
    from firesight.iot import open_registry
    from firesight.iot.shadow import ShadowRejected, shadow_topic

    token = f"cli-{time.time_ns()}"
    answers: dict[str, dict] = {}
    got = threading.Event()

    def on_answer(topic: str, payload: bytes) -> None:
        doc = json.loads(payload)
        if doc.get("clientToken") == token:
            answers[topic.rsplit("/", 1)[-1]] = doc
            got.set()

    client = _service_client("console", broker, open_registry())
    try:
        for result in ("accepted", "rejected"):
            client.subscribe(shadow_topic(thing, operation, result, name), on_answer, qos=1)
        client.publish(shadow_topic(thing, operation, None, name), json.dumps({**body, "clientToken": token}),
                       qos=1)
        if not got.wait(10):
            raise NotFoundError(f"no answer from a shadow service on {broker} within 10 s")
    finally:
        client.close()
    if "rejected" in answers:
        raise ShadowRejected(answers["rejected"]["code"], answers["rejected"]["message"])
    return answers["accepted"]


@shadow_app.command("get")
def shadow_get(
    thing: str = typer.Argument(..., help="Thing name."),
    name: Optional[str] = typer.Option(None, "--name", help="Named shadow (default: the classic shadow)."),
    broker: Optional[str] = typer.Option(None, "--broker", help="Ask a running shadow service over MQTT at this "
                                         "URL (default: read the metadata store directly)."),
) -> None:
    """Print a thing's shadow document (state with delta, metadata, version)."""
    doc = _mqtt_request(broker, thing, "get", {}, name) if broker else _manager().get(thing, name)
    _print_json(doc)


@shadow_app.command("update")
def shadow_update(
    thing: str = typer.Argument(..., help="Thing name."),
    desired: Optional[str] = typer.Option(None, "--desired", help='Desired state as JSON, e.g. '
                                          '\'{"edge_mode": "features"}\'; null removes a key.'),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="KEY=VALUE of the desired state (VALUE parsed "
                                             "as JSON when it can be), repeatable: measurement_interval_s [s], "
                                             "low_power_mode, ffc_interval_s [s], edge_mode."),
    version: Optional[int] = typer.Option(None, "--version", help="Expected current version (409 if it "
                                          "differs; default: unconditional)."),
    name: Optional[str] = typer.Option(None, "--name", help="Named shadow (default: the classic shadow)."),
    broker: Optional[str] = typer.Option(None, "--broker", help="Send through a running shadow service over "
                                         "MQTT, so devices get the delta (default: write the store directly)."),
) -> None:
    """Set a thing's desired configuration; prints the accepted document."""
    state: dict[str, Any] = {}
    if desired:
        try:
            state = json.loads(desired)
        except ValueError as exc:
            raise InvalidParameterError("desired", "a JSON object", desired) from exc
    for item in set_ or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InvalidParameterError("set", "KEY=VALUE", item)
        try:
            state[key] = json.loads(raw)
        except ValueError:
            state[key] = raw
    if not state:
        raise InvalidParameterError("desired", "--desired JSON or at least one --set", None)
    body: dict[str, Any] = {"state": {"desired": state}}
    if version is not None:
        body["version"] = version
    if broker:
        _print_json(_mqtt_request(broker, thing, "update", body, name))
    else:
        _print_json(_manager().update(thing, body, name)["accepted"])


@shadow_app.command("delete")
def shadow_delete(
    thing: str = typer.Argument(..., help="Thing name."),
    name: Optional[str] = typer.Option(None, "--name", help="Named shadow (default: the classic shadow)."),
) -> None:
    """Delete a thing's shadow (its version continues if it is created again)."""
    _print_json(_manager().delete(thing, name))


@shadow_app.command("list")
def shadow_list() -> None:
    """List the shadows in the metadata store."""
    table = Table("thing", "shadow", "version", "updated")
    for item in _manager().list_shadows():
        table.add_row(item["thing_name"], item["shadow_name"] or "(classic)", str(item["version"]),
                      time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(item["timestamp"])))
    console.print(table)


# -- rules -----------------------------------------------------------------------------------------------------
def _rules(file: Optional[Path]) -> list:
    from firesight import bootstrap
    from firesight.iot.rules import load_rules, stored_rules

    return load_rules(file) if file else stored_rules(bootstrap.metadata_store())


@rules_app.command("list")
def rules_list(
    file: Optional[Path] = typer.Option(None, "--file", help="Rules file (JSON or YAML) (default: the rules "
                                        "deployed to the metadata store)."),
) -> None:
    """List rules: name, enabled, SQL and action types."""
    table = Table("name", "enabled", "sql", "actions")
    for rule in _rules(file):
        table.add_row(rule.name, "yes" if rule.enabled else "no", rule.sql,
                      ", ".join(next(iter(a)) for a in rule.actions))
    console.print(table)


@rules_app.command("deploy")
def rules_deploy(
    file: Path = typer.Option(..., "--file", help="Rules file (JSON or YAML list, or {rules: [...]})."),
    aws_out: Optional[Path] = typer.Option(None, "--aws-out", help="Also write the AWS IoT TopicRulePayloads "
                                           "as JSON {name: payload} to this file (default: none)."),
    role_arn: str = typer.Option("", "--role-arn", help="IAM role the AWS rule actions assume (with --aws-out)."),
    bucket: str = typer.Option("", "--bucket", help="S3 bucket of object_store actions (with --aws-out)."),
    queue_url: Optional[list[str]] = typer.Option(None, "--queue-url", help="NAME=SQS_URL for queue actions, "
                                                  "repeatable (with --aws-out)."),
    function_arn: Optional[list[str]] = typer.Option(None, "--function-arn", help="NAME=LAMBDA_ARN for handler "
                                                     "actions, repeatable (with --aws-out)."),
) -> None:
    """Validate rules and store them where `firesight rules run` reads them; optionally emit
    the same rules as AWS IoT topic rules."""
    from firesight import bootstrap
    from firesight.iot.rules import load_rules, save_rules, to_aws_topic_rule

    rules = load_rules(file)
    n = save_rules(bootstrap.metadata_store(), rules)
    if aws_out:
        def pairs(items: Optional[list[str]], what: str) -> dict[str, str]:
            out = {}
            for item in items or []:
                key, sep, value = item.partition("=")
                if not sep:
                    raise InvalidParameterError(what, "NAME=VALUE", item)
                out[key] = value
            return out

        payloads = {r.name: to_aws_topic_rule(r, role_arn=role_arn, bucket=bucket,
                                              queue_urls=pairs(queue_url, "queue_url"),
                                              function_arns=pairs(function_arn, "function_arn")) for r in rules}
        write_text_atomic(aws_out, json.dumps(payloads, indent=2))
    _print_json({"deployed": n, "rules": [r.name for r in rules], "aws_out": str(aws_out) if aws_out else None})


@rules_app.command("test")
def rules_test(
    sql: str = typer.Option(..., "--sql", help="AWS IoT SQL statement."),
    topic: str = typer.Option(..., "--topic", help="Topic of the test message."),
    payload: str = typer.Option(..., "--payload", help="JSON payload of the test message."),
) -> None:
    """Evaluate one SQL statement on one message; prints the selected object (or null)."""
    from firesight.iot import strict_json
    from firesight.iot.rules import MessageContext, parse_sql
    from firesight.iot.rules_engine import MAX_MESSAGE_DEPTH

    query = parse_sql(sql)
    try:  # the parser the running engine uses: NaN, Infinity, deep nesting ... are refused
        doc = strict_json.loads(payload, max_depth=MAX_MESSAGE_DEPTH)
    except strict_json.JsonRejected as exc:
        shown = payload if len(payload) <= 40 else payload[:40] + "..."
        raise InvalidParameterError("payload", f"a JSON document the rules engine accepts ({exc})", shown) from None
    selected = query.apply(doc, MessageContext(topic, "", int(time.time() * 1000))) if query.matches(topic) else None
    try:
        text = strict_json.dumps({"matches_topic": query.matches(topic), "selected": selected})
    except ValueError as exc:  # e.g. SELECT 1e999: AWS IoT could not publish this either
        raise InvalidParameterError("sql", "a selection JSON can carry (finite numbers)", str(exc)) from None
    console.print_json(text)


@rules_app.command("run")
def rules_run(
    broker: str = typer.Option(..., "--broker", help="Broker URL: mqtts://HOST:PORT (service certificate) or "
                               "mqtt://HOST:PORT."),
    file: Optional[Path] = typer.Option(None, "--file", help="Rules file (default: the deployed rules)."),
    duration_s: Optional[float] = typer.Option(None, "--duration-s", help="Stop after this long [s] "
                                               "(default: until Ctrl-C)."),
) -> None:
    """Run the rules engine on a broker: object_store actions write to the configured object
    store, queue actions to the local durable queue ({home}/queue.db)."""
    from firesight import bootstrap
    from firesight.config import load_config
    from firesight.iot import open_registry
    from firesight.iot.rules import RulesEngine, RulesService

    cfg = load_config()
    engine = RulesEngine(_rules(file), object_store=bootstrap.object_store(config=cfg),
                         queue=bootstrap.message_queue(cfg))
    client = _service_client("rules-engine", broker, open_registry(cfg))
    service = RulesService(engine, client).start()
    stop = threading.Event()
    try:
        stop.wait(duration_s)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()  # staged: unsubscribe, finish the queued messages, end the worker
        client.close()
    _print_json(dict(engine.counts))


# -- defender --------------------------------------------------------------------------------------------------
@defender_app.command("profile")
def defender_profile(
    file: Optional[Path] = typer.Option(None, "--file", help="Security profile JSON (default: the built-in "
                                        "firesight-nodes profile)."),
    aws: bool = typer.Option(False, "--aws", help="Print the AWS CreateSecurityProfile request instead "
                             "(durations must be 300..3600 s)."),
) -> None:
    """Validate and print a security profile."""
    from firesight.iot.defender import DEFAULT_PROFILE, SecurityProfile

    data = json.loads(file.read_text()) if file else DEFAULT_PROFILE
    profile = SecurityProfile.from_dict(data)
    _print_json(profile.to_aws() if aws else profile.to_dict())


@defender_app.command("quarantine")
def defender_quarantine(thing: str = typer.Argument(..., help="Thing name.")) -> None:
    """Quarantine a device: attach the deny-all policy to its active certificates."""
    from firesight.iot import open_registry
    from firesight.iot.defender import registry_quarantine

    registry = open_registry()
    registry.describe_thing(thing)
    registry_quarantine(registry)(thing)
    _print_json({"quarantined": thing})


@defender_app.command("release")
def defender_release(thing: str = typer.Argument(..., help="Thing name.")) -> None:
    """Lift a quarantine: detach the deny-all policy from the device's certificates."""
    from firesight.iot import open_registry
    from firesight.iot.defender import registry_release

    registry = open_registry()
    registry.describe_thing(thing)
    registry_release(registry, thing)
    _print_json({"released": thing})


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the IoT service commands to the firesight CLI."""
    app.add_typer(fleet_app, name="fleet")
    app.add_typer(shadow_app, name="shadow")
    app.add_typer(rules_app, name="rules")
    app.add_typer(defender_app, name="defender")
