"""Brokers for the IoT integration tests: each test module defines its own ``pki``."""

import pytest

from support.mqtt import start_broker


@pytest.fixture(scope="module", params=["embedded", "mosquitto"])
def broker(request, pki):
    b = start_broker(request.param, pki["registry"])
    yield b
    b.stop()
