"""Mosquitto as firesight's real broker: configuration, ACL and CRL compiled from the
registry and policies, and a launcher for tests, benchmarks and single-machine use.

The TLS listener requires a client certificate signed by the project CA
(``require_certificate true``), takes the certificate's CN (the thing name) as the
username (``use_identity_as_username true``) and forces the client id to it
(``use_username_as_clientid true``: Mosquitto cannot refuse a mismatching client id as AWS
IoT Core does, so it overrides it instead). Revoked and inactive certificates are in the
CRL (``crlfile``). Rights are enforced by the dynamic-security plugin
(:mod:`firesight.iot.mosquitto_dynsec`): one client and role per principal with an
ACTIVE certificate, compiled from its policies, default deny, so any other identity
(revoked, inactive, or a certificate signed by the project CA but never registered) may
neither publish, subscribe nor receive.

Registry changes reach a running Mosquitto at once: :meth:`MosquittoBroker.apply_registry`
rewrites the CRL, sends SIGHUP (Mosquitto 2.0 re-reads it for new connections) and then
brings the plugin's clients and roles in line with the registry over a firesight-only admin
connection; a principal that lost its access or whose rights changed (revoked,
deactivated, quarantined) is disconnected by the broker within milliseconds, and the CRL
(or, for a quarantined thing, its deny-all role) holds it off afterwards. A broker started
with a ``workdir`` leaves ``mosquitto.pid.json`` there, so that another process
(``firesight devices revoke``, Device Defender's quarantine) can do the same with
:func:`reload_managed_mosquitto`.

Sessions and queued QoS 1 messages persist (``persistence true`` under the workdir,
saved on shutdown and every ``autosave_interval`` seconds). The queue of a disconnected
persistent session holds at most :data:`MAX_QUEUED_MESSAGES` messages (Mosquitto's
default, written out) and a session unused for :data:`PERSISTENT_CLIENT_EXPIRATION` is
dropped, as on the embedded broker (``QueueLimits.offline_messages``,
``session_expiry_s``). Started as root, Mosquitto drops to the ``mosquitto`` (or
``nobody``) user, which owns the workdir.

References
----------
1. Mosquitto 2.0 ``mosquitto.conf(5)``: ``listener``, ``cafile``, ``certfile``, ``keyfile``,
   ``crlfile``, ``require_certificate``, ``use_identity_as_username``,
   ``use_username_as_clientid``, ``plugin``, ``plugin_opt_config_file``, ``set_tcp_nodelay``, ``max_packet_size``,
   ``message_size_limit`` (deprecated in 2.0 but still enforced: drops larger payloads),
   ``user``, ``persistence``, ``persistence_location``, ``autosave_interval``,
   ``max_queued_messages``, ``persistent_client_expiration``; ``mosquitto(8)``,
   "Signals": SIGHUP reloads the configuration (the listener's CRL among it).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from firesight._atomic import write_bytes_atomic
from firesight.errors import FiresightError, NotFoundError
from firesight.iot.codec import MAX_PAYLOAD_BYTES
from firesight.iot.mosquitto_dynsec import (
    DynsecAdmin,
    SyncReport,
    dynsec_config,
    ensure_admin_certificate,
    find_dynsec_plugin,
    principal_grants,
    sync_dynsec,
)
from firesight.iot.device_registry import DeviceRegistry

#: Room for the fixed header, topic and packet id on top of the 128 KB payload [bytes].
PACKET_OVERHEAD_BYTES = 1024
#: Seconds between saves of the persistence database (it is saved on shutdown too).
AUTOSAVE_INTERVAL_S = 30
PID_FILE = "mosquitto.pid.json"
#: Bound of one client's queue (QoS 1 messages beyond those in flight, also held for a
#: disconnected persistent session) [messages]: the embedded broker's ``QueueLimits.offline_messages``.
MAX_QUEUED_MESSAGES = 1000
#: A persistent session unused this long is dropped (AWS IoT Core's default: one hour).
PERSISTENT_CLIENT_EXPIRATION = "1h"


def _unprivileged_user() -> pwd.struct_passwd | None:
    """The account a root-started Mosquitto drops to (``mosquitto``, else ``nobody``)."""
    for name in ("mosquitto", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    return None


def find_mosquitto() -> str | None:
    """Path of the ``mosquitto`` binary (PATH or /usr/sbin), None if not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None


def mosquitto_acl(registry: DeviceRegistry) -> str:
    """The rights Mosquitto enforces, as ACL text: one ``user`` block per principal with
    an ACTIVE certificate, compiled from the policies attached to its ACTIVE certificates
    (principals without one get no block, hence nothing). The broker enforces the same
    lines as dynamic-security roles (:func:`firesight.iot.mosquitto_dynsec.dynsec_config`);
    this text is for reading and review."""
    lines = ["# generated by firesight from the device registry; do not edit", ""]
    for principal, grant in principal_grants(registry).items():
        lines += [f"user {principal}", *grant.lines, ""]
    return "\n".join(lines)


def mosquitto_conf(*, port: int, host: str, cafile: Path, certfile: Path, keyfile: Path, crlfile: Path,
                   plugin: str, dynsec_file: Path, persistence_dir: Path | None = None,
                   user: str | None = None) -> str:
    """mosquitto.conf text for one mTLS listener with the dynamic-security ``plugin``
    configured by ``dynsec_file`` (persistent under ``persistence_dir``; running as
    ``user`` when started as root)."""
    lines = [
        "# generated by firesight",
        "per_listener_settings false",
        "allow_anonymous false",
        *(["persistence true", f"persistence_location {persistence_dir}/",
           f"autosave_interval {AUTOSAVE_INTERVAL_S}"] if persistence_dir is not None else ["persistence false"]),
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"persistent_client_expiration {PERSISTENT_CLIENT_EXPIRATION}",
        "set_tcp_nodelay true",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        f"max_packet_size {MAX_PAYLOAD_BYTES + PACKET_OVERHEAD_BYTES}",
        f"message_size_limit {MAX_PAYLOAD_BYTES}",
        f"plugin {plugin}",
        f"plugin_opt_config_file {dynsec_file}",
        f"listener {port} {host}",
        "protocol mqtt",
        f"cafile {cafile}",
        f"certfile {certfile}",
        f"keyfile {keyfile}",
        f"crlfile {crlfile}",
        "require_certificate true",
        "use_identity_as_username true",
        "use_username_as_clientid true",
    ]
    if user is not None:
        lines.insert(1, f"user {user}")
    return "\n".join(lines) + "\n"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class MosquittoBroker:
    """A ``mosquitto`` process configured from the registry.

    Parameters
    ----------
    registry : DeviceRegistry
        With a CA (server certificate, CRL).
    host : str
        Listener address.
    port : int
        Listener port; 0 picks a free one.
    workdir : Path, optional
        Where config, ACL, persistence database, log and pid file go (a temporary folder,
        removed on :meth:`stop`, by default; a given one is kept, so sessions persist
        across restarts and other processes find the running broker).
    binary : str, optional
        The mosquitto executable (found on PATH or /usr/sbin by default).
    plugin : str, optional
        ``mosquitto_dynamic_security.so`` (found in the library folders by default).
    """

    def __init__(self, registry: DeviceRegistry, *, host: str = "127.0.0.1", port: int = 0,
                 workdir: Path | str | None = None, binary: str | None = None, plugin: str | None = None):
        if registry.ca is None:
            raise FiresightError("MosquittoBroker needs a registry with a CertificateAuthority")
        self.registry = registry
        self.host = host
        self.port = port
        self.binary = binary or find_mosquitto()
        self.plugin = plugin or find_dynsec_plugin()
        self._own_workdir = workdir is None
        self.workdir = Path(workdir).absolute() if workdir is not None else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._runtime: Path | None = None
        self.url: str | None = None

    @property
    def conf_path(self) -> Path:
        return self.runtime_dir / "mosquitto.conf"

    @property
    def dynsec_path(self) -> Path:
        """The dynamic-security plugin's configuration (written from the registry at
        start; the plugin saves its live changes there)."""
        return self.runtime_dir / "dynamic-security.json"

    @property
    def admin_dir(self) -> Path:
        """The admin identity's certificate and key (never readable by Mosquitto)."""
        assert self.workdir is not None
        return self.workdir / "admin"

    @property
    def runtime_dir(self) -> Path:
        """Where the dynamic-security configuration and the persistence database live: the workdir, or (started as
        root, when the unprivileged account cannot reach the workdir) a private folder
        of that account whose path the workdir records."""
        assert self.workdir is not None
        return self._runtime or self.workdir

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "mosquitto.log"

    @property
    def persistence_dir(self) -> Path:
        return self.runtime_dir / "data"

    @property
    def pid_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / PID_FILE

    @property
    def pid(self) -> int | None:
        """The mosquitto process id while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def write_files(self) -> Path:
        """Write mosquitto.conf, the dynamic-security configuration, the CRL and the admin
        identity; return the config path."""
        ca = self.registry.ca
        assert ca is not None
        if self.plugin is None:
            raise NotFoundError("the Mosquitto dynamic-security plugin (mosquitto_dynamic_security.so) is not "
                                "installed (it comes with the mosquitto package: apt-get install mosquitto)")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="firesight-mosquitto-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o700)
        account = _unprivileged_user() if hasattr(os, "geteuid") and os.geteuid() == 0 else None
        self._runtime = _runtime_dir(self.workdir, account) if account is not None else None
        self.persistence_dir.mkdir(exist_ok=True)
        ca.ensure_root()
        server = ca.issue_server_certificate((self.host, "localhost") if self.host != "localhost" else ("localhost",))
        self.registry.write_crl()
        tls = _copy_tls_files(self.runtime_dir, ca.ca_path, server.cert_path, server.key_path, ca.crl_path, account)
        ensure_admin_certificate(ca, self.admin_dir)
        write_bytes_atomic(self.dynsec_path, json.dumps(dynsec_config(self.registry), indent=1).encode(), mode=0o600)
        if self.port == 0:
            self.port = free_port(self.host)
        conf = mosquitto_conf(port=self.port, host=self.host, cafile=tls["ca.pem"], certfile=tls["server.pem"],
                              keyfile=tls["server.key"], crlfile=tls["crl.pem"], plugin=self.plugin,
                              dynsec_file=self.dynsec_path, persistence_dir=self.persistence_dir,
                              user=account.pw_name if account else None)
        write_bytes_atomic(self.conf_path, conf.encode(), mode=0o600)
        if account is not None:  # the dropped-privilege process saves dynsec changes and its database
            for path in (self.runtime_dir, self.persistence_dir, self.dynsec_path, self.conf_path,
                         *self.persistence_dir.iterdir()):
                os.chown(path, account.pw_uid, account.pw_gid)
        return self.conf_path

    def start(self, timeout_s: float = 10.0) -> str:
        """Launch mosquitto and wait until it accepts connections; return ``mqtts://host:port``.

        Raises
        ------
        NotFoundError
            mosquitto is not installed.
        FiresightError
            The port is taken, or mosquitto exited or did not listen in time.
        """
        if self.binary is None:
            raise NotFoundError("mosquitto is not installed (apt-get install mosquitto, or `make system-deps`)")
        if self._proc is not None:
            return self.url or ""
        if self.port:
            port_is_free(self.host, self.port)
        self.write_files()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        try:
            self._proc = subprocess.Popen([self.binary, "-c", str(self.conf_path)], stdout=log, stderr=log,
                                          stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                raise FiresightError(f"mosquitto exited with code {code}: {self.read_log()[-2000:]}")
            if self._listening():
                self.url = f"mqtts://{self.host}:{self.port}"
                record = {"pid": self._proc.pid, "host": self.host, "port": self.port,
                          "conf": str(self.conf_path), "runtime": str(self.runtime_dir),
                          "admin": str(self.admin_dir)}
                write_bytes_atomic(self.pid_path, json.dumps(record).encode(), mode=0o600)
                return self.url
            time.sleep(0.05)
        self.stop()
        raise FiresightError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout_s} s")

    def _listening(self) -> bool:
        """True once this mosquitto process has the listening socket (not another one)."""
        assert self._proc is not None
        try:
            inodes = {os.readlink(f"/proc/{self._proc.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{self._proc.pid}/fd")}
        except OSError:  # not Linux, or the process is gone: fall back to a connection
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                return True
            return False
        listening = _listening_inodes(self.port)
        return any(f"socket:[{i}]" in inodes for i in listening)

    def apply_registry(self) -> SyncReport | None:
        """Apply registry changes to the running broker at once: rewrite the CRL and
        SIGHUP (Mosquitto re-reads it for new connections), then bring the
        dynamic-security clients and roles in line with the registry; identities that lost
        access or whose rights changed are disconnected by the broker. Returns what
        changed (None when mosquitto does not run)."""
        if self.workdir is None:  # not started yet: start() writes everything
            return None
        if self._proc is None or self._proc.poll() is not None:
            _write_crl(self.registry, self.runtime_dir)
            return None
        return _apply(self.registry, self._proc.pid, self.runtime_dir, self.host, self.port, self.admin_dir)

    def reload(self) -> None:
        """Restart mosquitto on the same port with configuration, rights and CRL written
        afresh, disconnecting every client (persistent sessions survive)."""
        if self._proc is None:
            self.write_files()
            return
        self._terminate()
        self.start()

    def reload_acl(self) -> None:
        """Apply registry changes without a restart (:meth:`apply_registry`)."""
        self.apply_registry()

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, AssertionError):
            return ""

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self.workdir is not None:
            with contextlib.suppress(OSError):
                self.pid_path.unlink()

    def stop(self) -> None:
        """Stop mosquitto (it saves its persistence database) and remove the temporary
        workdir it created."""
        self._terminate()
        self.url = None
        if self._own_workdir and self.workdir is not None:
            if self._runtime is not None and self._runtime != self.workdir:
                shutil.rmtree(self._runtime, ignore_errors=True)
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> "MosquittoBroker":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def port_is_free(host: str, port: int) -> None:
    """Raise :class:`FiresightError` (one line) if ``host:port`` cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as mosquitto: TIME_WAIT is no owner
        try:
            s.bind((host, port))
            s.listen(1)
        except OSError as exc:
            raise FiresightError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on ``port`` (Linux /proc/net/tcp{,6}, state 0A)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    found.add(parts[9])
    return found


def _reachable_by(path: Path, account: pwd.struct_passwd) -> bool:
    """True when ``account`` may traverse every folder down to ``path`` (mode bits only)."""
    for folder in [path, *path.parents]:
        st = folder.stat()
        if st.st_uid == account.pw_uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == account.pw_gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def _runtime_dir(workdir: Path, account: pwd.struct_passwd) -> Path:
    """The folder the unprivileged mosquitto writes to: ``workdir`` itself when the
    account can reach its parent (the workdir then becomes the account's), else a private folder in the temporary
    directory created once per workdir and recorded in ``workdir/runtime_dir`` (reused
    only while it is a real folder owned by the account with mode 0700)."""
    if _reachable_by(workdir.parent, account):
        os.chown(workdir, account.pw_uid, account.pw_gid)
        return workdir
    pointer = workdir / "runtime_dir"
    with contextlib.suppress(OSError, ValueError):
        recorded = Path(pointer.read_text().strip())
        st = os.lstat(recorded)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == account.pw_uid and stat.S_IMODE(st.st_mode) == 0o700:
            return recorded
    runtime = Path(tempfile.mkdtemp(prefix="firesight-mosquitto-run-"))
    os.chown(runtime, account.pw_uid, account.pw_gid)
    write_bytes_atomic(pointer, str(runtime).encode(), mode=0o600)
    return runtime


def _copy_tls_files(runtime: Path, ca_pem: Path, cert: Path, key: Path, crl: Path,
                    account: pwd.struct_passwd | None) -> dict[str, Path]:
    """Copies of the CA certificate, server certificate and key and CRL that the
    (unprivileged) mosquitto reads, mode 0600 and owned by ``account``."""
    tls = runtime / "tls"
    tls.mkdir(mode=0o700, exist_ok=True)
    out = {}
    for name, src in (("ca.pem", ca_pem), ("server.pem", cert), ("server.key", key), ("crl.pem", crl)):
        out[name] = tls / name
        write_bytes_atomic(out[name], src.read_bytes(), mode=0o600)
    if account is not None:
        for path in (tls, *out.values()):
            os.chown(path, account.pw_uid, account.pw_gid)
    return out


def _write_crl(registry: DeviceRegistry, runtime: Path) -> None:
    """Rewrite the CRL and its copy in ``runtime`` (owned like the folder)."""
    registry.write_crl()
    assert registry.ca is not None
    st = runtime.stat()
    path = runtime / "tls" / "crl.pem"
    write_bytes_atomic(path, registry.ca.crl_path.read_bytes(), mode=0o600)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.chown(path, st.st_uid, st.st_gid)


def _apply(registry: DeviceRegistry, pid: int, runtime: Path, host: str, port: int, admin_dir: Path) -> SyncReport:
    """Apply registry changes to the running Mosquitto ``pid``: rewrite the CRL copy in
    ``runtime`` and SIGHUP, then sync the dynamic-security clients and roles of the broker
    at ``host:port`` over the admin connection (to the loopback address when it listens on
    all; the broker is verified with the project CA)."""
    _write_crl(registry, runtime)
    os.kill(pid, signal.SIGHUP)
    assert registry.ca is not None
    target = "localhost" if host in ("", "0.0.0.0", "::") else host
    with DynsecAdmin(f"mqtts://{target}:{port}", cert_path=admin_dir / "admin.pem", key_path=admin_dir / "admin.key",
                     ca_path=registry.ca.ca_path, lock_path=admin_dir / "admin.lock") as admin:
        return sync_dynsec(admin, registry)


def managed_mosquitto(workdir: Path | str) -> dict | None:
    """The pid file of the Mosquitto running with this ``workdir`` (``pid``, ``host``,
    ``port``, ``conf``, ``runtime``, ``admin``), or None when none runs there (no pid file, or one whose
    process is gone or is another program now)."""
    workdir = Path(workdir).absolute()
    try:
        info = json.loads((workdir / PID_FILE).read_text())
        pid = int(info["pid"])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if str(info.get("conf")).encode() not in cmdline:
        return None  # a stale pid file: that process id now belongs to another program
    return dict(info)


def reload_managed_mosquitto(registry: DeviceRegistry, workdir: Path | str) -> bool:
    """Apply registry changes to a Mosquitto started with this ``workdir`` by any process
    (see :func:`managed_mosquitto`), as :meth:`MosquittoBroker.apply_registry` does: CRL
    and SIGHUP, then the dynamic-security sync, which disconnects identities that lost
    access. Returns False when none runs there.

    Raises
    ------
    FiresightError
        The broker runs but the admin connection or a command failed.
    """
    info = managed_mosquitto(workdir)
    if info is None:
        return False
    workdir = Path(workdir).absolute()
    _apply(registry, int(info["pid"]), Path(info.get("runtime") or workdir), str(info["host"]), int(info["port"]),
           Path(info.get("admin") or workdir / "admin"))
    return True
