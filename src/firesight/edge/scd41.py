"""The Sensirion SCD41 on a node's I2C bus, through Sensirion's own driver.

:class:`SCD41Driver` is the small interface the node uses; :class:`SensirionSCD41`
implements it over ``sensirion-i2c-scd4x`` (``Scd4xDevice`` on an ``I2cChannel`` of an
``I2cConnection``, CRC-8 polynomial 0x31, init 0xFF, as Sensirion's examples set it up),
imported only when a real sensor is opened. The transceiver is injected: on a Raspberry Pi
``LinuxI2cTransceiver("/dev/i2c-1")``; in tests a fake that answers the SCD4x commands.

Sequence, as the datasheet prescribes: ``wake_up`` (SCD41, not acknowledged),
``stop_periodic_measurement`` (0x3f86, 500 ms), ``reinit`` (0x3646, 30 ms), the ASC
setting (0x2416) in idle mode, then ``start_periodic_measurement`` (0x21b1, a reading every
5 s) or ``start_low_power_periodic_measurement`` (0x21ac, every 30 s); each reading is
polled with ``get_data_ready_status`` (0xe4b8) and read with ``read_measurement`` (0xec05).
Changing mode goes through idle (stop, then start).

References
----------
1. Sensirion, "Datasheet SCD4x" v1.6 (2024), sections 3.5-3.9 (commands, execution times,
   the modes each command is allowed in) and 3.11 (CRC-8: polynomial 0x31, init 0xFF).
2. Sensirion, ``sensirion-i2c-scd4x`` 1.1 (PyPI): ``Scd4xDevice`` API.
"""

from __future__ import annotations

import abc
import logging
import threading
from dataclasses import dataclass
from typing import Any

from firesight.errors import FiresightError

log = logging.getLogger(__name__)

#: I2C address of the SCD4x [1].
SCD4X_ADDRESS = 0x62
#: Measurement intervals [s]: periodic and low-power periodic [1].
PERIODIC_INTERVAL_S = 5.0
LOW_POWER_INTERVAL_S = 30.0


class SensorError(FiresightError):
    """A sensor did not answer or answered garbage (NACK, CRC error, I/O error)."""


@dataclass(frozen=True)
class SCD41Reading:
    co2_ppm: float
    temperature_c: float
    humidity_rh: float


class SCD41Driver(abc.ABC):
    """What a node needs from an SCD41."""

    @abc.abstractmethod
    def start(self, *, low_power: bool, asc_enabled: bool = True) -> None:
        """Bring the sensor to idle, configure ASC, start (low-power) periodic measurement."""

    @abc.abstractmethod
    def data_ready(self) -> bool: ...

    @abc.abstractmethod
    def read(self) -> SCD41Reading: ...

    @abc.abstractmethod
    def stop(self) -> None:
        """Back to idle (ends periodic measurement)."""

    def close(self) -> None:
        """Release the bus."""


class SensirionSCD41(SCD41Driver):
    """:class:`SCD41Driver` over Sensirion's ``sensirion-i2c-scd4x`` driver.

    Parameters
    ----------
    transceiver : object, optional
        An ``sensirion_i2c_driver`` API-v1 transceiver; default ``LinuxI2cTransceiver(device)``.
    device : str
        Linux I2C device file (default ``/dev/i2c-1``, the Raspberry Pi's header bus).
    address : int
        I2C address (0x62).
    """

    def __init__(self, transceiver: Any = None, *, device: str = "/dev/i2c-1", address: int = SCD4X_ADDRESS):
        try:
            from sensirion_driver_adapters.i2c_adapter.i2c_channel import I2cChannel
            from sensirion_i2c_driver import CrcCalculator, I2cConnection
            from sensirion_i2c_scd4x import Scd4xDevice
        except ImportError as exc:
            raise SensorError("the SCD41 needs Sensirion's driver: pip install 'firesight[edge]' "
                              f"(sensirion-i2c-scd4x): {exc}") from None
        self._owned = None
        if transceiver is None:
            from sensirion_i2c_driver import LinuxI2cTransceiver

            try:
                transceiver = self._owned = LinuxI2cTransceiver(device)
            except OSError as exc:
                raise SensorError(f"cannot open I2C bus {device}: {exc}") from None
        channel = I2cChannel(I2cConnection(transceiver), slave_address=address,
                             crc=CrcCalculator(8, 0x31, 0xFF, 0x0))
        self._sensor = Scd4xDevice(channel)
        self._lock = threading.Lock()
        self.running = False
        self.low_power = False

    def _call(self, what: str, fn, *args):
        try:
            with self._lock:
                return fn(*args)
        except Exception as exc:  # the driver raises I2cNackError, I2cChecksumError, OSError, ...
            raise SensorError(f"SCD41 {what} failed: {type(exc).__name__}: {exc}") from None

    def start(self, *, low_power: bool, asc_enabled: bool = True) -> None:
        self._call("wake_up", self._sensor.wake_up)  # not acknowledged by design [1]
        self._call("stop_periodic_measurement", self._sensor.stop_periodic_measurement)
        self._call("reinit", self._sensor.reinit)
        self._call("set_automatic_self_calibration_enabled",
                   self._sensor.set_automatic_self_calibration_enabled, int(bool(asc_enabled)))
        if low_power:
            self._call("start_low_power_periodic_measurement", self._sensor.start_low_power_periodic_measurement)
        else:
            self._call("start_periodic_measurement", self._sensor.start_periodic_measurement)
        self.running, self.low_power = True, bool(low_power)

    def data_ready(self) -> bool:
        return bool(self._call("get_data_ready_status", self._sensor.get_data_ready_status))

    def read(self) -> SCD41Reading:
        co2, temperature, humidity = self._call("read_measurement", self._sensor.read_measurement)
        return SCD41Reading(float(co2.value), float(temperature.value), float(humidity.value))

    def stop(self) -> None:
        self._call("stop_periodic_measurement", self._sensor.stop_periodic_measurement)
        self.running = False

    def close(self) -> None:
        try:
            if self.running:
                self.stop()
        finally:
            if self._owned is not None:
                self._owned.close()
