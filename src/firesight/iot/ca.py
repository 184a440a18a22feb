"""The project certificate authority: root CA, device and server certificates, CRL.

Keys are ECDSA P-256 (supported by AWS IoT Core, Mosquitto and OpenSSL's TLS 1.2/1.3),
certificates are X.509 v3 signed with SHA-256. A device certificate's subject CN is the
thing name; its certificate id is the SHA-256 fingerprint of the DER encoding in hex,
as AWS IoT Core names certificates. Files live under ``{FIRESIGHT_HOME}/pki``::

    pki/ca.pem  ca.key            root CA (key 0600, encrypted: PKCS#8, AES-256)
    pki/server.pem server.key     broker certificate (SAN localhost, 127.0.0.1)
    pki/things/{thing}.pem .key   the thing's latest client certificate and key
    pki/services/{name}.pem .key  firesight service identities
    pki/crl.pem                   revocation list (REVOKED and INACTIVE certificates)

The CA key is encrypted at rest with a passphrase given to the constructor (``firesight``
takes ``FIRESIGHT_CA_PASSPHRASE``) or, without one, a random passphrase kept in
``{pki}/../ca-key.passphrase`` (0600) - outside ``pki/``, so a copy of the PKI folder (to
provision devices, in a backup) does not carry a usable CA key. An older plain key is
encrypted the first time it is loaded. Whoever can read both files, or the passphrase and
the key, can sign certificates the brokers trust: on Mosquitto such a certificate with a
registered thing's name gets that thing's rights (the embedded broker checks the
certificate's fingerprint against the registry and refuses it).

INACTIVE certificates go into the CRL with reason ``certificateHold`` (reversible, as
X.509 defines it), REVOKED ones with ``cessationOfOperation`` (final).

References
----------
1. RFC 5280, "Internet X.509 Public Key Infrastructure Certificate and CRL Profile",
   sections 4.2 (extensions) and 5.3.1 (reason codes).
2. AWS IoT Core developer guide, "X.509 client certificates" (certificate id = SHA-256 of DER).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from firesight._atomic import write_bytes_atomic
from firesight.errors import InvalidParameterError, NotFoundError
from firesight.iot.topics import validate_name

#: Validity periods [days].
CA_VALIDITY_DAYS = 3650
CERT_VALIDITY_DAYS = 825
CRL_VALIDITY_DAYS = 30

_REASONS = {"INACTIVE": x509.ReasonFlags.certificate_hold, "REVOKED": x509.ReasonFlags.cessation_of_operation}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def certificate_id(cert: x509.Certificate | bytes) -> str:
    """AWS-style certificate id: SHA-256 of the DER encoding, lower-case hex.

    Parameters
    ----------
    cert : Certificate or bytes
        A certificate object, PEM bytes or DER bytes.
    """
    if isinstance(cert, bytes):
        cert = x509.load_pem_x509_certificate(cert) if cert.lstrip().startswith(b"-----") \
            else x509.load_der_x509_certificate(cert)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def common_name(cert: x509.Certificate) -> str | None:
    """The subject CN of ``cert`` (None if absent)."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate and its key as written to disk."""

    certificate_id: str
    common_name: str
    serial_number: int
    cert_pem: bytes
    cert_path: Path
    key_path: Path
    not_after: dt.datetime


class CertificateAuthority:
    """A file-backed root CA that issues client and server certificates; thread-safe.

    Parameters
    ----------
    pki_dir : Path
        Folder of the CA files (created on first use with mode 0700).
    organization : str
        Subject O of every certificate.
    passphrase : bytes, optional
        Key-encryption passphrase of the CA key (default: the random one in
        :attr:`passphrase_path`, created with the CA).
    """

    def __init__(self, pki_dir: Path | str, *, organization: str = "firesight", passphrase: bytes | None = None):
        self.pki_dir = Path(pki_dir)
        self.organization = organization
        self._passphrase = passphrase
        self._lock = threading.RLock()
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._cert: x509.Certificate | None = None

    # ------------------------------------------------------------------ paths
    @property
    def ca_path(self) -> Path:
        return self.pki_dir / "ca.pem"

    @property
    def passphrase_path(self) -> Path:
        """Where the generated CA-key passphrase lives (beside ``pki/``, not in it)."""
        return self.pki_dir.parent / "ca-key.passphrase"

    def _key_passphrase(self, *, create: bool) -> bytes:
        if self._passphrase:
            return self._passphrase
        path = self.passphrase_path
        if path.exists():
            return path.read_bytes().strip()
        if not create:
            raise NotFoundError(f"the CA key is encrypted and its passphrase file {path} is missing "
                                "(set FIRESIGHT_CA_PASSPHRASE or restore the file)")
        secret = secrets.token_urlsafe(32).encode()
        write_bytes_atomic(path, secret, mode=0o600)
        return secret

    @property
    def crl_path(self) -> Path:
        return self.pki_dir / "crl.pem"

    @property
    def server_cert_path(self) -> Path:
        return self.pki_dir / "server.pem"

    @property
    def server_key_path(self) -> Path:
        return self.pki_dir / "server.key"

    def thing_paths(self, thing_name: str) -> tuple[Path, Path]:
        """(certificate, key) paths of a thing's latest credentials."""
        validate_name(thing_name)
        return self.pki_dir / "things" / f"{thing_name}.pem", self.pki_dir / "things" / f"{thing_name}.key"

    def service_paths(self, service_name: str) -> tuple[Path, Path]:
        validate_name(service_name, "service_name")
        return self.pki_dir / "services" / f"{service_name}.pem", self.pki_dir / "services" / f"{service_name}.key"

    # ------------------------------------------------------------------ root
    def ensure_root(self) -> x509.Certificate:
        """Load the root CA, creating it (key + self-signed certificate) if absent."""
        with self._lock:
            if self._cert is not None:
                return self._cert
            key_path = self.pki_dir / "ca.key"
            if self.ca_path.exists() and key_path.exists():
                pem = key_path.read_bytes()
                if b"ENCRYPTED" in pem:
                    try:
                        key = serialization.load_pem_private_key(pem, password=self._key_passphrase(create=False))
                    except ValueError as exc:
                        raise InvalidParameterError("CA key passphrase", f"the passphrase of {key_path}",
                                                    "a wrong one") from exc
                else:  # written by an older firesight: encrypt it now
                    key = serialization.load_pem_private_key(pem, password=None)
                    write_bytes_atomic(key_path, _key_pem(key, self._key_passphrase(create=True)), mode=0o600)
                os.chmod(key_path, 0o600)
                self._key = key  # type: ignore[assignment]
                self._cert = x509.load_pem_x509_certificate(self.ca_path.read_bytes())
                return self._cert
            self.pki_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.pki_dir, 0o700)
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization),
                              x509.NameAttribute(NameOID.COMMON_NAME, f"{self.organization} root CA")])
            now = _now()
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                    .public_key(key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - dt.timedelta(minutes=5))
                    .not_valid_after(now + dt.timedelta(days=CA_VALIDITY_DAYS))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                    .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                                 key_encipherment=False, data_encipherment=False,
                                                 key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                 encipher_only=False, decipher_only=False), critical=True)
                    .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                    .sign(key, hashes.SHA256()))
            write_bytes_atomic(key_path, _key_pem(key, self._key_passphrase(create=True)), mode=0o600)
            write_bytes_atomic(self.ca_path, cert.public_bytes(serialization.Encoding.PEM))
            self._key, self._cert = key, cert
            return cert

    # ------------------------------------------------------------------ issue
    def _issue(self, cn: str, *, server_hosts: Iterable[str] = (), cert_path: Path, key_path: Path,
               validity_days: int = CERT_VALIDITY_DAYS) -> IssuedCertificate:
        ca_cert = self.ensure_root()
        assert self._key is not None
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        hosts = list(server_hosts)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization),
                                            x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                   .issuer_name(ca_cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=validity_days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False,
                                                key_agreement=True, key_cert_sign=False, crl_sign=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(
                       [ExtendedKeyUsageOID.SERVER_AUTH] if hosts else [ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                                  critical=False))
        if hosts:
            sans: list[x509.GeneralName] = []
            for h in hosts:
                try:
                    sans.append(x509.IPAddress(ipaddress.ip_address(h)))
                except ValueError:
                    sans.append(x509.DNSName(h))
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        with self._lock:
            cert = builder.sign(self._key, hashes.SHA256())
        pem = cert.public_bytes(serialization.Encoding.PEM)
        write_bytes_atomic(key_path, _key_pem(key), mode=0o600)
        write_bytes_atomic(cert_path, pem)
        return IssuedCertificate(certificate_id=certificate_id(cert), common_name=cn,
                                 serial_number=cert.serial_number, cert_pem=pem, cert_path=cert_path,
                                 key_path=key_path, not_after=cert.not_valid_after_utc)

    def issue_thing_certificate(self, thing_name: str) -> IssuedCertificate:
        """A new key and client certificate with CN = ``thing_name``."""
        cert_path, key_path = self.thing_paths(thing_name)
        return self._issue(thing_name, cert_path=cert_path, key_path=key_path)

    def issue_service_certificate(self, service_name: str) -> IssuedCertificate:
        """A client certificate for a firesight service (gateway, shadow service, ...)."""
        cert_path, key_path = self.service_paths(service_name)
        return self._issue(service_name, cert_path=cert_path, key_path=key_path)

    def issue_server_certificate(self, hosts: Iterable[str] = ("localhost", "127.0.0.1")) -> IssuedCertificate:
        """The broker's certificate with the given SANs (reused while still valid for them)."""
        hosts = list(hosts)
        with self._lock:
            if self.server_cert_path.exists() and self.server_key_path.exists():
                cert = x509.load_pem_x509_certificate(self.server_cert_path.read_bytes())
                if (cert.issuer == self.ensure_root().subject and _sans(cert) == set(hosts)
                        and cert.not_valid_after_utc > _now() + dt.timedelta(days=1)):
                    return IssuedCertificate(certificate_id(cert), "broker", cert.serial_number,
                                             self.server_cert_path.read_bytes(), self.server_cert_path,
                                             self.server_key_path, cert.not_valid_after_utc)
            return self._issue(hosts[0] if hosts else "broker", server_hosts=hosts or ["localhost"],
                               cert_path=self.server_cert_path, key_path=self.server_key_path)

    # ------------------------------------------------------------------ verify / CRL
    def verify(self, cert: x509.Certificate) -> bool:
        """True when ``cert`` was signed by this CA and is within its validity period."""
        root = self.ensure_root()
        try:
            cert.verify_directly_issued_by(root)
        except (ValueError, TypeError, Exception):  # InvalidSignature is not a ValueError
            return False
        now = _now()
        return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc

    def write_crl(self, entries: Iterable[tuple[int, str]]) -> Path:
        """Write ``pki/crl.pem`` listing ``(serial_number, status)`` pairs with status
        INACTIVE (certificateHold) or REVOKED (cessationOfOperation)."""
        root = self.ensure_root()
        assert self._key is not None
        now = _now()
        builder = (x509.CertificateRevocationListBuilder().issuer_name(root.subject)
                   .last_update(now - dt.timedelta(minutes=5))
                   .next_update(now + dt.timedelta(days=CRL_VALIDITY_DAYS)))
        for serial, status in entries:
            if status not in _REASONS:
                raise InvalidParameterError("status", f"one of {sorted(_REASONS)}", status)
            revoked = (x509.RevokedCertificateBuilder().serial_number(int(serial)).revocation_date(now)
                       .add_extension(x509.CRLReason(_REASONS[status]), critical=False).build())
            builder = builder.add_revoked_certificate(revoked)
        with self._lock:
            crl = builder.sign(self._key, hashes.SHA256())
        write_bytes_atomic(self.crl_path, crl.public_bytes(serialization.Encoding.PEM))
        return self.crl_path

    def load_certificate(self, path: Path | str) -> x509.Certificate:
        p = Path(path)
        if not p.exists():
            raise NotFoundError(f"certificate file {p} does not exist")
        return x509.load_pem_x509_certificate(p.read_bytes())


def _sans(cert: x509.Certificate) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(v) for v in ext.get_values_for_type(x509.DNSName)} | \
        {str(v) for v in ext.get_values_for_type(x509.IPAddress)}


def _key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with ``passphrase`` when one is given."""
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
