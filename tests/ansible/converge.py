"""Apply site.yml to a throwaway Debian root (debootstrap + chroot) and report what happened.

Used by tests/ansible/test_converge.py (``make test-ansible``) and runnable by hand::

    python -m tests.ansible.converge            # converge twice, print the recaps and timings

The debootstrap base is made once and kept as a tarball in tests/.cache/ansible/ (gitignored);
downloaded .deb files and the benchgui dependency wheelhouse are cached there too, so only the
first run on a machine pays for the downloads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
HERE = Path(__file__).resolve().parent
CACHE = REPO / "tests" / ".cache" / "ansible"
BASE_TAR = CACHE / "bookworm-base.tar"
MIRROR = os.environ.get("BENCHGUI_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = "python3,python3-apt,systemd,sudo,ca-certificates"
HOST = "bench-chroot"
VENV_BIN = Path(sys.executable).parent

RECAP = re.compile(
    rf"^{re.escape(HOST)}\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)"
)


@dataclass
class Run:
    """One ansible-playbook run: its recap counts, tasks skipped/changed, output and duration."""

    ok: int
    changed: int
    unreachable: int
    failed: int
    skipped: int
    seconds: float
    output: str
    skipped_tasks: list[str] = field(default_factory=list)
    changed_tasks: list[str] = field(default_factory=list)


def sh(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw)  # type: ignore[call-overload]


def base_tarball() -> tuple[Path, float]:
    """The cached debootstrap root as a tarball; made now if missing. Returns (path, seconds spent)."""
    if BASE_TAR.exists():
        return BASE_TAR, 0.0
    t0 = time.monotonic()
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / "base-root"
    shutil.rmtree(work, ignore_errors=True)
    sh(["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm", str(work), MIRROR])
    tmp = BASE_TAR.with_suffix(".tmp")
    sh(["tar", "--numeric-owner", "-C", str(work), "-cf", str(tmp), "."])
    tmp.rename(BASE_TAR)
    shutil.rmtree(work, ignore_errors=True)
    return BASE_TAR, time.monotonic() - t0


def make_root(dest: Path) -> Path:
    """A fresh root from the base tarball, with the apt download cache and no service starts."""
    tar, _ = base_tarball()
    dest.mkdir(parents=True)
    sh(["tar", "--numeric-owner", "-C", str(dest), "-xpf", str(tar)])
    policy = dest / "usr/sbin/policy-rc.d"  # the Debian way to say "no daemons start in here"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    (dest / "etc/resolv.conf").write_text(Path("/etc/resolv.conf").read_text())
    # Trust what this machine trusts (a TLS-inspecting proxy's CA, say), so pip inside reaches PyPI.
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if host_bundle.exists():
        local = dest / "usr/local/share/ca-certificates"
        local.mkdir(parents=True, exist_ok=True)
        shutil.copy(host_bundle, local / "host-trust.crt")
        sh(["chroot", str(dest), "update-ca-certificates"])
    debs = CACHE / "apt-archives"
    if debs.is_dir():
        for deb in debs.glob("*.deb"):
            shutil.copy2(deb, dest / "var/cache/apt/archives" / deb.name)
    return dest


def keep_downloads(root: Path) -> None:
    """Copy the .deb files the run downloaded into the cache for the next run."""
    debs = CACHE / "apt-archives"
    debs.mkdir(parents=True, exist_ok=True)
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        if not (debs / deb.name).exists():
            shutil.copy2(deb, debs / deb.name)


def build_wheel(out: Path) -> Path:
    """benchgui's wheel from this repository, as a user deploying it would build it."""
    out.mkdir(parents=True, exist_ok=True)
    sh([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)])
    (wheel,) = out.glob("benchgui-*.whl")
    return wheel


def _requirements(wheel: Path) -> str:
    """The wheel's Requires-Dist lines: the wheelhouse is rebuilt when they change."""
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        lines = zf.read(meta).decode().splitlines()
    return "\n".join(sorted(ln for ln in lines if ln.startswith("Requires-Dist:") and "extra ==" not in ln))


def wheelhouse(wheel: Path) -> Path:
    """benchgui's dependency wheels for the chroot's Python 3.11, fetched once per set of requirements."""
    house = CACHE / "wheelhouse"
    stamp = house / ".requirements"
    # The role installs with -c constraints.txt: the wheelhouse must hold those versions.
    wanted = _requirements(wheel) + "\n" + (REPO / "constraints.txt").read_text()
    if not stamp.exists() or stamp.read_text() != wanted:
        shutil.rmtree(house, ignore_errors=True)
        house.mkdir(parents=True)
        sh(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--only-binary=:all:",
                "-c",
                str(REPO / "constraints.txt"),
                "-d",
                str(house),
                str(wheel),
            ]
        )
        for own in house.glob("benchgui-*.whl"):
            own.unlink()
        stamp.write_text(wanted)
    return house


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_CONNECTION_PLUGINS=str(HERE / "plugins" / "connection"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_HOST_KEY_CHECKING="0",
        ANSIBLE_PIPELINING="1",
        ANSIBLE_LOCAL_TEMP=str(CACHE / "ansible-tmp"),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def _task_outcomes(output: str) -> tuple[list[str], list[str]]:
    skipped, changed, task = [], [], ""
    for line in output.splitlines():
        m = re.match(r"^(?:TASK|RUNNING HANDLER) \[(.+?)\]", line)
        if m:
            task = m.group(1)
        elif line.startswith(f"skipping: [{HOST}]") and task and (not skipped or skipped[-1] != task):
            skipped.append(task)
        elif line.startswith(f"changed: [{HOST}]") and task and (not changed or changed[-1] != task):
            changed.append(task)
    return skipped, changed


def converge(root: Path, wheel: Path, house: Path, log: Path | None = None) -> Run:
    """One run of site.yml against ``root``."""
    t0 = time.monotonic()
    log = log or CACHE / "last-converge.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:  # written as it runs: `tail -f` it to watch
        proc = subprocess.run(
            [
                str(VENV_BIN / "ansible-playbook"),
                "site.yml",
                "-i",
                str(HERE / "inventory.yml"),
                "--vault-password-file",
                "vault-password.example",
                "-e",
                f"@{HERE / 'converge-vars.yml'}",
                "-e",
                f"ansible_host={root}",
                "-e",
                f"benchgui_wheel={wheel}",
                "-e",
                f"benchgui_wheelhouse={house}",
            ],
            cwd=ANSIBLE_DIR,
            env=ansible_env(),
            text=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=2400,
            check=False,
        )
    seconds = time.monotonic() - t0
    output = log.read_text()
    m = next((RECAP.match(line) for line in output.splitlines() if RECAP.match(line)), None)
    if m is None:
        raise AssertionError(f"no recap for {HOST} (exit {proc.returncode}):\n{output[-6000:]}")
    ok, changed, unreachable, failed, skipped = (int(g) for g in m.groups())
    skipped_tasks, changed_tasks = _task_outcomes(output)
    return Run(ok, changed, unreachable, failed, skipped, seconds, output, skipped_tasks, changed_tasks)


def main() -> int:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="benchgui-converge-") as tmp:
        t0 = time.monotonic()
        _, base_s = base_tarball()
        root = make_root(Path(tmp) / "root")
        prep_s = time.monotonic() - t0
        wheel = build_wheel(Path(tmp) / "dist")
        house = wheelhouse(wheel)
        first = converge(root, wheel, house, Path(tmp) / "first.log")
        keep_downloads(root)
        second = converge(root, wheel, house, Path(tmp) / "second.log")
        print(f"base root: {base_s:.0f} s to make, {prep_s:.0f} s to unpack")
        for name, run in (("first", first), ("second", second)):
            counts = f"ok={run.ok} changed={run.changed} failed={run.failed} skipped={run.skipped}"
            print(f"{name}: {counts} in {run.seconds:.0f} s")
        print("changed in the second run:", second.changed_tasks or "nothing")
        print("skipped in the second run:\n  " + "\n  ".join(second.skipped_tasks))
        if first.failed or second.failed:
            print(first.output[-5000:] if first.failed else second.output[-5000:])
        return 0 if first.failed == 0 and second.failed == 0 and second.changed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
