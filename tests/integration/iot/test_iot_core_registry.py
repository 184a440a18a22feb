"""Device registry on real SQLite, the project CA with real X.509, and the CLI."""

from __future__ import annotations

import json
import ssl

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.errors import ConflictError, InvalidParameterError, NotFoundError
from firesight.iot.ca import CertificateAuthority, certificate_id
from firesight.iot.mosquitto import mosquitto_acl
from firesight.iot.policy import QUARANTINE_POLICY_NAME
from firesight.iot.device_registry import DeviceRegistry


@pytest.fixture
def registry(tmp_path):
    return DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "metadata.db")), CertificateAuthority(tmp_path / "pki"))


def test_register_device_creates_thing_certificate_and_policy(registry):
    creds = registry.register_device("node-1", site="hq", attributes={"room": "kitchen", "mounting_height_m": 2.4})
    thing = registry.describe_thing("node-1")
    assert thing["thing_type"] == "lepton35-scd41-node"
    assert thing["attributes"] == {"site": "hq", "room": "kitchen", "mounting_height_m": "2.4"}
    assert registry.describe_thing_type("lepton35-scd41-node")["searchable_attributes"] == [
        "site", "room", "mounting_height_m"]
    cert = x509.load_pem_x509_certificate(open(creds.cert_path, "rb").read())
    ca = x509.load_pem_x509_certificate(open(creds.ca_path, "rb").read())
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "node-1"
    assert ExtendedKeyUsageOID.CLIENT_AUTH in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert certificate_id(cert) == creds.certificate_id and len(creds.certificate_id) == 64
    record = registry.describe_certificate(creds.certificate_id)
    assert record["status"] == "ACTIVE" and record["policies"] == ["firesight-device"]
    ident = registry.resolve_identity(creds.certificate_id)
    assert ident.principal == "node-1" and ident.attributes["site"] == "hq"
    # the key matches the certificate: OpenSSL accepts the pair
    ssl.create_default_context().load_cert_chain(creds.cert_path, creds.key_path)


def test_certificate_state_machine_and_crl(registry):
    a = registry.register_device("node-a", site="hq")
    b = registry.register_device("node-b", site="hq")
    registry.set_certificate_status(a.certificate_id, "INACTIVE")
    registry.set_certificate_status(b.certificate_id, "REVOKED")
    crl = x509.load_pem_x509_crl(registry.ca.crl_path.read_bytes())
    crl_ca = x509.load_pem_x509_certificate(registry.ca.ca_path.read_bytes())
    assert crl.is_signature_valid(crl_ca.public_key())
    reasons = {r.serial_number: r.extensions.get_extension_for_class(x509.CRLReason).value.reason for r in crl}
    serial = lambda c: x509.load_pem_x509_certificate(open(c.cert_path, "rb").read()).serial_number  # noqa: E731
    assert reasons == {serial(a): x509.ReasonFlags.certificate_hold,
                       serial(b): x509.ReasonFlags.cessation_of_operation}
    registry.set_certificate_status(a.certificate_id, "ACTIVE")        # INACTIVE is reversible
    assert [r.serial_number for r in x509.load_pem_x509_crl(registry.ca.crl_path.read_bytes())] == [serial(b)]
    with pytest.raises(ConflictError, match="REVOKED"):
        registry.set_certificate_status(b.certificate_id, "ACTIVE")    # REVOKED is final
    with pytest.raises(InvalidParameterError, match="status"):
        registry.set_certificate_status(a.certificate_id, "PENDING")


def test_registry_errors_are_clear(registry):
    with pytest.raises(NotFoundError, match="nope"):
        registry.describe_thing("nope")
    with pytest.raises(InvalidParameterError, match="thing_name"):
        registry.create_thing("bad name/with slash")
    registry.register_device("node-1", site="hq")
    with pytest.raises(ConflictError, match="site"):
        registry.register_device("node-1", site="other")
    with pytest.raises(ConflictError, match="certificates"):
        registry.delete_thing("node-1")
    with pytest.raises(NotFoundError, match="thing type"):
        registry.create_thing("node-2", thing_type="toaster")


def test_ca_persists_and_rejects_foreign_certificates(tmp_path, registry):
    creds = registry.register_device("node-1", site="hq")
    again = CertificateAuthority(tmp_path / "pki")                  # a new process, same files
    assert again.ensure_root().subject == registry.ca.ensure_root().subject
    cert = again.load_certificate(creds.cert_path)
    assert again.verify(cert)
    rogue = CertificateAuthority(tmp_path / "rogue").issue_thing_certificate("node-1")
    assert not again.verify(again.load_certificate(rogue.cert_path))
    assert (tmp_path / "pki" / "ca.key").stat().st_mode & 0o077 == 0
    server = again.issue_server_certificate(("localhost", "127.0.0.1"))
    san = x509.load_pem_x509_certificate(server.cert_pem).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_quarantine_policy_changes_the_compiled_acl(registry):
    creds = registry.register_device("node-1", site="hq")
    assert "topic write firesight/v1/hq/node-1/thermal" in mosquitto_acl(registry)
    registry.attach_policy(QUARANTINE_POLICY_NAME, creds.certificate_id)
    acl = mosquitto_acl(registry).split("user node-1\n", 1)[1]
    assert acl.startswith("topic deny #\ntopic deny $aws/#\n")
    assert "topic write" not in acl and "topic read" not in acl
    registry.set_certificate_status(creds.certificate_id, "INACTIVE")
    assert "user node-1" not in mosquitto_acl(registry)


def test_cli_register_describe_revoke(tmp_path, monkeypatch):
    from firesight.cli import app

    monkeypatch.setenv("FIRESIGHT_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    out = runner.invoke(app, ["devices", "register", "node-9", "--site", "hq", "--room", "lab",
                              "--mounting-height-m", "2.5"])
    assert out.exit_code == 0, out.output
    creds = json.loads(out.output)
    assert creds["thing_name"] == "node-9" and creds["cert_path"].startswith(str(tmp_path / "home" / "pki"))
    out = runner.invoke(app, ["devices", "revoke", "node-9"])
    assert out.exit_code == 0, out.output
    desc = json.loads(runner.invoke(app, ["devices", "describe", "node-9"]).output)
    assert desc["attributes"]["mounting_height_m"] == "2.5"
    assert [c["status"] for c in desc["certificates"]] == ["REVOKED"]
    listed = json.loads(runner.invoke(app, ["devices", "list"]).output)
    assert [t["thing_name"] for t in listed] == ["node-9"]
    policy = json.loads(runner.invoke(app, ["devices", "policy", "--format", "aws", "--account-id",
                                            "111122223333"]).output)
    assert policy["Statement"][0]["Resource"] == [
        "arn:aws:iot:eu-west-1:111122223333:client/${iot:Connection.Thing.ThingName}"]
