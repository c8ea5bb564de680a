"""Up and down of synthetic labs: nothing left behind, crash safety, and 80 routers.

These labs use their own prefixes, device names and management range, so they run beside the
session's Karbala lab without touching it.
"""

from __future__ import annotations

import grp
import os
import signal
import site
import subprocess
import sys
import time
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from govnet.lab import engine, nsexec
from govnet.lab.footprint import footprint
from govnet.lab.health import lab_health, ping_pairs
from govnet.lab.state import StateFile, lab_username
from govnet.lab.synthetic import synthetic_spec as _synthetic_spec
from govnet.lab.topology import LabSpec

pytestmark = pytest.mark.lab
#: Not the synthetic default, so these tests run while the benchmark's synthetic lab is up.
TEST_MGMT = IPv4Network("198.18.224.0/20")


def synthetic_spec(count: int, *, prefix: str, names: str) -> LabSpec:
    return _synthetic_spec(count, prefix=prefix, names=names, mgmt=TEST_MGMT)


def _up_down_clean(spec: LabSpec, state_dir: Path) -> None:
    """Up, check every device works, down, and compare the machine with before."""
    before = footprint(spec, state_dir, lab_username())
    lab = engine.up(spec, state_dir)
    try:
        during = before.diff(footprint(spec, state_dir, lab_username()))
        assert len(during["namespaces"]) == len(spec.nodes) + len(spec.endpoints)
        assert len(during["root_links"]) == len(spec.nodes) + 1
        assert during["processes"], "no lab processes found: the footprint would miss leftovers"
        rows = lab_health(lab)
        assert [r.name for r in rows if not r.ok] == []
        assert all("FRRouting" in nsexec.vtysh(d.instance, "show version") for d in lab.devices.values())
        gateways = {e.name: str(e.gateway) for e in spec.endpoints}
        assert ping_pairs([(ep.netns, gateways[name]) for name, ep in lab.hosts.items()]) == []
        # a process started into a namespace after up, its PID file where verify's service listeners keep theirs
        host = next(iter(lab.hosts.values())).netns
        listener = subprocess.Popen(["ip", "netns", "exec", host, "sleep", "600"], start_new_session=True)
        engine.NETNS_PIDS.mkdir(mode=0o755, exist_ok=True)
        pidfile = engine.NETNS_PIDS / f"{host}.pid"
        pidfile.write_text(f"{listener.pid}\n")
        assert str(pidfile) in before.diff(footprint(spec, state_dir, lab_username()))["files"]
    finally:
        engine.down(state_dir)
    assert listener.wait(timeout=10) is not None
    assert before.diff(footprint(spec, state_dir, lab_username())) == {}


def test_down_leaves_nothing_behind(synthetic_state_dir: Path) -> None:
    _up_down_clean(synthetic_spec(4, prefix="gvq", names="lc"), synthetic_state_dir)


def test_configured_synthetic_lab_converges_and_routes(synthetic_state_dir: Path) -> None:
    from govnet.lab.health import wait_ospf_full, wait_reachable

    spec = synthetic_spec(6, prefix="gvq", names="cv")
    lab = engine.up(spec, synthetic_state_dir, configured=True)
    try:
        wait_ospf_full(lab, timeout=60)
        hosts = list(lab.hosts.values())
        wait_reachable([(a.netns, b.address) for a in hosts for b in hosts if a != b], timeout=60)
    finally:
        engine.down(synthetic_state_dir)


def test_crash_halfway_then_down_cleans_everything(synthetic_state_dir: Path) -> None:
    spec = synthetic_spec(16, prefix="gvk", names="cr")
    before = footprint(spec, synthetic_state_dir, lab_username())
    script = (
        "import sys; from pathlib import Path; from govnet.lab import engine; from govnet.lab.synthetic import "
        "synthetic_spec; from ipaddress import IPv4Network as N; engine.up(synthetic_spec(16, prefix='gvk', "
        "names='cr', mgmt=N(sys.argv[2])), Path(sys.argv[1]), rollback=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(synthetic_state_dir), str(TEST_MGMT)])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any((nsexec.FRR_RUN / n.name / "watchfrr.pid").exists() for n in spec.nodes[:4]):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "up finished before it could be killed halfway"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    state = StateFile.load(synthetic_state_dir)
    assert state is not None and state.data["phase"] == "building"
    half = before.diff(footprint(spec, synthetic_state_dir, lab_username()))
    assert half.get("namespaces") and half.get("processes"), "the kill should leave a half-built lab"
    assert engine.down(synthetic_state_dir) is True
    assert before.diff(footprint(spec, synthetic_state_dir, lab_username())) == {}


def _opened_parents(paths: list[str], scratch: str) -> str:
    """Shell lines that, inside a private mount namespace, let an unprivileged user traverse the directories on the
    way to ``paths`` that lack o+x (a checkout in /root): each such directory is covered by a 0755 tmpfs holding only
    the entries on those paths, bind-mounted back at their own places. Nothing changes outside the namespace."""
    blocked: dict[str, set[str]] = {}
    for path in paths:
        parts = Path(path).parts
        for depth in range(1, len(parts) - 1):
            parent = Path(*parts[:depth])
            if not os.stat(parent).st_mode & 0o001:
                blocked.setdefault(str(parent), set()).add(parts[depth])
                break
    lines = [f"mount -t tmpfs gvtest {scratch}"]
    for i, (parent, children) in enumerate(sorted(blocked.items())):
        for j, child in enumerate(sorted(children)):
            lines.append(f"mkdir {scratch}/{i}-{j} && mount --bind {parent}/{child} {scratch}/{i}-{j}")
        lines.append(f"mount -t tmpfs -o mode=0755 gvtest {parent}")
        for j, child in enumerate(sorted(children)):
            lines.append(f"mkdir {parent}/{child} && mount --bind {scratch}/{i}-{j} {parent}/{child}")
    return "\n".join(lines)


def test_not_root_is_usage_error(lab_machine: None, tmp_path: Path) -> None:
    """As an unprivileged user the CLI says so and exits 2 (system Python: the venv's may be unreachable). A
    checkout under a 0700 directory (root's home) is reached through a private mount namespace that opens only the
    way to the checkout and its venv."""
    checkout = Path(engine.__file__).resolve().parents[2]
    command = f"PYTHONPATH={checkout}:{':'.join(site.getsitepackages())} {engine.login_python()}"
    code = "from govnet.cli.lab import lab_app; lab_app(['up'])"
    readable = [f"{checkout}/govnet/__init__.py", *site.getsitepackages()]
    scratch = tmp_path / "mounts"
    scratch.mkdir()
    nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups"
    script = "\n".join(
        [
            "set -e",
            _opened_parents(readable, str(scratch)),
            f"{nobody} test -r {readable[0]} -a -r {readable[-1]} || exit 77",
            f'cd / && exec {nobody} /bin/sh -c \'{command} -c "$1"\' sh "$1"',
        ]
    )
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode == 77:
        pytest.skip(f"the checkout {checkout} or its venv is unreadable to an unprivileged user")
    assert proc.returncode == 2, proc.stderr
    assert "must run as root" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_package_is_named(monkeypatch: pytest.MonkeyPatch, lab_machine: None) -> None:
    """The real check against the real file system, with two packages that cannot be installed added."""
    from govnet.lab import deps
    from govnet.lab.errors import LabUsageError

    monkeypatch.setitem(deps.REQUIRED_PACKAGES, "frr-nonexistent", "/usr/lib/frr/no-such-daemon")
    monkeypatch.setitem(deps.REQUIRED_PACKAGES, "traceroute", "no-such-traceroute")
    with pytest.raises(LabUsageError) as exc:
        deps.check_packages()
    assert str(exc.value) == (
        "lab: missing packages: traceroute, frr-nonexistent — install with: sudo scripts/bootstrap"
    )


@pytest.mark.slow
def test_80_routers_up_and_down_cleanly(synthetic_state_dir: Path) -> None:
    spec = synthetic_spec(80, prefix="gvx", names="s80")
    _up_down_clean(spec, synthetic_state_dir)


def test_down_stops_daemons_of_a_namespace_deleted_by_hand(synthetic_state_dir: Path) -> None:
    spec = synthetic_spec(2, prefix="gvq", names="nd")
    before = footprint(spec, synthetic_state_dir, lab_username())
    engine.up(spec, synthetic_state_dir)
    nsexec.run(["ip", "netns", "del", spec.netns(spec.nodes[0].name)])
    assert nsexec.watchfrr_pid(spec.nodes[0].name) is not None, "its daemons keep running without the name"
    engine.down(synthetic_state_dir)
    assert before.diff(footprint(spec, synthetic_state_dir, lab_username())) == {}


def test_relative_state_dir_works(synthetic_state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/etc/frr links and sshd configs need absolute paths even when the caller passes a relative one."""
    monkeypatch.chdir(synthetic_state_dir.parent)
    spec = synthetic_spec(2, prefix="gvq", names="rl")
    lab = engine.up(spec, Path(synthetic_state_dir.name))
    try:
        assert all("FRRouting" in nsexec.vtysh(d.instance, "show version") for d in lab.devices.values())
        assert lab.known_hosts.is_absolute()
    finally:
        engine.down(Path(synthetic_state_dir.name))
    assert not synthetic_state_dir.exists()


def test_lab_runs_from_a_directory_only_root_can_traverse(lab_machine: None, tmp_path: Path) -> None:
    """A checkout in /root (0700): the state stays there, everything a device runs lives in /run/govnet/<prefix>
    (root:frr 0750), a login reaches vtysh through the device shell, and down removes the runtime directory."""
    import paramiko

    hidden = tmp_path / "home"
    hidden.mkdir(mode=0o700)
    state_dir = hidden / "lab"
    spec = synthetic_spec(2, prefix="gvr", names="rt")
    before = footprint(spec, state_dir, lab_username())
    lab = engine.up(spec, state_dir)
    try:
        runtime = engine.runtime_dir(spec.prefix)
        assert lab.runtime == runtime
        info = runtime.stat()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (0, grp.getgrnam("frr").gr_gid, 0o750)
        assert sorted(p.name for p in state_dir.iterdir()) == ["known_hosts", "state.json"]
        assert os.path.realpath(runtime / engine.PYTHON_TOOL) == os.path.realpath(engine.BOX_PYTHON)
        dev = next(iter(lab.devices.values()))
        client = paramiko.SSHClient()
        client.load_host_keys(str(lab.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(dev.mgmt_ip, username=lab.username, password=lab.password, look_for_keys=False)
        try:
            _, stdout, _ = client.exec_command("show version")
            assert stdout.channel.recv_exit_status() == 0 and "FRRouting" in stdout.read().decode()
        finally:
            client.close()
    finally:
        engine.down(state_dir)
    assert not engine.runtime_dir(spec.prefix).exists()
    assert before.diff(footprint(spec, state_dir, lab_username())) == {}
