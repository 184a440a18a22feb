"""Alert decision with hysteresis: fire probability in, alert level out.

One decision path is used everywhere (offline evaluation, replay, the online analysis
agent), so a detector is judged exactly as it will behave in service. A noisy window
alone never flips the state: the alarm needs ``min_consecutive`` windows at or above
``alarm_on`` and clears only after ``clear_consecutive`` windows below ``alarm_off``.
An optional slow path (``sustain_on`` / ``sustain_consecutive``) also raises the alarm
after a long run of windows at or above a lower level: sustained, weaker evidence, as a
smouldering fire gives for minutes and a brief flare (a flambé) does not.

References
----------
1. NFPA 72, National Fire Alarm and Signaling Code (2022), ch. 10 and 23: pre-alarm
   ("supervisory / pre-signal") versus alarm signals, verification before alarm.
2. EN 54-2:1997+A1:2006, Control and indicating equipment, 7.11/7.12: delays and
   dependency on more than one alarm signal ("coincidence") to reduce false alarms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from firesight.errors import require

#: Alert levels, in increasing order of severity.
LEVELS: tuple[str, ...] = ("normal", "watch", "alarm")
LEVEL_CODE: dict[str, int] = {name: i for i, name in enumerate(LEVELS)}


@dataclass(frozen=True)
class AlertPolicy:
    """Thresholds and persistence of the alert decision.

    Parameters
    ----------
    watch_on : float
        Probability [0-1] at or above which the level is at least ``watch``.
    alarm_on : float
        Probability [0-1] at or above which a window counts towards the alarm.
    alarm_off : float
        Probability [0-1] below which a window counts towards clearing the alarm
        (``alarm_off <= alarm_on``: the hysteresis band).
    min_consecutive : int
        Consecutive windows [count] at or above ``alarm_on`` needed to enter ``alarm``.
    clear_consecutive : int
        Consecutive windows [count] below ``alarm_off`` needed to leave ``alarm``.
    sustain_on : float or None
        Slow path: probability [0-1] at or above which a window counts towards a sustained
        alarm (None: no slow path). At most ``alarm_on``, at least ``alarm_off``.
    sustain_consecutive : int or None
        Slow path: consecutive windows [count] at or above ``sustain_on`` that raise the
        alarm; more than ``min_consecutive``. Both slow-path fields are set, or neither.
    """

    watch_on: float = 0.3
    alarm_on: float = 0.8
    alarm_off: float = 0.3
    min_consecutive: int = 3
    clear_consecutive: int = 30
    sustain_on: float | None = None
    sustain_consecutive: int | None = None

    def __post_init__(self) -> None:
        for name in ("watch_on", "alarm_on", "alarm_off"):
            value = getattr(self, name)
            require(isinstance(value, (int, float)) and 0.0 <= float(value) <= 1.0,
                    name, "a probability in [0, 1]", value)
        require(self.alarm_off <= self.alarm_on, "alarm_off", f"<= alarm_on ({self.alarm_on})",
                self.alarm_off)
        require(self.watch_on <= self.alarm_on, "watch_on", f"<= alarm_on ({self.alarm_on})",
                self.watch_on)
        for name in ("min_consecutive", "clear_consecutive"):
            value = getattr(self, name)
            require(isinstance(value, (int, np.integer)) and value >= 1, name, "an integer >= 1",
                    value)
        require((self.sustain_on is None) == (self.sustain_consecutive is None), "sustain_consecutive",
                "set together with sustain_on, or neither", self.sustain_consecutive)
        if self.sustain_on is not None:
            require(isinstance(self.sustain_on, (int, float)) and self.alarm_off <= float(self.sustain_on)
                    <= self.alarm_on, "sustain_on", f"a probability in [alarm_off, alarm_on] "
                    f"([{self.alarm_off}, {self.alarm_on}])", self.sustain_on)
            require(isinstance(self.sustain_consecutive, (int, np.integer))
                    and self.sustain_consecutive > self.min_consecutive, "sustain_consecutive",
                    f"an integer > min_consecutive ({self.min_consecutive})", self.sustain_consecutive)

    def to_dict(self) -> dict:
        out = {"watch_on": float(self.watch_on), "alarm_on": float(self.alarm_on),
               "alarm_off": float(self.alarm_off), "min_consecutive": int(self.min_consecutive),
               "clear_consecutive": int(self.clear_consecutive)}
        if self.sustain_on is not None:
            out.update(sustain_on=float(self.sustain_on), sustain_consecutive=int(self.sustain_consecutive))
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "AlertPolicy":
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        return cls(**known)


@dataclass
class AlertState:
    """The running state of one monitored space (updated window by window)."""

    policy: AlertPolicy
    level: str = "normal"
    above_count: int = 0
    below_count: int = 0
    sustain_count: int = 0
    changes: list[dict] = field(default_factory=list)

    def update(self, time_s: float, probability: float) -> str:
        """Feed one window's fire probability; return the level after it.

        Parameters
        ----------
        time_s : float
            Time of the window [s].
        probability : float
            Fire probability of the window [0-1]; NaN counts as "no evidence" (0).
        """
        p = float(probability)
        if not np.isfinite(p):
            p = 0.0
        pol = self.policy
        self.above_count = self.above_count + 1 if p >= pol.alarm_on else 0
        self.below_count = self.below_count + 1 if p < pol.alarm_off else 0
        sustained = False
        if pol.sustain_on is not None:
            self.sustain_count = self.sustain_count + 1 if p >= pol.sustain_on else 0
            sustained = self.sustain_count >= pol.sustain_consecutive
        if self.level == "alarm":
            new = "watch" if self.below_count >= pol.clear_consecutive else "alarm"
            if new == "watch" and p < pol.watch_on:
                new = "normal"
        elif self.above_count >= pol.min_consecutive or sustained:
            new = "alarm"
        elif p >= pol.watch_on:
            new = "watch"
        else:
            new = "normal"
        if new != self.level:
            self.changes.append({"time_s": float(time_s), "level": new, "probability": p,
                                 "previous": self.level})
            self.level = new
        return new


def alert_levels(time_s: Iterable[float], probability: Iterable[float],
                 policy: AlertPolicy) -> np.ndarray:
    """Alert level code per window (0 normal, 1 watch, 2 alarm) for one scenario.

    Parameters
    ----------
    time_s : array_like
        Window times [s], increasing.
    probability : array_like
        Fire probability per window [0-1].
    policy : AlertPolicy
        Thresholds and persistence.

    Returns
    -------
    numpy.ndarray of int8, one level code per window (see :data:`LEVELS`).
    """
    t = np.asarray(list(time_s) if not hasattr(time_s, "__len__") else time_s, dtype=float)
    p = np.asarray(list(probability) if not hasattr(probability, "__len__") else probability,
                   dtype=float)
    require(t.shape == p.shape, "probability", f"the same length as time_s ({t.shape})", p.shape)
    state = AlertState(policy)
    out = np.empty(t.shape, dtype=np.int8)
    for i in range(t.size):
        out[i] = LEVEL_CODE[state.update(t[i], p[i])]
    return out
