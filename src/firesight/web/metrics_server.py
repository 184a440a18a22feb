"""``GET /metrics`` of ``firesight run`` without the dashboard: the Prometheus text exposition
of :mod:`firesight.ops.metrics` behind a viewer API token (as every firesight HTTP surface;
Prometheus sends it with ``authorization: {type: Bearer, credentials: ...}`` in its scrape
configuration), and an open ``GET /ping``. Loopback by default.

Use::

    from firesight.web.metrics_server import MetricsServer
    server = MetricsServer.from_config(DashboardConfig(port=9464), app_config=config).start()
    server.url          # http://127.0.0.1:9464
    server.stop()
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.responses import Response

from firesight.ops import metrics
from firesight.ops.httpauth import requires
from firesight.ops.tokens import TokenStore
from firesight.web.server import DashboardConfig, DashboardServer


def create_metrics_app(tokens: TokenStore | None) -> FastAPI:
    """``/ping`` (anonymous) and ``/metrics`` (viewer token)."""
    app = FastAPI(title="firesight metrics", docs_url=None, redoc_url=None, openapi_url=None)
    viewer = requires(tokens, "viewer")

    @app.get("/ping")
    def ping() -> dict:
        return {"status": "ok"}

    @app.get("/metrics")
    def prometheus(_=Depends(viewer)) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    return app


class MetricsServer(DashboardServer):
    """The metrics app under uvicorn in a background thread (``start``, ``url``, ``stop``)."""

    def __init__(self, app, config: DashboardConfig):
        super().__init__(app, None, config)

    @classmethod
    def from_config(cls, config: DashboardConfig = DashboardConfig(port=9464), *, feed=None,
                    app_config=None) -> "MetricsServer":
        """The app on the configured token store (``feed`` is ignored)."""
        from firesight.bootstrap import metadata_store

        return cls(create_metrics_app(TokenStore(metadata_store(app_config))), config)
