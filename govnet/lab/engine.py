"""Build and tear down a lab: namespaces, veths, bridges, FRR instances, sshds, the login user.

``up`` runs in phases, each recorded in the state file before it touches the system:
shared objects (user, /run/sshd) → per-device files → every namespace and veth in one ``ip -batch``
→ addresses and bridges per namespace (in parallel) → FRR + sshd per device (in parallel).
``down`` reverses it from the records alone, so it also cleans up after a crash.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from govnet.lab import nsexec
from govnet.lab.containers import remove_server_containers
from govnet.lab.deps import check_all
from govnet.lab.errors import LabError, LabUsageError
from govnet.lab.state import REGISTRY, Lab, StateFile, lab_password, lab_username
from govnet.lab.topology import EndpointSpec, LabSpec, NodeSpec, lab_objects, short_ifname
from napalm_frr import helper as frr_helper
from napalm_frr.helper.nft import NFT_ENV
from napalm_frr.helper.paths import PATHSPACE_DIR, PID_NAME, helper_socket

Progress = Callable[[str], None]
FRR_DAEMONS = ("zebra", "bgpd", "ospfd", "staticd", "bfdd")  # bfdd: BFD on the Internet edge's eBGP
SSHD = "/usr/sbin/sshd"
FRRINIT = "/usr/lib/frr/frrinit.sh"
RUN_SSHD = Path("/run/sshd")
NFT = "/usr/sbin/nft"
VTYSH = "/usr/bin/vtysh"
#: Where a lab keeps what its devices run (FRR pathspaces, sshd configs and host keys, the device shell and
#: agent, the interpreter, nft): ``/run/govnet/<prefix>``, root:frr 0750, whatever directory the checkout is in.
RUNTIME_BASE = Path("/run/govnet")
#: Where processes started into a lab's namespaces after ``up`` (the DC servers' service listeners, started by
#: ``govnet.verify.services``) keep their PIDs, as ``<netns>.pid``; ``down`` removes those of its namespaces.
NETNS_PIDS = Path("/run/govnet-verify")
#: The box's own Python (Debian's, a dependency of frr-pythontools): what the device logins and the on-box agent
#: run, linked into the runtime directory as ``bin/python3``; never the controller's virtual environment.
BOX_PYTHON = "/usr/bin/python3"
PYTHON_TOOL = Path("bin/python3")
#: The lab's capability-bearing copy of nft (relative to the runtime directory) and how the agent finds it.
NFT_TOOL = Path("bin/nft")
#: Where ``up`` installs the device login shell and the driver's on-box helper (standard library only),
#: byte-compiled.
AGENT_DIR = Path("agent")
SHELL_MODULES = ("__init__.py", "lab/__init__.py", "lab/device_shell.py")
#: The helper's package on the box: its own modules under a bare ``napalm_frr`` (the driver stays off the box).
HELPER_PACKAGE = Path("napalm_frr/helper")
WORKERS = 8


def _quiet(_: str) -> None:
    """Default progress sink."""


# --------------------------------------------------------------------------------------------- up
def up(
    spec: LabSpec,
    state_dir: Path,
    *,
    configured: bool = False,
    progress: Progress = _quiet,
    rollback: bool = True,
) -> Lab:
    """Build the lab described by ``spec``; on failure tear down what was built and re-raise."""
    check_all()
    state_dir = state_dir.absolute()  # it ends up in /etc/frr links and sshd configs
    problems = spec.problems()
    if problems:
        raise LabUsageError("\n".join(f"lab spec: {p}" for p in problems))
    existing = StateFile.load(state_dir)
    if existing is not None:
        phase = existing.data.get("phase")
        raise LabUsageError(
            f"lab: a lab is already recorded in {state_dir} (phase {phase}); run `govnet lab down` first"
        )
    _check_conflicts(spec)
    state_dir.mkdir(parents=True, exist_ok=True)
    # build/lab may sit under a directory only root can traverse (a clone in /root): nothing a device process
    # reads lives there, only root's own records (state, known_hosts)
    state = StateFile.create(
        state_dir,
        name=spec.name,
        prefix=spec.prefix,
        configured=configured,
        username=lab_username(),
        known_hosts=str(state_dir / "known_hosts"),
        runtime=str(runtime_dir(spec.prefix)),
        started=time.time(),
    )
    try:
        _build(spec, state, configured, progress)
    except BaseException:
        if rollback:
            progress("up failed: removing what was built")
            with contextlib.suppress(Exception):
                down(state_dir)
        raise
    return Lab.from_state(state, spec.network)


def _build(spec: LabSpec, state: StateFile, configured: bool, progress: Progress) -> None:
    """The phases of ``up``; every creation is recorded first."""
    state_dir = state.path.parent
    _register(state)
    progress("login user")
    _ensure_shared(state, lab_username(), lab_password())
    progress("device files")
    _make_runtime(state)
    _install_agent(state)
    _write_files(spec, state, configured)
    _nft_tool(state)
    progress(f"{len(spec.nodes)} device namespaces, {len(spec.endpoints)} host/server namespaces, links")
    _create_links(spec, state)
    _configure_namespaces(spec)
    progress(f"starting {len(spec.nodes)} FRR instances and {len(spec.managed)} sshds")
    start_devices(spec, state)
    state.set(phase="up", ready=time.time(), **facts(spec))
    progress(f"lab {spec.name} up ({state_dir})")


def facts(spec: LabSpec) -> dict[str, Any]:
    """What the state file says about a running lab: the view clients read (``Lab``) and, under ``objects``,
    what ``govnet.lab.sync`` compares with the inventory."""
    managed = {n.name for n in spec.managed}
    return dict(
        objects=lab_objects(spec),
        devices={
            n.name: {
                "name": n.name,
                "netns": spec.netns(n.name),
                "instance": n.name,
                "mgmt_ip": str(n.mgmt.ip),
                "role": n.role,
                "stock": n.stock,
            }
            for n in spec.managed
            if n.mgmt is not None
        },
        hosts={e.name: [spec.endpoint_netns(e), str(e.address.ip)] for e in spec.endpoints if e.kind == "host"},
        servers={e.name: [spec.endpoint_netns(e), str(e.address.ip)] for e in spec.endpoints if e.kind == "server"},
        links=[
            {
                "name": lk.name,
                "a": [lk.a.node, lk.a.interface, str(lk.a.address)],
                "b": [lk.b.node, lk.b.interface, str(lk.b.address)],
            }
            for lk in spec.links
            if lk.a.node in managed and lk.b.node in managed
        ],
        # the emulated Internet (govnet.lab.internet): not the governorate's, so apart from devices and links
        internet={
            "routers": {
                n.name: {"netns": spec.netns(n.name), "instance": n.name, "role": n.role}
                for n in spec.nodes
                if not n.managed
            },
            "hosts": {
                e.name: [spec.endpoint_netns(e), str(e.address.ip)] for e in spec.endpoints if e.kind == "internet"
            },
            "links": [
                {"name": lk.name, "a": [lk.a.node, lk.a.interface], "b": [lk.b.node, lk.b.interface]}
                for lk in spec.links
                if not (lk.a.node in managed and lk.b.node in managed)
            ],
        },
    )


def _check_conflicts(spec: LabSpec) -> None:
    """Refuse to adopt names that exist already: they belong to someone else."""
    taken = [f"namespace {ns}" for ns in _all_netns(spec) if Path(f"/run/netns/{ns}").exists()]
    taken += [
        f"FRR instance {n.name} ({nsexec.FRR_ETC / n.name})"
        for n in spec.nodes
        if os.path.lexists(nsexec.FRR_ETC / n.name)
    ]
    if runtime_dir(spec.prefix).exists():
        taken.append(f"runtime directory {runtime_dir(spec.prefix)}")
    taken += [f"interface {i}" for i in _root_links(spec) if Path(f"/sys/class/net/{i}").exists()]
    if taken:
        more = f" and {len(taken) - 5} more" if len(taken) > 5 else ""
        raise LabError(f"lab: already in use (another lab?): {', '.join(taken[:5])}{more}")
    routes = nsexec.run(["ip", "-4", "route", "show", "match", str(spec.mgmt_gateway.ip)])
    clash = [r for r in routes.splitlines() if not r.startswith("default")]
    if clash:
        raise LabError(f"lab: management range {spec.mgmt_gateway.network} is already routed: {clash[0]}")


def _all_netns(spec: LabSpec) -> list[str]:
    """Every namespace the lab will create."""
    return [spec.netns(n.name) for n in spec.nodes] + [spec.endpoint_netns(e) for e in spec.endpoints]


def _root_links(spec: LabSpec) -> list[str]:
    """Interfaces the lab creates in the root namespace: the bridge and one management port each."""
    return [spec.mgmt_bridge] + [spec.mgmt_port(n.name) for n in spec.managed]


def runtime_dir(prefix: str) -> Path:
    """The runtime directory of the lab whose names start with ``prefix``."""
    return RUNTIME_BASE / prefix


def _runtime(state: StateFile) -> Path:
    """The runtime directory a state records (labs recorded before it existed kept it in the state directory)."""
    return Path(state.data.get("runtime") or state.path.parent)


def _make_runtime(state: StateFile) -> None:
    """``/run/govnet/<prefix>``, root:frr 0750: the FRR daemons (user frr) and the login user (group frr) reach
    it, nobody else does; recorded first so ``down`` removes it, also after a crash."""
    runtime = _runtime(state)
    if not RUNTIME_BASE.exists():
        state.record("dir", {"path": str(RUNTIME_BASE), "shared": True})
        RUNTIME_BASE.mkdir(mode=0o755, exist_ok=True)
    state.record("dir", {"path": str(runtime)})
    runtime.mkdir(mode=0o750)
    os.chown(runtime, 0, grp.getgrnam("frr").gr_gid)
    os.chmod(runtime, 0o750)
    python = runtime / PYTHON_TOOL
    python.parent.mkdir(mode=0o755)
    os.symlink(os.path.realpath(BOX_PYTHON), python)


# ----------------------------------------------------------------------------- shared objects
def _register(state: StateFile) -> None:
    """Note this lab in the registry that decides who removes the shared user and /run/sshd."""
    if not REGISTRY.exists():
        state.record("dir", {"path": str(REGISTRY), "shared": True})
        REGISTRY.mkdir(mode=0o700, exist_ok=True)
    entry = REGISTRY / f"{state.data['prefix']}.lab"
    state.record("file", {"path": str(entry)})
    entry.write_text(str(state.path) + "\n")


def _ensure_shared(state: StateFile, username: str, password: str) -> None:
    """The login user (groups frr + frrvty) and sshd's privilege-separation directory."""
    if not RUN_SSHD.exists():
        marker = REGISTRY / "created-run-sshd"
        state.record("shared", {"what": "run_sshd", "marker": str(marker)})
        marker.touch()
        RUN_SSHD.mkdir(mode=0o755)
    marker = REGISTRY / f"created-user-{username}"
    try:
        pwd.getpwnam(username)
        exists = True
    except KeyError:
        exists = False
    if not exists:
        state.record("shared", {"what": "user", "name": username, "marker": str(marker)})
        marker.touch()
        nsexec.run(["useradd", "-m", "-s", "/bin/sh", "-G", "frr,frrvty", "-c", "govnet lab", username])
    if not exists or marker.exists():
        # SHA-512 (5,000 rounds) rather than the system default yescrypt: every lab login checks the
        # password, and a deploy logs in to each device; this user exists only for the lab.
        nsexec.run(["chpasswd", "-c", "SHA512"], stdin=f"{username}:{password}\n")
    groups = {g.gr_name for g in grp.getgrall() if username in g.gr_mem}
    if not {"frr", "frrvty"} <= groups:
        raise LabError(f"lab: existing user {username} is not in groups frr and frrvty (usermod -aG frr,frrvty)")


def _release_shared(state: StateFile) -> None:
    """Remove shared objects a lab created once no other lab is registered."""
    entries = list(REGISTRY.glob("*.lab")) if REGISTRY.exists() else []
    live = [p for p in entries if _registered_state(p).exists()]
    for stale in set(entries) - set(live):
        stale.unlink(missing_ok=True)  # its lab's state is gone: a lab removed by hand
    if live:
        return
    for rec in state.records("shared") + _orphan_markers():
        marker = Path(rec["marker"])
        if not marker.exists():
            continue
        if rec["what"] == "user":
            nsexec.run(["userdel", "-r", rec["name"]], check=False)
        elif rec["what"] == "run_sshd":
            with contextlib.suppress(OSError):
                RUN_SSHD.rmdir()
        marker.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        REGISTRY.rmdir()  # the last lab out removes it, whichever lab created it


def _registered_state(entry: Path) -> Path:
    """The state file a registry entry points to (a path that does not exist when unreadable)."""
    try:
        return Path(entry.read_text().strip())
    except OSError:
        return Path("/nonexistent")


def _orphan_markers() -> list[dict[str, Any]]:
    """Shared objects created by a lab that went down while another still used them."""
    if not REGISTRY.exists():
        return []
    found: list[dict[str, Any]] = []
    for marker in REGISTRY.glob("created-*"):
        if marker.name == "created-run-sshd":
            found.append({"what": "run_sshd", "marker": str(marker)})
        elif marker.name.startswith("created-user-"):
            found.append({"what": "user", "name": marker.name.removeprefix("created-user-"), "marker": str(marker)})
    return found


# ------------------------------------------------------------------------------------ files
def _write_files(spec: LabSpec, state: StateFile, configured: bool) -> None:
    """Per device: FRR pathspace directory, sshd config and host key; plus the lab's known_hosts."""
    devroot = _runtime(state) / "devices"
    state.record("dir", {"path": str(devroot)})
    devroot.mkdir(exist_ok=True)
    known = device_files(spec.nodes, state, configured)
    Path(state.data["known_hosts"]).write_text("\n".join(known) + "\n")


def device_files(nodes: Iterable[NodeSpec], state: StateFile, configured: bool) -> list[str]:
    """The files of each device (FRR pathspace, sshd config, host key) and its /etc/frr link; returns the
    devices' known_hosts lines."""
    frr_uid, frr_gid = pwd.getpwnam("frr").pw_uid, grp.getgrnam("frr").gr_gid
    vty_gid = grp.getgrnam("frrvty").gr_gid
    devroot = _runtime(state) / "devices"
    nodes = list(nodes)
    known: list[str] = []
    for node in nodes:
        ddir = devroot / node.name
        frr = ddir / "frr"
        frr.mkdir(parents=True, exist_ok=True)
        os.chmod(ddir, 0o755)
        _frr_file(frr / "daemons", _daemons_file(), frr_uid, frr_gid)
        _frr_file(frr / "vtysh.conf", "service integrated-vtysh-config\n", frr_uid, vty_gid)
        config = node.full_config if configured else node.bootstrap_config
        _frr_file(frr / "frr.conf", config, frr_uid, frr_gid)
        os.chown(frr, frr_uid, frr_gid)
        os.chmod(frr, 0o2775)
        if node.mgmt is None:  # the emulated Internet: no login
            continue
        pub = _host_key(ddir / "ssh_host_ed25519_key")
        known.append(f"{node.name},{node.mgmt.ip} {pub}")
        (ddir / "sshd_config").write_text(_sshd_config(node, ddir, lab_username()))
    links = [{"path": str(nsexec.FRR_ETC / n.name), "target": str(devroot / n.name / "frr")} for n in nodes]
    state.record("frr_etc", *links)
    for link in links:
        os.symlink(link["target"], link["path"])
    return known


def _nft_tool(state: StateFile) -> None:
    """A copy of nft carrying CAP_NET_ADMIN, runnable by group frr only: how the unprivileged login user's
    on-box agent applies the zone policy in its device's namespace (nothing else gains the capability;
    ``down`` removes it with the lab directory)."""
    tool = _runtime(state) / NFT_TOOL
    state.record("file", {"path": str(tool)})
    shutil.copyfile(NFT, tool)
    os.chown(tool, 0, grp.getgrnam("frr").gr_gid)
    os.chmod(tool, 0o750)
    nsexec.run(["setcap", "cap_net_admin+ep", str(tool)])


def _frr_file(path: Path, text: str, uid: int, gid: int) -> None:
    """FRR config files: owner frr, group-readable, like the packaged ones."""
    path.write_text(text)
    os.chown(path, uid, gid)
    os.chmod(path, 0o660)


def _daemons_file() -> str:
    """Daemons of every instance; ``-P 0`` because vtysh talks over unix sockets only."""
    lines = [f"{d}=yes" for d in FRR_DAEMONS if d != "zebra"]
    lines += ["vtysh_enable=yes", 'zebra_options="-P 0 -s 90000000"']
    lines += [f'{d}_options="-P 0"' for d in FRR_DAEMONS if d != "zebra"]
    lines += ['frr_profile="traditional"']
    return "\n".join(lines) + "\n"


def _host_key(path: Path) -> str:
    """A fresh ed25519 host key; returns the public line for known_hosts."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    path.with_suffix(".pub").write_bytes(public + b"\n")
    return public.decode()


def _sshd_config(node: NodeSpec, ddir: Path, username: str) -> str:
    """One sshd per device: listens only on its management address, every login lands in vtysh (a stock box's
    login lands in the user's shell)."""
    lab_dir = ddir.parent.parent
    assert node.mgmt is not None
    # an interactive login goes straight to vtysh (no Python start); an agent session to the relay to the
    # resident agent; other requests to the device shell
    force = [
        f'ForceCommand [ -n "$SSH_ORIGINAL_COMMAND" ] || exec {VTYSH} -N {node.name}; '
        f"export {NFT_ENV}={lab_dir / NFT_TOOL}; "
        f'[ "$SSH_ORIGINAL_COMMAND" = "{frr_helper.COMMAND} session" ] && '
        f"exec {relay_command(node.name, lab_dir)}; "
        f"exec {device_shell_command(node.name, lab_dir)}"
    ]
    return "\n".join(
        [
            f"ListenAddress {node.mgmt.ip}:22",
            f"HostKey {ddir / 'ssh_host_ed25519_key'}",
            f"PidFile {ddir / 'sshd.pid'}",
            f"AllowUsers {username}",
            *([] if node.stock else force),
            "UsePAM no",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin no",
            "PermitUserEnvironment no",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "X11Forwarding no",
            "PermitTunnel no",
            "PrintMotd no",
            "PrintLastLog no",
            "MaxStartups 64:30:128",
            "MaxSessions 32",
            "LoginGraceTime 30",
            "LogLevel ERROR",
            "",
        ]
    )


def _install_agent(state: StateFile) -> None:
    """Install what a device login runs (the device shell and the driver's on-box helper) into the lab directory.

    As a white box would have it installed: a copy of the standard-library-only modules, byte-compiled
    so no login recompiles them (the login user cannot write ``__pycache__``), removed with the lab. The
    helper goes in as ``napalm_frr.helper`` under a ``napalm_frr`` package of its own: nothing of the driver
    (or NAPALM) is imported on the box.
    """
    import govnet

    source = Path(govnet.__file__).resolve().parent
    root = _runtime(state) / AGENT_DIR
    state.record("dir", {"path": str(root)})
    for module in SHELL_MODULES:
        target = root / "govnet" / module
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / module, target)
    helper_source = Path(frr_helper.__file__).resolve().parent
    (root / HELPER_PACKAGE).mkdir(parents=True)
    (root / HELPER_PACKAGE.parent / "__init__.py").write_text('"""The FRR driver\'s on-box helper only."""\n')
    for helper_file in sorted(helper_source.glob("*.py")):
        shutil.copyfile(helper_file, root / HELPER_PACKAGE / helper_file.name)
    # compiled by the interpreter that runs them, so its cache tag matches whatever Python the controller uses
    nsexec.run([str(_runtime(state) / PYTHON_TOOL), "-S", "-m", "compileall", "-q", str(root)])
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def device_shell_command(instance: str, lab_dir: Path) -> str:
    """The login command: ``python -S -m govnet.lab.device_shell INSTANCE`` from the lab's agent copy.

    ``-S``: no site-packages, nothing but the standard library (fast, and all the shell needs).
    """
    agent = lab_dir / AGENT_DIR
    return f"env PYTHONPATH={agent} {lab_dir / PYTHON_TOOL} -S -m govnet.lab.device_shell {instance}"


def relay_command(instance: str, lab_dir: Path) -> str:
    """The login command for ``napalm-frr-helper session``: the relay to the resident helper, run as a file
    (``python -S FILE``: no ``-m`` machinery, no device-shell imports; it starts on every agent login)."""
    agent = lab_dir / AGENT_DIR
    return f"env PYTHONPATH={agent} {lab_dir / PYTHON_TOOL} -S {agent / HELPER_PACKAGE / 'relay.py'} {instance}"


def login_python() -> str:
    """The Python a device login runs (through the runtime directory's ``bin/python3``): the box's own, which any
    user can run wherever the controller's virtual environment lives."""
    return os.path.realpath(BOX_PYTHON)


# ------------------------------------------------------------------------------ namespaces
def _create_links(spec: LabSpec, state: StateFile) -> None:
    """Every namespace, the management bridge and every veth, in one ``ip -batch``."""
    namespaces = _all_netns(spec)
    state.record("netns", *({"name": ns} for ns in namespaces))
    state.record("root_link", *({"name": i} for i in [*_root_links(spec)[1:], spec.mgmt_bridge]))
    br = spec.mgmt_bridge
    lines = [f"netns add {ns}" for ns in namespaces]
    lines += [
        f"link add name {br} type bridge forward_delay 0",
        f"addr add {spec.mgmt_gateway} dev {br}",
        f"link set {br} up",
    ]
    for n in spec.managed:
        port = spec.mgmt_port(n.name)
        lines += [
            f"link add {port} type veth peer name mgmt0 netns {spec.netns(n.name)}",
            f"link set {port} master {br}",
            f"link set {port} up",
        ]
    for lk in spec.links:
        lines.append(
            f"link add {lk.a.interface} netns {spec.netns(lk.a.node)} type veth "
            f"peer name {lk.b.interface} netns {spec.netns(lk.b.node)}"
        )
    for ep in spec.endpoints:
        seg = spec.segment(ep.segment)
        lines.append(
            f"link add eth0 netns {spec.endpoint_netns(ep)} type veth "
            f"peer name {port_name(ep)} netns {spec.netns(seg.node)}"
        )
    for seg in spec.segments:
        if not any(ep.segment == seg.key for ep in spec.endpoints):
            stub = short_ifname(f"{seg.interface}-stub")
            lines.append(
                f"link add {stub} netns {spec.netns(seg.node)} type veth "
                f"peer name {short_ifname(stub + 'p')} netns {spec.netns(seg.node)}"
            )
    nsexec.ip_batch(lines)


def port_name(ep: EndpointSpec) -> str:
    """Switch-side name of an endpoint's veth, unique within the switch namespace."""
    return short_ifname(f"{'h' if ep.kind == 'host' else 's'}-{ep.name}")


def _configure_namespaces(spec: LabSpec) -> None:
    """Addresses, bridges, shaping and routes inside each namespace, several namespaces at a time."""
    jobs: list[tuple[str, list[str], list[str]]] = []
    for n in spec.nodes:
        lines = ["link set lo up"]
        if n.mgmt is not None:
            lines += [f"addr add {n.mgmt} dev mgmt0", "link set mgmt0 up"]
        tc: list[str] = []
        for lk in spec.links:
            for end in (lk.a, lk.b):
                if end.node == n.name:
                    lines += [f"addr add {end.address} dev {end.interface}", f"link set {end.interface} up"]
                    if lk.bandwidth_mbps:
                        tc.append(tbf(end.interface, lk.bandwidth_mbps))
        for seg in spec.segments:
            if seg.node != n.name:
                continue
            lines += [
                f"link add name {seg.interface} type bridge forward_delay 0",
                f"addr add {seg.gateway} dev {seg.interface}",
            ]
            ports = [port_name(ep) for ep in spec.endpoints if ep.segment == seg.key]
            if not ports:
                stub = short_ifname(f"{seg.interface}-stub")
                ports = [stub]
                lines.append(f"link set {short_ifname(stub + 'p')} up")
            for port in ports:
                lines += [f"link set {port} master {seg.interface}", f"link set {port} up"]
            lines.append(f"link set {seg.interface} up")
        jobs.append((spec.netns(n.name), lines, tc))
    for ep in spec.endpoints:
        lines = [
            "link set lo up",
            f"addr add {ep.address} dev eth0",
            "link set eth0 up",
            f"route add default via {ep.gateway}",
        ]
        jobs.append((spec.endpoint_netns(ep), lines, []))

    def configure(job: tuple[str, list[str], list[str]]) -> None:
        ns, lines, tc = job
        nsexec.ip_batch(lines, netns=ns)
        nsexec.tc_batch(tc, netns=ns)

    _parallel(configure, jobs)


def tbf(ifname: str, mbps: int) -> str:
    """Token-bucket shaping to the planned bandwidth; burst sized for the kernel's timer."""
    burst = max(32 * 1024, mbps * 1_000_000 // 8 // 250)
    return f"qdisc add dev {ifname} root tbf rate {mbps}mbit burst {burst} latency 50ms"


# ---------------------------------------------------------------------------------- daemons
def start_devices(spec: LabSpec, state: StateFile) -> None:
    """Per device, inside its namespaces: hostname, forwarding, sshd, then FRR (which loads frr.conf)."""
    devroot = _runtime(state) / "devices"
    state.record("frr_run", *({"path": str(nsexec.FRR_RUN / n.name), "instance": n.name} for n in spec.nodes))
    state.record("sshd", *({"pidfile": str(devroot / n.name / "sshd.pid"), "node": n.name} for n in spec.managed))
    lab_dir = _runtime(state)
    user = lab_username()
    # the on-box helper runs as the login user, resident (napalm_frr.helper.server), started like any service
    # from / : ``python -m`` puts the working directory first on sys.path, and a checkout there holds the whole
    # driver package (``napalm_frr``), which the box's bare Python cannot import
    agent = (
        f'cd / && runuser -u "$3" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin USER="$3" LOGNAME="$3" '
        f"PYTHONPATH={lab_dir / AGENT_DIR} {NFT_ENV}={lab_dir / NFT_TOOL} "
        f'setsid -f {lab_dir / PYTHON_TOOL} -S -m napalm_frr.helper "$1" serve </dev/null >/dev/null 2>&1'
    )
    script = (
        f'hostname "$1" && echo 1 > /proc/sys/net/ipv4/ip_forward && {SSHD} -f "$2" && {FRRINIT} start "$1" && {agent}'
    )
    outside = f'hostname "$1" && echo 1 > /proc/sys/net/ipv4/ip_forward && {FRRINIT} start "$1"'
    # a stock box: its sshd (and every login) in a mount namespace of its own where the instance's pathspace
    # directories are FRR's default ones, so plain vtysh, frr-reload and /etc/frr/frr.conf are this device's
    stock = (
        f'hostname "$1" && echo 1 > /proc/sys/net/ipv4/ip_forward && {FRRINIT} start "$1" && '
        f"unshare --mount --propagation private -- /bin/sh -c "
        f'\'mount --bind "$1" {nsexec.FRR_ETC} && mount --bind "$2" {nsexec.FRR_RUN} && exec {SSHD} -f "$3"\' '
        f'sh "$4" "$5" "$2"'
    )

    def start(node: NodeSpec) -> None:
        cfg = devroot / node.name / "sshd_config"
        if node.stock:
            args = [
                stock,
                "sh",
                node.name,
                str(cfg),
                user,
                str(devroot / node.name / "frr"),
                str(nsexec.FRR_RUN / node.name),
            ]
        else:
            args = [script if node.managed else outside, "sh", node.name, str(cfg), user]
        argv = nsexec.in_netns(spec.netns(node.name), ["unshare", "--uts", "--", "/bin/sh", "-c", *args])
        nsexec.run(argv, timeout=180)
        missing = [d for d in ("watchfrr", *FRR_DAEMONS) if not _pid_alive(nsexec.FRR_RUN / node.name / f"{d}.pid")]
        if missing:
            raise LabError(f"lab: device {node.name}: FRR daemons not running: {', '.join(missing)}")

    _parallel(start, list(spec.nodes))
    _wait_agents(spec)


def _wait_agents(spec: LabSpec, timeout: float = 60.0) -> None:
    """Every device's resident on-box helper answers on its socket (it loads and starts what it needs first)."""
    import socket

    waiting = {n.name: helper_socket(n.name) for n in spec.managed if not n.stock}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for name, path in list(waiting.items()):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock, contextlib.suppress(OSError):
                sock.connect(path)
                del waiting[name]
        if waiting:
            time.sleep(0.05)
    if waiting:
        first = sorted(waiting)[0]
        log = Path(helper_socket(first)).with_name("helper.log")
        raise LabError(f"lab: on-box helper not answering on {len(waiting)} device(s), e.g. {first} (see {log})")


def _pid_alive(pidfile: Path) -> bool:
    """True when the pid file names a running process."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    return Path(f"/proc/{pid}").exists()


def _parallel(fn: Callable[[Any], None], items: list[Any]) -> None:
    """Run ``fn`` over items on a few threads (the work is in subprocesses); re-raise the first error."""
    if not items:
        return
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        for fut in [pool.submit(fn, it) for it in items]:
            fut.result()


# ------------------------------------------------------------------------------------ down
def down(state_dir: Path, *, progress: Progress = _quiet) -> bool:
    """Remove everything the state in ``state_dir`` records; False when no lab is recorded there."""
    check_all()
    state_dir = state_dir.absolute()
    state = StateFile.load(state_dir)
    if state is None:
        return False
    namespaces = [r["name"] for r in state.records("netns")]
    try:
        removed = remove_server_containers(namespaces)
    except LabError:
        removed = 0  # tried again once the namespaces are gone, below
    if removed:
        progress(f"removed {removed} server containers")
    progress(f"stopping processes in {len(namespaces)} namespaces")
    stop_netns_processes(namespaces)
    _stop_recorded(state)
    for rec in state.records("frr_etc"):
        if os.path.islink(rec["path"]) and os.readlink(rec["path"]) == rec["target"]:
            os.unlink(rec["path"])
    for rec in state.records("frr_run"):
        shutil.rmtree(rec["path"], ignore_errors=True)
    progress("removing interfaces and namespaces")
    root_links = [r["name"] for r in state.records("root_link") if Path(f"/sys/class/net/{r['name']}").exists()]
    nsexec.ip_batch([f"link del {i}" for i in root_links], force=True)
    existing = [ns for ns in namespaces if Path(f"/run/netns/{ns}").exists()]
    nsexec.ip_batch([f"netns del {ns}" for ns in existing], force=True)
    for rec in state.records("file"):
        Path(rec["path"]).unlink(missing_ok=True)
    for ns in namespaces:  # their processes were stopped with the namespaces' others
        (NETNS_PIDS / f"{ns}.pid").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        NETNS_PIDS.rmdir()  # when no other lab keeps a PID there
    _release_shared(state)
    for rec in reversed(state.records("dir")):
        if rec.get("shared"):
            with contextlib.suppress(OSError):
                Path(rec["path"]).rmdir()
        else:
            shutil.rmtree(rec["path"], ignore_errors=True)
    if state.data.get("runtime"):
        with contextlib.suppress(OSError):
            RUNTIME_BASE.rmdir()  # the last lab out removes it, whichever lab created it
    # a container podman would not remove keeps the lab recorded: `lab down` again retries it
    remove_server_containers(namespaces)
    for name in ("known_hosts", "state.tmp", "verified.json"):  # verified.json: govnet.verify.scope
        (state_dir / name).unlink(missing_ok=True)
    state.path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        state_dir.rmdir()
    progress(f"lab {state.data.get('name')} down")
    return True


def stop_netns_processes(namespaces: Iterable[str], timeout: float = 8.0) -> None:
    """Stop every process inside the given namespaces (ours by construction): TERM, then KILL.

    watchfrr goes first so it does not restart the daemons we are stopping.  Rescans until the
    namespaces are empty because a half-finished ``up`` may still be spawning into them.
    """
    inodes = set()
    for ns in namespaces:
        with contextlib.suppress(OSError):
            inodes.add(os.stat(f"/run/netns/{ns}").st_ino)
    if not inodes:
        return
    deadline = time.monotonic() + timeout
    sig = signal.SIGTERM
    signalled: set[int] = set()
    quiet_rounds = 0
    while quiet_rounds < 2:
        pids = _pids_in(inodes)
        if not pids:
            quiet_rounds += 1
            time.sleep(0.1)
            continue
        quiet_rounds = 0
        if time.monotonic() > deadline:
            sig = signal.SIGKILL
        watchfrr = [p for p in pids if _comm(p) == "watchfrr"]
        for pid in watchfrr + [p for p in pids if p not in watchfrr]:
            if sig == signal.SIGKILL or pid not in signalled:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                signalled.add(pid)
        time.sleep(0.1)
        if time.monotonic() > deadline + 5:
            raise LabError(f"lab: processes would not stop: {sorted(pids)}")


def _stop_recorded(state: StateFile) -> None:
    """Daemons named by recorded pid files that escaped the namespace scan (a namespace deleted by hand).

    A pid only counts when its command line still names the instance or the sshd config, so a
    recycled pid of someone else's process is never signalled.
    """
    targets: list[int] = []
    for rec in state.records("frr_run"):
        for pidfile in Path(rec["path"]).glob("*.pid"):
            targets += _pid_if(pidfile, f"-N\0{rec['instance']}\0".encode())
    for rec in state.records("sshd"):
        targets += _pid_if(Path(rec["pidfile"]), str(Path(rec["pidfile"]).with_name("sshd_config")).encode())
    for rec in state.records("frr_etc"):  # the resident on-box helper (its pid file: "pid start-time")
        instance = Path(rec["path"]).name
        pidfile = Path(rec["path"], PATHSPACE_DIR, PID_NAME)
        targets += _pid_if(pidfile, f"napalm_frr.helper\0{instance}\0serve\0".encode())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in targets):
            time.sleep(0.1)


def _pid_if(pidfile: Path, marker: bytes) -> list[int]:
    """[pid] from a pid file when that process's command line contains ``marker``, else []."""
    try:
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() + b"\0"
    except (OSError, ValueError):
        return []
    return [pid] if marker in cmdline else []


def _pids_in(inodes: set[int]) -> list[int]:
    """PIDs whose network namespace is one of ``inodes``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry.name}/ns/net").st_ino in inodes:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _comm(pid: int) -> str:
    """Process name, or '' when it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
