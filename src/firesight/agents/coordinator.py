"""Coordinator: starts the agents, watches them, restarts the ones that die, reports their
health and stops them in stages.

Each agent is described by an :class:`AgentSpec` whose ``factory`` builds a fresh instance
(with its own broker connection). The supervisor checks every agent twice a second; an
agent whose ``alive()`` turns False is stopped, rebuilt and started again after an
exponential backoff (``restart_min_s`` doubling to ``restart_max_s``, reset after a minute
of good health). ``stop()`` goes through the agents in ``stop_order`` (ingest first, the
response agent last), each given ``drain_timeout_s`` to finish the work it holds, so a
staged shutdown loses nothing that was queued: windows in flight are decided, alert events
already on the durable queue stay there for the next start.

:class:`ModelWatcher` is a small agent that follows the registry: when a newer version is
approved it loads it and hands it to the analysis agent (:meth:`AnalysisAgent.switch_model`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class AgentSpec:
    """How to run one agent.

    Parameters
    ----------
    name : str
        Health key.
    factory : callable
        ``factory()`` -> a new agent with ``start()``, ``stop(timeout_s)`` and
        ``alive()``/``health()`` (optional).
    stop_order : int
        Lower stops first.
    close : callable, optional
        ``close(agent)`` after it stopped (its connections).
    """

    name: str
    factory: Callable[[], Any]
    stop_order: int = 0
    close: Callable[[Any], None] | None = None


class _Slot:
    def __init__(self, spec: AgentSpec):
        self.spec = spec
        self.agent: Any = None
        self.restarts = 0
        self.last_error = ""
        self.started_mono = 0.0
        self.next_try_mono = 0.0
        self.backoff_s = 0.0


class Coordinator:
    """Supervises a set of agents.

    Parameters
    ----------
    specs : list of AgentSpec
        Started in list order.
    restart_min_s, restart_max_s : float
        Restart backoff [s].
    drain_timeout_s : float
        Time each agent gets to finish its work at stop [s].
    """

    def __init__(self, specs: list[AgentSpec], *, restart_min_s: float = 0.5, restart_max_s: float = 30.0,
                 drain_timeout_s: float = 10.0):
        self.slots = [_Slot(s) for s in specs]
        self.restart_min_s, self.restart_max_s = restart_min_s, restart_max_s
        self.drain_timeout_s = drain_timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.started_at: float | None = None
        self.stopped = False

    def start(self) -> "Coordinator":
        self.started_at = time.time()
        for slot in self.slots:
            self._launch(slot)
        self._thread = threading.Thread(target=self._supervise, name="coordinator", daemon=True)
        self._thread.start()
        return self

    def agent(self, name: str) -> Any:
        """The running instance of agent ``name`` (None while it restarts)."""
        for slot in self.slots:
            if slot.spec.name == name:
                return slot.agent
        raise KeyError(name)

    def _launch(self, slot: _Slot) -> None:
        try:
            agent = slot.spec.factory()
            agent.start()
        except Exception as exc:  # a failed start is retried like a crash
            slot.agent = None
            slot.last_error = f"start: {type(exc).__name__}: {exc}"
            log.warning("agent %s failed to start: %s", slot.spec.name, exc)
            self._schedule_restart(slot)
            return
        slot.agent = agent
        slot.started_mono = time.monotonic()

    def _schedule_restart(self, slot: _Slot) -> None:
        slot.backoff_s = min(self.restart_max_s, max(self.restart_min_s, slot.backoff_s * 2))
        slot.next_try_mono = time.monotonic() + slot.backoff_s

    @staticmethod
    def _alive(agent: Any) -> bool:
        check = getattr(agent, "alive", None)
        if check is not None:
            return bool(check())
        health = getattr(agent, "health", None)
        return bool(health().get("running", True)) if health is not None else True

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            for slot in self.slots:
                if self._stop.is_set():
                    return
                with self._lock:
                    self._check(slot)

    def _check(self, slot: _Slot) -> None:
        now = time.monotonic()
        if slot.agent is None:
            if now >= slot.next_try_mono:
                slot.restarts += 1
                self._launch(slot)
            return
        try:
            ok = self._alive(slot.agent)
        except Exception as exc:  # a health check that raises counts as dead
            ok, slot.last_error = False, f"health: {type(exc).__name__}: {exc}"
        if ok:
            if now - slot.started_mono > 60.0:
                slot.backoff_s = 0.0
            return
        slot.last_error = slot.last_error or "agent stopped"
        log.warning("agent %s is not alive; restarting", slot.spec.name)
        self._shutdown(slot, timeout_s=1.0)
        self._schedule_restart(slot)

    def _shutdown(self, slot: _Slot, timeout_s: float) -> None:
        agent, slot.agent = slot.agent, None
        if agent is None:
            return
        try:
            agent.stop(timeout_s)
        except Exception as exc:  # stopping is best effort; the close below still runs
            slot.last_error = f"stop: {type(exc).__name__}: {exc}"
            log.warning("agent %s did not stop cleanly: %s", slot.spec.name, exc)
        if slot.spec.close is not None:
            try:
                slot.spec.close(agent)
            except Exception:  # a connection that will not close is dropped anyway
                log.debug("closing %s failed", slot.spec.name, exc_info=True)

    def stop(self) -> dict:
        """Staged stop (``stop_order``); returns the last health report."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        report = self.health()
        with self._lock:
            for slot in sorted(self.slots, key=lambda s: s.spec.stop_order):
                self._shutdown(slot, self.drain_timeout_s)
        self.stopped = True
        return report

    def health(self) -> dict:
        """``{"status": "ok"|"degraded"|"stopped", "uptime_s", "agents": {name: {...}}}``."""
        agents = {}
        ok = True
        for slot in self.slots:
            agent = slot.agent
            entry: dict[str, Any] = {"restarts": slot.restarts, "last_error": slot.last_error}
            try:
                entry["alive"] = agent is not None and self._alive(agent)
                if agent is not None and hasattr(agent, "health"):
                    entry.update({k: v for k, v in agent.health().items() if k != "alive"})
            except Exception as exc:  # report, do not fail the report
                entry["alive"], entry["health_error"] = False, f"{type(exc).__name__}: {exc}"
            ok = ok and entry["alive"]
            agents[slot.spec.name] = entry
        status = "stopped" if self.stopped else ("ok" if ok else "degraded")
        return {"status": status, "uptime_s": round(time.time() - (self.started_at or time.time()), 1),
                "agents": agents}


class ModelWatcher:
    """Follows the registry's approved version and switches the analysis agent to it.

    Parameters
    ----------
    analysis : callable
        Returns the running analysis agent (or None while it restarts).
    current : str
        The version the analysis agent runs ("" the shipped default).
    approved : callable
        Returns the newest approved version or None (cheap: no model loading).
    load : callable
        ``load(version)`` -> DetectorBundle.
    poll_s : float
        Check period [s].
    on_switch : callable, optional
        ``on_switch(bundle, version)`` after a switch (so a restarted agent starts on it).
    """

    def __init__(self, analysis: Callable[[], Any], current: str, approved: Callable[[], str | None],
                 load: Callable[[str], Any], poll_s: float = 30.0,
                 on_switch: Callable[[Any, str], None] | None = None):
        self.analysis, self.current, self.approved, self.load = analysis, current, approved, load
        self.on_switch = on_switch
        self.poll_s = poll_s
        self.switches = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "ModelWatcher":
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="model-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> dict:
        return {"model_version": self.current or "default", "switches": self.switches,
                "last_error": self.last_error}

    def check(self) -> bool:
        """Switch if a newer version is approved; True when it switched."""
        version = self.approved()
        if not version or version == self.current:
            return False
        agent = self.analysis()
        if agent is None:
            return False
        bundle = self.load(version)
        agent.switch_model(bundle, version)
        if self.on_switch is not None:
            self.on_switch(bundle, version)
        self.current = version
        self.switches += 1
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check()
                self.last_error = ""
            except Exception as exc:  # the registry may be briefly unreachable; try again later
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("model check failed: %s", exc)
