"""``benchgui soc identify|replay|models`` as an operator runs them."""

from pathlib import Path

import numpy as np
import pytest

from benchgui.cli import main
from benchgui.model import Channel, SessionMeta
from benchgui.recording.store import Store
from tests.helpers import run_cli
from tests.soc.synthetic import characterisation, nmc_like, profile, run_of


def write_run(path: Path, t: np.ndarray, i: np.ndarray, v: np.ndarray) -> None:
    rows = "\n".join(f"{a:.3f},{b:.4f},{c:.4f}" for a, b, c in zip(t, i, v, strict=True))
    path.write_text("time_s,current_a,voltage_v\n" + rows + "\n")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("soc")
    truth = nmc_like()
    char, _ = characterisation(truth)
    write_run(d / "char.csv", char.t_s, char.current_a, char.voltage_v)
    t, i = profile(3, hours=1.0)
    drive, _ = run_of(truth, t, i, 0.8)
    write_run(d / "drive.csv", drive.t_s, drive.current_a, drive.voltage_v)
    return d / "char.csv", d / "drive.csv"


def test_identify_then_replay_as_written(files: tuple[Path, Path], tmp_path: Path) -> None:
    char, drive = files
    model, out = tmp_path / "MODEL.toml", tmp_path / "OUT.csv"
    r = run_cli(["soc", "identify", str(char), "--cells", "4", "--output", str(model)], timeout=120)
    assert r.returncode == 0, r.stderr
    assert "fit quality" in r.stdout
    assert "capacity" in r.stdout
    r = run_cli(
        ["soc", "replay", str(drive), "--model", str(model), "--output", str(out), "--initial-soc", "auto"],
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "time_s,soc_pct,soc_3sigma_pct"
    assert len(lines) == 3601
    last = [float(x) for x in lines[-1].split(",")]
    assert 0 < last[1] < 100
    assert 0 < last[2] < 10


def test_replay_options_and_usage_errors(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, drive = files
    out = tmp_path / "o.csv"
    assert (
        main(
            [
                "soc",
                "replay",
                str(drive),
                "--model",
                "lead-acid-6s",
                "--output",
                str(out),
                "--initial-soc",
                "55",
            ]
        )
        == 0
    )
    assert "55 % ± 30 % given" in capsys.readouterr().out  # weighed with the drive's first rest
    assert main(["soc", "replay", str(drive), "--output", str(out), "--initial-soc", "lots"]) == 2
    assert "must be 'auto' or a percentage" in capsys.readouterr().err
    assert main(["soc", "replay", str(drive), "--output", str(out), "--model", "nope"]) == 2
    assert "no cell model 'nope'" in capsys.readouterr().err
    assert main(["soc", "replay", "--output", str(out)]) == 2  # neither file nor session


def test_malformed_csv_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,current_a,voltage_v\n0,-1,12.5\n1,-1,twelve\n")
    assert main(["soc", "replay", str(bad), "--output", str(tmp_path / "o.csv")]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: column voltage_v: 'twelve' is not a number" in err
    assert main(["soc", "identify", str(tmp_path / "missing.csv"), "--cells", "4", "--output", "m.toml"]) == 1
    assert "cannot read" in capsys.readouterr().err
    short = tmp_path / "short.csv"
    short.write_text("time_s,current_a,voltage_v\n0,-1,12.5\n")
    assert main(["soc", "identify", str(short), "--cells", "4", "--output", str(tmp_path / "m.toml")]) == 1
    assert "a characterisation run needs thousands" in capsys.readouterr().err


def test_replay_of_a_stored_session_with_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = nmc_like(cells=6, capacity_ah=7.2)
    t, i = profile(5, hours=0.5, capacity_ah=7.2)
    run, z = run_of(m, t, i, 0.7)
    store_path = tmp_path / "s.sqlite3"
    t0 = 1_700_000_000_000_000_000
    with Store(store_path) as store:
        sid = store.create_session(t0, SessionMeta(kind="live"))
        chans = {
            "v": store.channel_key(Channel.of("battery.voltage", "labjack", "V")),
            "i": store.channel_key(Channel.of("battery.current", "labjack", "A")),
            "s": store.channel_key(Channel.of("soc", "mppt", "%")),
        }
        rows = []
        for tk, ik, vk, zk in zip(t, run.current_a, run.voltage_v, z, strict=True):
            tn = t0 + int(tk * 1e9)
            rows += [(chans["v"], tn, float(vk), 0), (chans["i"], tn, float(ik), 0)]
            if int(tk) % 10 == 0:
                rows.append((chans["s"], tn, round(100 * zk), 0))
        store.insert_samples(sid, rows)
        store.end_session(sid, t0 + int(t[-1] * 1e9))
    model_file = tmp_path / "m.toml"
    from benchgui.soc.modelfile import dump_model

    model_file.write_text(dump_model(m))
    out, png = tmp_path / "out.csv", tmp_path / "plot.png"
    rc = main(
        [
            "soc",
            "replay",
            "--session",
            "latest",
            "--store",
            str(store_path),
            "--model",
            str(model_file),
            "--output",
            str(out),
            "--plot",
            str(png),
            "--initial-soc",
            "70",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert f"session {sid}" in text
    lines = out.read_text().splitlines()
    assert len(lines) == len(t) + 1
    end = float(lines[-1].split(",")[1])
    assert end == pytest.approx(100 * z[-1], abs=1.5)
    assert png.stat().st_size > 5000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        main(
            [
                "soc",
                "replay",
                "--session",
                sid,
                "--store",
                str(store_path),
                "--output",
                str(out),
                "--voltage",
                "battery.voltage.nowhere",
            ]
        )
        == 1
    )
    assert "has no samples of battery.voltage.nowhere" in capsys.readouterr().err


def test_models_lists_the_shipped_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["soc", "models"]) == 0
    out = capsys.readouterr().out
    assert "lead-acid-6s" in out
    assert "lifepo4-4s" in out


def test_replay_estimates_the_current_sensor_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sensor reading 40 mA high: replay estimates the offset and says so (not with
    --no-offset-state)."""
    from benchgui.soc.model import simulate
    from benchgui.soc.modelfile import load_model

    lfp = load_model("lifepo4-4s")
    q = lfp.capacity_ah
    i = np.concatenate(
        [np.full(2 * 3600, -0.4 * q), np.zeros(1800), np.full(2 * 3600, 0.4 * q), np.zeros(1800)]
    )
    t = np.arange(len(i), dtype=float)
    v, _ = simulate(lfp, t, i, 0.95)
    drive = tmp_path / "drive.csv"
    write_run(drive, t, i + 0.040, v)
    out = tmp_path / "o.csv"
    args = ["soc", "replay", str(drive), "--model", "lifepo4-4s", "--output", str(out), "--initial-soc", "95"]
    assert main([*args, "--no-offset-state"]) == 0
    plain = capsys.readouterr().out
    assert "coulomb counting only (OCV too flat to tell SOC) for" in plain
    assert "offset" not in plain
    assert main(args) == 0
    said = capsys.readouterr().out
    mA = float(said.split("current-sensor offset estimated ")[1].split(" mA")[0])
    assert 15 <= mA <= 60, said  # learned, with the right sign (5 h: not all of it yet)


def test_identify_can_take_the_charge_efficiency_from_the_rests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lead-acid block's C/10-steps run (KiBaM truth, η = 0.97): the rests' η is always
    reported; with --efficiency-from-rests it is what the model file holds."""
    from benchgui.soc.modelfile import load_model
    from benchmarks import soc_cases, soc_truth
    from benchmarks.soc_leadacid import LeadAcid, run_steps

    steps, soc0 = soc_cases.step_characterisation_steps(soc_truth.CHEMISTRIES["lead"], quick=False)
    t, i, v_cell, _ = run_steps(LeadAcid(), steps, soc0)
    write_run(tmp_path / "block.csv", t, i, 6 * v_cell)
    effs = []
    for extra in ([], ["--efficiency-from-rests"]):
        model = tmp_path / f"m{len(extra)}.toml"
        args = ["soc", "identify", str(tmp_path / "block.csv"), "--cells", "6", "--output", str(model)]
        assert main(args + extra) == 0
        assert "charge efficiency 0.9" in capsys.readouterr().out
        effs.append(load_model(model).coulombic_efficiency)
    assert effs[0] == 1.0
    assert effs[1] == pytest.approx(0.97, abs=0.01)
