"""Running the dashboard: in the foreground (``firesight dashboard``) or beside the agents
(``firesight run`` starts a :class:`DashboardServer` and pushes into its feed).

Use from the running system::

    from firesight.web.server import DashboardServer
    dash = DashboardServer.from_config(port=8090).start()
    dash.feed.push_scd41(site, thing, ts_ms=..., co2_ppm=..., temperature_c=..., humidity_rh=...)
    dash.feed.push_alert(alert_event)
    ...
    dash.stop()
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from firesight.web.feed import DashboardFeed


@dataclass(frozen=True)
class DashboardConfig:
    """Where and how the dashboard listens.

    Parameters
    ----------
    host : str
        Interface (default loopback only).
    port : int
        TCP port (0: any free port).
    ssl_certfile, ssl_keyfile : str, optional
        Serve HTTPS with this PEM certificate and key.
    """

    host: str = "127.0.0.1"
    port: int = 8090
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None


def model_info(config=None) -> dict:
    """The model the services run: the newest approved registry version, else the shipped
    default (read from the registry and the bundle's JSON, without loading the model)."""
    from firesight.config import load_config
    from firesight.detection.shipped_model import default_model_path

    cfg = (config or load_config()).resolved()
    uri = cfg.registry_uri
    if uri.startswith("sqlite:///") and Path(uri[len("sqlite:///"):]).exists():
        from firesight.model_registry import registry_for

        entry = registry_for(cfg).approved_version()
        if entry is not None:
            return {"source": "registry", "version": str(entry["version"]), "status": entry.get("status")}
    info = json.loads((default_model_path() / "bundle.json").read_text()).get("info", {})
    return {"source": "default (shipped)", "version": None, "code_version": info.get("code_version")}


class DashboardServer:
    """The dashboard app under uvicorn in a background thread."""

    def __init__(self, app, feed: DashboardFeed, config: DashboardConfig):
        self.app, self.feed, self.config = app, feed, config
        self._server = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, config: DashboardConfig = DashboardConfig(), *, feed: DashboardFeed | None = None,
                    app_config=None) -> "DashboardServer":
        """Build the app on the configured stores (tokens, alerts, audit trail)."""
        from firesight.agents.alert_store import AlertStore
        from firesight.bootstrap import metadata_store
        from firesight.ops.audit import default_trail
        from firesight.ops.tokens import TokenStore
        from firesight.web.app import create_dashboard_app

        feed = feed or DashboardFeed()
        store = metadata_store(app_config)
        feed.set_model(model_info(app_config))
        app = create_dashboard_app(feed, tokens=TokenStore(store), alerts=AlertStore(store),
                                   audit=default_trail(app_config),
                                   secure_cookie=config.ssl_certfile is not None)
        return cls(app, feed, config)

    def _uvicorn(self):
        import uvicorn

        c = self.config
        return uvicorn.Server(uvicorn.Config(self.app, host=c.host, port=c.port, ssl_certfile=c.ssl_certfile,
                                             ssl_keyfile=c.ssl_keyfile, log_level="warning",
                                             access_log=False, timeout_graceful_shutdown=2))

    def start(self, timeout_s: float = 20.0) -> "DashboardServer":
        self._server = self._uvicorn()
        self._thread = threading.Thread(target=self._server.run, name="dashboard", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not start on {self.config.host}:{self.config.port}")
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        port = self._server.servers[0].sockets[0].getsockname()[1]
        scheme = "https" if self.config.ssl_certfile else "http"
        return f"{scheme}://{self.config.host}:{port}"

    def run(self) -> None:
        """Serve in this thread until interrupted."""
        self._uvicorn().run()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop accepting, let open requests finish (2 s), then close."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
