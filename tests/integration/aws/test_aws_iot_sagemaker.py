"""AWS IoT (registry, certificates, policies, topic rules from firesight's own
definitions), IoT Data (shadows), SageMaker endpoint invocation."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import pytest

from firesight.adapters.aws.iot import IoTControlPlane
from firesight.adapters.aws.iot_data import IoTData
from firesight.adapters.aws.sagemaker import SageMakerEndpoint
from firesight.errors import ConflictError, InvalidParameterError, NotFoundError
from support.moto import unique_name


def _certificate_pem(common_name: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_fleet_provisioning_from_firesight_definitions(moto_settings):
    from firesight.iot.policy import BUILTIN_POLICIES, DEFAULT_DEVICE_POLICY_NAME, Policy
    from firesight.iot.device_registry import DEFAULT_THING_TYPE, DEFAULT_THING_TYPES

    iot = IoTControlPlane(settings=moto_settings)
    spec = DEFAULT_THING_TYPES[DEFAULT_THING_TYPE]
    iot.ensure_thing_type(DEFAULT_THING_TYPE, description=spec["description"],
                          searchable_attributes=spec["searchable_attributes"])
    iot.ensure_thing_type(DEFAULT_THING_TYPE)                           # idempotent
    thing = unique_name("kitchen")
    iot.ensure_thing(thing, thing_type=DEFAULT_THING_TYPE, attributes={"site": "hq", "room": "kitchen"})
    iot.ensure_thing(thing, thing_type=DEFAULT_THING_TYPE, attributes={"mounting_height_m": 2.6})
    described = iot.describe_thing(thing)
    assert described["thing_type"] == DEFAULT_THING_TYPE
    assert described["attributes"] == {"site": "hq", "room": "kitchen", "mounting_height_m": "2.6"}

    policy = Policy(DEFAULT_DEVICE_POLICY_NAME, BUILTIN_POLICIES[DEFAULT_DEVICE_POLICY_NAME])
    policy_arn = iot.ensure_policy(policy)
    assert iot.ensure_policy(policy) == policy_arn                      # unchanged: no new version
    doc = iot.policy_document(DEFAULT_DEVICE_POLICY_NAME)
    resources = [r for st in doc["Statement"] for r in st["Resource"]]
    assert resources and all(r.startswith("arn:aws:iot:eu-west-1:") for r in resources)
    assert any("${iot:Connection.Thing.ThingName}" in r for r in resources)

    cert = iot.register_certificate(_certificate_pem(thing))
    iot.attach(thing_name=thing, certificate_arn=cert["certificate_arn"], policy_names=[DEFAULT_DEVICE_POLICY_NAME])
    assert iot.thing_principals(thing) == [cert["certificate_arn"]]
    assert iot.certificate_status(cert["certificate_id"]) == "ACTIVE"
    iot.set_certificate_status(cert["certificate_id"], "REVOKED")
    assert iot.certificate_status(cert["certificate_id"]) == "REVOKED"
    with pytest.raises(InvalidParameterError):
        iot.set_certificate_status(cert["certificate_id"], "DELETED")
    with pytest.raises(NotFoundError):
        iot.describe_thing("no-such-thing")


def test_topic_rules_come_from_the_rules_engine(moto_settings):
    from firesight.iot.rules import TopicRule

    rule = TopicRule(name=unique_name("archive").replace("-", "_"),
                     sql="SELECT *, topic(4) AS thing FROM 'firesight/v1/+/+/scd41' WHERE co2_ppm > 2000",
                     actions=({"queue": {"queue": "readings"}},
                              {"object_store": {"key": "raw/${topic(4)}/${timestamp()}.json"}}))
    iot = IoTControlPlane(settings=moto_settings)
    role = "arn:aws:iam::123456789012:role/firesight-iot-rules"
    queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/readings"
    iot.ensure_topic_rule(rule, role_arn=role, bucket="fire-detection-dev-123456789012",
                          queue_urls={"readings": queue_url})
    stored = iot.topic_rule(rule.name)
    assert stored["sql"] == rule.sql and stored["ruleDisabled"] is False
    kinds = {next(iter(a)) for a in stored["actions"]}
    assert kinds == {"sqs", "s3"}
    sqs_action = next(a["sqs"] for a in stored["actions"] if "sqs" in a)
    assert sqs_action["queueUrl"] == queue_url and sqs_action["roleArn"] == role
    iot.ensure_topic_rule(rule, role_arn=role, bucket="other-bucket", queue_urls={"readings": queue_url})
    s3_action = next(a["s3"] for a in iot.topic_rule(rule.name)["actions"] if "s3" in a)
    assert s3_action["bucketName"] == "other-bucket"                    # replaced in place


def test_shadow_updates_are_versioned(moto_settings):
    iot = IoTControlPlane(settings=moto_settings)
    thing = unique_name("hall")
    iot.ensure_thing(thing)
    data = IoTData(settings=moto_settings)
    with pytest.raises(NotFoundError):
        data.get_shadow(thing)
    first = data.update_shadow(thing, desired={"interval_s": 5})
    data.update_shadow(thing, reported={"interval_s": 5, "mode": "normal"})
    shadow = data.get_shadow(thing)
    assert shadow["state"]["desired"] == {"interval_s": 5}
    assert shadow["state"]["reported"] == {"interval_s": 5, "mode": "normal"}
    assert shadow["version"] == first["version"] + 1
    with pytest.raises(ConflictError):                 # a writer that read an older version
        data.update_shadow(thing, desired={"interval_s": 3600}, expected_version=first["version"])
    assert data.get_shadow(thing)["state"]["desired"] == {"interval_s": 5}
    data.publish(f"firesight/v1/hq/{thing}/status", {"online": True})
    # the moto server runs in this process: look at what its IoT Data backend received
    from moto.iotdata.models import iotdata_backends

    published = iotdata_backends["123456789012"][moto_settings.region].published_payloads
    assert (f"firesight/v1/hq/{thing}/status", b'{"online": true}') in published
    with pytest.raises(InvalidParameterError, match="payload"):
        data.publish("firesight/v1/hq/x/thermal", b"x" * (128 * 1024 + 1))


def test_endpoint_invocation_sends_the_serving_contract(moto_settings, moto_endpoint):
    """moto answers ``InvokeEndpoint`` from a queue of canned results (it runs no model):
    this checks the request is accepted and the answer decoded, not the model."""
    canned = {"account_id": "123456789012", "region": moto_settings.region, "results": [
        {"Body": json.dumps({"predictions": [{"probability": 0.91, "level": "alarm"}]}),
         "ContentType": "application/json"},
        {"Body": "not json", "ContentType": "text/plain"}]}
    req = urllib.request.Request(f"{moto_endpoint}/moto-api/static/sagemaker/endpoint-results",
                                 method="POST", data=json.dumps(canned).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    endpoint = SageMakerEndpoint(unique_name("detector"), settings=moto_settings)
    answer = endpoint.invoke([{"thermal_max_c": 80.0, "co2_ppm": 1200.0}])
    assert answer["predictions"][0]["level"] == "alarm"
    from firesight.errors import DataError

    with pytest.raises(DataError, match="not JSON"):
        endpoint.invoke([[80.0, 1200.0]], content_type="text/csv")
