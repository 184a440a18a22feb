"""A real uvicorn server on 127.0.0.1 and an OS-chosen port, run in a thread for a test."""

from __future__ import annotations

import contextlib
import threading
import time

import uvicorn


@contextlib.contextmanager
def running_server(app, *, ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
                   timeout_s: float = 20.0):
    """Serve ``app`` on 127.0.0.1:0; yield its base URL; stop it (staged) on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False,
                            ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, lifespan="on",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    scheme = "https" if ssl_certfile else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
