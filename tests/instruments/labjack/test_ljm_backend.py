"""The LJM backend against a stand-in for LabJack's ``ljm`` module.

The native library cannot be installed here, so this is the one fake in the LabJack tests: it
records every call, and the tests assert the calls and register names the backend uses. Not a
substitute for a T7 on USB — see the README.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

from benchgui.config.schema import LabJackSection
from benchgui.errors import TransportError, ValueOutOfRange
from benchgui.instruments.labjack.backends import backend_for
from benchgui.instruments.labjack.backends.base import LjmUnavailable, T7Refused
from benchgui.instruments.labjack.backends.ljm import LjmBackend, load_ljm
from benchgui.instruments.labjack.registers import AinSettings

pytestmark = pytest.mark.timeout(30)


class LJMError(Exception):
    def __init__(self, errorCode: int | None = None, errorString: str = "") -> None:
        super().__init__(f"LJM library error code {errorCode} {errorString}")
        self.errorCode = errorCode


class StandInLjm:
    """Just enough of ``labjack.ljm``: openS, eReadNames, eWriteNames, close, LJMError."""

    LJMError = LJMError

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.threads: set[str] = set()
        self.registers: dict[str, float] = {
            "PRODUCT_ID": 7.0,
            "HARDWARE_VERSION": 1.3,
            "FIRMWARE_VERSION": 1.0299,
            "SERIAL_NUMBER": 470023670.0,
            "AIN1": 0.288,
            "AIN2": 2.5,
        }
        self.open_error: LJMError | None = None
        self.refuse: set[str] = set()

    def _log(self, *call: Any) -> None:
        self.calls.append(call)
        self.threads.add(threading.current_thread().name)

    def openS(self, deviceType: str, connectionType: str, identifier: str) -> int:
        self._log("openS", deviceType, connectionType, identifier)
        if self.open_error:
            raise self.open_error
        return 42

    def eReadNames(self, handle: int, numFrames: int, aNames: list[str]) -> list[float]:
        self._log("eReadNames", handle, numFrames, list(aNames))
        return [self.registers.get(n, 0.0) for n in aNames]

    def eWriteNames(self, handle: int, numFrames: int, aNames: list[str], aValues: list[float]) -> None:
        self._log("eWriteNames", handle, numFrames, list(aNames), list(aValues))
        if self.refuse & set(aNames):
            raise LJMError(2605, "LJME_INVALID_VALUE")  # illustrative code
        self.registers.update(zip(aNames, aValues, strict=True))

    def close(self, handle: int) -> None:
        self._log("close", handle)


@pytest.fixture
def ljm() -> StandInLjm:
    return StandInLjm()


async def test_open_reads_identity_as_the_bench_opens_it(ljm: StandInLjm) -> None:
    b = LjmBackend("USB", "ANY", ljm_module=ljm)
    info = await b.open()
    assert ljm.calls[0] == ("openS", "T7", "USB", "ANY")
    assert ljm.calls[1] == (
        "eReadNames",
        42,
        4,
        ["PRODUCT_ID", "HARDWARE_VERSION", "FIRMWARE_VERSION", "SERIAL_NUMBER"],
    )
    assert (info.model, info.serial, info.firmware, info.via) == ("T7", 470023670, 1.0299, "ljm USB ANY")
    await b.close()
    assert ljm.calls[-1] == ("close", 42)
    assert ljm.threads == {"benchgui-ljm_0"}  # blocking calls run off the event loop


async def test_ains_are_read_by_name_in_one_call(ljm: StandInLjm) -> None:
    b = LjmBackend(ljm_module=ljm)
    await b.open()
    ljm.calls.clear()
    assert await b.read_ains([2, 1]) == [2.5, 0.288]
    assert ljm.calls == [("eReadNames", 42, 2, ["AIN2", "AIN1"])]
    await b.close()


async def test_configure_writes_and_verifies_by_name(ljm: StandInLjm) -> None:
    b = LjmBackend(ljm_module=ljm)
    await b.open()
    ljm.calls.clear()
    await b.configure([AinSettings(2, 1.0, 3, 4, 100.0)])
    names = ["AIN2_RANGE", "AIN2_NEGATIVE_CH", "AIN2_RESOLUTION_INDEX", "AIN2_SETTLING_US"]
    assert ljm.calls == [
        ("eWriteNames", 42, 4, names, [1.0, 3.0, 4.0, 100.0]),
        ("eReadNames", 42, 4, names),
    ]
    with pytest.raises(ValueOutOfRange, match="AIN2_RANGE 2 V"):
        await b.configure([AinSettings(2, 2.0)])
    assert len(ljm.calls) == 2  # nothing sent
    await b.close()


async def test_ljm_errors_become_bench_errors(ljm: StandInLjm) -> None:
    b = LjmBackend(ljm_module=ljm)
    await b.open()
    ljm.refuse = {"AIN1_RANGE"}
    with pytest.raises(T7Refused, match=r"AIN1_RANGE = 1.*LJME_INVALID_VALUE"):
        await b.write_settings(AinSettings(1, 1.0))
    await b.close()
    ljm.open_error = LJMError(1227, "LJME_DEVICE_NOT_FOUND")
    with pytest.raises(TransportError, match=r"LJM cannot open a T7 \(USB, ANY\).*DEVICE_NOT_FOUND"):
        await b.open()


def test_config_selects_the_ljm_backend_lazily() -> None:
    b = backend_for(LabJackSection(backend="ljm", connection="ETHERNET", identifier="470023670"))
    assert isinstance(b, LjmBackend)
    assert b.where == "ljm ETHERNET 470023670"


async def test_without_the_native_library_the_message_says_what_to_install() -> None:
    try:
        load_ljm()
    except LjmUnavailable as exc:
        text = str(exc)
    else:  # pragma: no cover - a machine with LabJack's library installed
        pytest.skip("the LJM library is installed here")
    assert "native LJM library" in text
    assert "https://labjack.com/support/software/installers/ljm" in text
    with pytest.raises(LjmUnavailable):
        await LjmBackend().open()


def test_without_the_python_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "labjack", None)  # import labjack → ImportError
    with pytest.raises(LjmUnavailable, match="pip install labjack-ljm"):
        load_ljm()


def test_importing_benchgui_never_loads_ljm() -> None:
    import subprocess

    code = (
        "import sys, benchgui, benchgui.assembly, benchgui.instruments.labjack.factory, "
        "benchgui.instruments.labjack.source; print('labjack' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
