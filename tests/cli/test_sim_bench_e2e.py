"""The whole bench as separate processes: `benchgui sim bench` plus a recorder configured for
real instruments (the hardware path of the assembly), talking over ptys and a loopback port."""

import json
import re
import signal
import sqlite3
from pathlib import Path

from tests.helpers import run_cli, spawn_cli, wait_until

CHANNELS = ("battery.voltage.labjack", "battery.voltage.mppt", "battery.voltage.load")


def _recorded_channels(store: Path) -> set[str]:
    """Channels with samples in the store (empty while it does not exist or is busy)."""
    if not store.exists():
        return set()
    try:
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1)
        try:
            rows = db.execute(
                "SELECT c.name FROM channels c WHERE EXISTS (SELECT 1 FROM samples s WHERE s.channel = c.key)"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return set()
    return {name for (name,) in rows}


def test_recorder_on_hardware_config_against_sim_bench(tmp_path: Path) -> None:
    sim = spawn_cli(
        [
            "sim",
            "bench",
            "--ea-link",
            str(tmp_path / "ea.pty"),
            "--mppt-link",
            str(tmp_path / "mppt.pty"),
            "--labjack-port",
            "0",
            "--ea-no-pacing",
        ],
    )
    try:
        lines: dict[str, str] = {}
        assert sim.stdout is not None
        while len(lines) < 3:
            line = sim.stdout.readline()
            assert line, f"sim bench ended early: {sim.stderr.read() if sim.stderr else ''}"
            name, _, rest = line.partition(":")
            lines[name.strip()] = rest.strip()
        port = int(re.search(r":(\d+)", lines["labjack"]).group(1))  # type: ignore[union-attr]
        cfg = tmp_path / "bench.toml"
        cfg.write_text(
            f'[instruments.ea]\nport = "{tmp_path / "ea.pty"}"\n'
            f'[instruments.mppt]\nport = "{tmp_path / "mppt.pty"}"\n'
            f'[instruments.labjack]\nbackend = "modbus"\naddress = "127.0.0.1"\nport = {port}\n'
        )
        # record until every instrument's samples are in the store (each connects in its own
        # time), then stop it as an operator does
        store = tmp_path / "data" / "sessions.sqlite3"
        rec = spawn_cli(["record", "--headless", "--config", str(cfg)])
        try:
            wait_until(
                lambda: set(CHANNELS) <= _recorded_channels(store),
                timeout=60,
                what="every instrument recorded",
            )
            rec.send_signal(signal.SIGINT)
            out, err = rec.communicate(timeout=30)
        finally:
            if rec.poll() is None:
                rec.kill()
                rec.communicate()
        assert rec.returncode == 0, err
        sid = out.strip().splitlines()[-1]
        listed = json.loads(run_cli(["sessions", "list", "--json"]).stdout)
        (entry,) = [s for s in listed if s["id"] == sid]
        assert entry["kind"] == "live"
        exported = run_cli(["export", sid, "--format", "csv"], timeout=60)
        assert exported.returncode == 0, exported.stderr
        for channel in CHANNELS:
            assert channel in exported.stdout, f"{channel} missing from the recording"
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(timeout=15)
        finally:
            sim.kill()
    assert sim.returncode == 0
    assert not (tmp_path / "ea.pty").exists()  # the simulator cleaned up its link
