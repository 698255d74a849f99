"""The checks, per instrument, in the order an engineer would do them at a new bench.

They use the same sources the GUI runs (their background polling goes on meanwhile), plus the
driver read-backs a check needs (set value, status bits). Nothing here switches the load input
on except :func:`live_load`, which the command runs only with ``--live-load`` and a confirmation.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable

from benchgui.commission.steps import CheckFailed, Skipped, Walk
from benchgui.core.bench import Bench
from benchgui.errors import BenchError, NotSupported
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.labjack.registers import range_or_none
from benchgui.instruments.labjack.source import LabJackSource
from benchgui.instruments.mppt.source import FixedPublicationPeriod, MpptSource
from benchgui.model import InstrumentState

SMALL_SETPOINT_A = 0.5  # the set value written with the input off (well inside any EL's range)
LIVE_LOAD_A = 1.0
LIVE_LOAD_S = 5.0
MPPT_ITEMS = ("Bat_V", "Bat_A", "Solar_V", "ChgState", "DCDCState")
SCAN_AINS = (0, 1, 2, 3)
POLL_S = 0.02
LABELS = {"remote": "remote control", "input_on": "input"}


async def until(cond: Callable[[], object], what: str, timeout_s: float = 15.0) -> None:
    """Wait for ``cond``; :class:`CheckFailed` naming ``what`` when it does not come."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise CheckFailed(f"{what}: not within {timeout_s:g} s")
        await asyncio.sleep(POLL_S)


def _connected(bench: Bench, sid: str) -> Callable[[], bool]:
    return lambda: bench.status[sid].state is InstrumentState.CONNECTED


async def _wait_connected(bench: Bench, sid: str) -> None:
    try:
        await until(_connected(bench, sid), f"{sid} connected")
    except CheckFailed:
        st = bench.status[sid]
        raise CheckFailed(f"not connected ({st.state.value}: {st.text or 'no answer'})") from None


# -- EA load -----------------------------------------------------------------------------------------
async def ea(walk: Walk, bench: Bench, src: LoadSource) -> None:
    dev, d = src.id, src.driver

    async def identify() -> str:
        await _wait_connected(bench, dev)
        ident = d.identity
        if ident is None:
            raise CheckFailed("connected without an identity")
        return (
            f"{ident.device_type} serial {ident.serial} firmware {ident.firmware}, "
            f"{ident.nominal_voltage_v:g} V / {ident.nominal_current_a:g} A / {ident.nominal_power_w:g} W "
            f"on {src.transport.name}"
        )

    if not await walk.step("load", dev, "identify", identify):
        walk.skip("load", "remaining load checks", "the load did not identify")
        return

    async def read() -> str:
        a = await d.read_actual()
        if not all(math.isfinite(x) for x in (a.voltage_v, a.current_a)):
            raise CheckFailed(f"reading is not a number: {a}")
        return f"U {a.voltage_v:.3f} V, I {a.current_a:.3f} A, P {a.power_w or 0.0:.2f} W"

    async def status_says(field: str, want: bool) -> str:
        try:
            st = await d.read_status()
        except NotSupported:
            return "not confirmed: the profile has no status object"
        got = getattr(st, field)
        if got is None:
            return "not confirmed: the profile cannot tell"
        if got is not want:
            raise CheckFailed(f"the device reports {LABELS[field]} {'on' if got else 'off'} (raw {st.raw})")
        note = "" if src.state.status_confirmed else " (status bits UNCONFIRMED for this profile)"
        return f"the device reports {LABELS[field]} {'on' if want else 'off'}{note}"

    async def remote(on: bool) -> str:
        await src.set_remote(on)
        return await status_says("remote", on)

    async def input_off() -> str:
        await src.set_remote(True)
        await src.set_input(False)
        return await status_says("input_on", False)

    async def setpoint() -> str:
        await src.set_current(SMALL_SETPOINT_A)
        (back,) = await d.read("set_current")
        lsb = src.nominal_current_a / 25600 * 2
        if not abs(float(back) - SMALL_SETPOINT_A) <= lsb:
            raise CheckFailed(f"set {SMALL_SETPOINT_A:.3f} A, the device holds {float(back):.4f} A")
        a = await d.read_actual()
        if a.current_a > 0.05:
            raise CheckFailed(f"input off, yet {a.current_a:.3f} A flows")
        await src.set_current(0.0)
        held = f"read back {float(back):.4f} A"
        return f"set {SMALL_SETPOINT_A:.3f} A with the input off, {held}; {a.current_a:.3f} A flows"

    await walk.step("load", dev, "read U, I, P", read)
    await walk.step("load", dev, "remote on", lambda: remote(True))
    await walk.step("load", dev, "remote off", lambda: remote(False))
    await walk.step("load", dev, "input off", input_off)
    await walk.step("load", dev, "small setpoint, input off, read back", setpoint)
    await walk.step("load", dev, "back to local control", lambda: remote(False))


# -- MPPT --------------------------------------------------------------------------------------------
async def mppt(walk: Walk, bench: Bench, src: MpptSource) -> None:
    dev = src.id

    async def identify() -> str:
        await _wait_connected(bench, dev)
        await until(lambda: src.snapshot.connected, "the MPPT's device info")
        info = src.snapshot.info
        return ", ".join(f"{k} {v}" for k, v in info.items()) or "no device info"

    if not await walk.step("mppt", dev, "identify", identify):
        walk.skip("mppt", "remaining MPPT checks", "the MPPT did not identify")
        return

    async def items() -> str:
        n = src.snapshot.statements
        await until(lambda: src.snapshot.statements > n, "a publication")
        values = src.snapshot.values
        missing = [k for k in MPPT_ITEMS if not isinstance(values.get(k), int | float)]
        if missing:
            raise CheckFailed(
                f"the publication lacks {', '.join(missing)} (has {', '.join(values) or 'nothing'})"
            )
        shown = ", ".join(f"{k} {values[k]}" for k in MPPT_ITEMS)
        return f"{len(values)} items published: {shown}"

    async def period() -> str:
        want = src.period_s
        note = ""
        try:
            await src.set_publication_period(want)
        except FixedPublicationPeriod:
            want, note = 1.0, " (fixed by this firmware)"
        times: list[int] = []
        for _ in range(3):
            last = src.snapshot.statements

            def arrived(n: int = last) -> bool:
                return src.snapshot.statements > n

            await until(arrived, "the next publication", 5 * want + 10)
            if src.snapshot.t_ns is not None:
                times.append(src.snapshot.t_ns)
        gaps = [(b - a) / 1e9 for a, b in itertools.pairwise(times)]
        seen = sum(gaps) / len(gaps) if gaps else float("nan")
        if not abs(seen - want) <= 0.5 * want + 0.2:
            raise CheckFailed(f"period {want:g} s set{note}, publications arrive every {seen:.2f} s")
        return f"period {want:g} s{note}; publications every {seen:.2f} s (bench time)"

    await walk.step("mppt", dev, "publication items", items)
    await walk.step("mppt", dev, "publication period", period)


# -- LabJack -----------------------------------------------------------------------------------------
async def labjack(walk: Walk, bench: Bench, src: LabJackSource) -> None:
    dev = src.id

    async def identify() -> str:
        await _wait_connected(bench, dev)
        return ", ".join(f"{k} {v}" for k, v in src.info().items())

    if not await walk.step("labjack", dev, "identify", identify):
        walk.skip("labjack", "remaining LabJack checks", "the LabJack did not identify")
        return

    async def ranges() -> str:
        chans = src.channel_config
        held, _ = await src.check_inputs([c.ain for c in chans])
        wrong = [
            f"AIN{c.ain} holds ±{h.range_v:g} V, configured ±{c.range_v:g} V"
            for c, h in zip(chans, held, strict=True)
            if range_or_none(h.range_v) != range_or_none(c.range_v)
        ]
        if wrong:
            raise CheckFailed("; ".join(wrong))
        return ", ".join(f"AIN{c.ain} ±{c.range_v:g} V ({c.quantity})" for c in chans)

    async def scan() -> str:
        held, volts = await src.check_inputs(SCAN_AINS)
        bad = [
            f"AIN{a} {v!r} V"
            for a, v, h in zip(SCAN_AINS, volts, held, strict=True)
            if not (math.isfinite(v) and abs(v) <= 1.05 * (range_or_none(h.range_v) or 10.0))
        ]
        if bad:
            raise CheckFailed("out of range or not a number: " + ", ".join(bad))
        return ", ".join(f"AIN{a} {v:+.4f} V" for a, v in zip(SCAN_AINS, volts, strict=True))

    await walk.step("labjack", dev, "input ranges as configured", ranges)
    await walk.step("labjack", dev, f"one scan of {len(SCAN_AINS)} AINs", scan)


# -- the live load (only with --live-load and a confirmation) ----------------------------------------
async def live_load(walk: Walk, bench: Bench, src: LoadSource) -> None:
    supervisor = bench.services.supervisor

    async def run() -> str:
        if supervisor is None:
            raise Skipped("no safety supervisor on this bench")
        d = src.driver
        try:
            await src.set_current(LIVE_LOAD_A)
            await src.set_input(True)
            await until(lambda: supervisor.armed, "the safety supervisor armed with the input on", 5.0)
            await bench.clock.sleep(LIVE_LOAD_S)
            a = await d.read_actual()
        finally:
            try:
                await src.set_input(False)
            except BenchError as exc:
                raise CheckFailed(f"could not switch the input off again: {exc}") from exc
        if supervisor.trip_state is not None:
            raise CheckFailed(f"the supervisor tripped: {supervisor.trip_state.text}")
        if not abs(a.current_a - LIVE_LOAD_A) <= 0.1 * LIVE_LOAD_A + 0.05:
            raise CheckFailed(f"{LIVE_LOAD_A:g} A set, {a.current_a:.3f} A measured after {LIVE_LOAD_S:g} s")
        off = (await d.read_status()).input_on if src.profile.status is not None else None
        if off:
            raise CheckFailed("the device still reports its input on")
        return (
            f"{a.current_a:.3f} A at {a.voltage_v:.3f} V after {LIVE_LOAD_S:g} s with the supervisor armed; "
            f"input off again{'' if off is False else ' (not confirmable by status)'}"
        )

    await walk.step("load", src.id, f"live load {LIVE_LOAD_A:g} A for {LIVE_LOAD_S:g} s", run)
