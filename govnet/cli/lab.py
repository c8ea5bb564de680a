"""``govnet lab up | down | status``: mounted by ``govnet.cli.app`` as the ``lab`` command group.

Exit codes follow the project's contract: 0 ok, 1 an operation failed (a daemon, a device), 2 bad
input or usage (not root, a missing package, an invalid inventory, a lab already up).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govnet.cli.common import console, state_dir, workdir
from govnet.lab.deps import check_all, check_root
from govnet.lab.errors import LabError, LabUsageError

if TYPE_CHECKING:
    from rich.table import Table

lab_app = typer.Typer(
    help="Build, inspect and tear down the emulated governorate (needs root).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = console()
err = console(stderr=True, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``lab`` group to the govnet command line."""
    app.add_typer(lab_app, name="lab")


def _fail(message: str, code: int) -> None:
    for line in message.splitlines():
        err.print(line, markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _options(ctx: typer.Context) -> tuple[Path, str]:
    """Inventory and env from the parent command's context (defaults when run standalone)."""
    obj: Any = ctx.obj
    return Path(getattr(obj, "inventory", "inventory/karbala")), str(getattr(obj, "env", "lab"))


def _load_spec(inventory: Path, env: str) -> Any:
    """The lab spec of the inventory, or exit 2 listing every inventory problem."""
    from govnet.lab.from_model import load_spec
    from govnet.model import InventoryError

    if env != "lab":
        _fail(f"lab: only the lab environment can be emulated, not {env!r}", 2)
    try:
        return load_spec(inventory, env)
    except InventoryError as exc:
        _fail("\n".join([*(str(p) for p in exc.errors), f"{len(exc.errors)} problem(s) found; nothing was built"]), 2)


@lab_app.command()
def up(
    ctx: typer.Context,
    configured: Annotated[
        bool, typer.Option("--configured", help="apply the full rendered configs instead of bootstrap configs")
    ] = False,
) -> None:
    """Build the lab: a namespace, FRR instance and sshd per device, hosts and DC servers, links, management.

    On a running lab: make it follow the inventory (new devices, links, hosts and servers built, those gone
    removed, the rest left running with its configs); `govnet deploy` then brings the new ones in."""
    from govnet.deploy import pushed
    from govnet.lab import engine, sync
    from govnet.lab.state import Lab, lab_username

    start = time.monotonic()

    def progress(message: str) -> None:
        err.print(f"[{time.monotonic() - start:5.1f}s] {message}", markup=False)

    try:
        check_all()
        spec = _load_spec(*_options(ctx))
        running = Lab.load(state_dir())
        if running is not None:
            full = configured or bool(running.configured)
            lab, changes = sync.sync(spec, state_dir(), configured=configured, progress=progress)
            # devices rebuilt or removed run their start-up configs now, not what a deploy last pushed to them
            pushed.forget(workdir(_options(ctx)[1]), changes.new["devices"] | changes.gone["devices"])
            if full and changes.new["devices"]:
                _apply_policy_and_services(spec.network, lab, changes.new["devices"])
            out.print(
                f"lab [bold]{lab.name}[/] follows the inventory ({time.monotonic() - start:.1f} s): "
                f"{changes.summary()}; {len(lab.devices)} devices, {len(lab.hosts)} hosts, {len(lab.servers)} servers"
            )
            if not changes.empty():
                kind = "full configs and their zone policy" if full else "bootstrap configs"
                out.print(f"next: govnet deploy (new devices run {kind} until then)", markup=False)
            return
        pushed.forget(workdir(_options(ctx)[1]))  # a new lab: no device has had a deploy yet
        lab = engine.up(
            spec,
            state_dir(),
            configured=configured,
            progress=progress,
        )
        if configured:
            try:
                _apply_policy_and_services(spec.network, lab)
            except Exception:
                engine.down(state_dir())  # a half-configured lab is worse than none: keep "up" all or nothing
                raise
    except LabUsageError as exc:
        _fail(str(exc), 2)
    except LabError as exc:
        _fail(f"{exc}\nlab: up failed; anything it had built has been removed", 1)
    kind = "full configs" if configured else "bootstrap configs"
    out.print(
        f"lab [bold]{lab.name}[/] up in {time.monotonic() - start:.1f} s: {len(lab.devices)} devices ({kind}), "
        f"{len(lab.hosts)} hosts, {len(lab.servers)} servers"
    )
    if lab.internet.get("routers"):
        hosts = ", ".join(f"{n} {v[1]} ({v[0]})" for n, v in lab.internet.get("hosts", {}).items())
        out.print(f"the Internet: routers {', '.join(lab.internet['routers'])}; hosts {hosts}", markup=False)
    out.print(f"log in: ssh {lab_username()}@<mgmt ip> (password: GOVNET_PASSWORD, lab default in docs/lab.md)")
    out.print(f"known_hosts: {lab.known_hosts}   shell into a device: ip netns exec <netns> bash", markup=False)


def _apply_policy_and_services(network: Any, lab: Any, only: set[str] | None = None) -> None:
    """With full configs: the nftables zone policy on each segment-holding switch (what deploy pushes beside
    the FRR config; on a running lab, on the new devices of *only*) and the DC servers' missing service
    listeners, so `govnet verify` can run right away."""
    from govnet.lab import nsexec
    from govnet.policy import render_nftables
    from govnet.verify import services

    for name, dev in lab.devices.items():
        if only is not None and name not in only:
            continue
        script = render_nftables(network, name)
        if script:
            nsexec.run(nsexec.in_netns(dev.netns, ["nft", "-f", "-"]), stdin=script)
    services.start(network, {k: (v.netns, v.address) for k, v in lab.servers.items()})


@lab_app.command()
def down(ctx: typer.Context) -> None:
    """Remove everything the lab recorded: processes, namespaces, interfaces, files, the login user."""
    from govnet.deploy import pushed
    from govnet.lab import engine

    pushed.forget(workdir(_options(ctx)[1]))  # whatever runs next in its place has had no deploy

    start = time.monotonic()
    try:
        found = engine.down(state_dir(), progress=lambda m: err.print(f"[{time.monotonic() - start:5.1f}s] {m}"))
    except LabUsageError as exc:
        _fail(str(exc), 2)
    except LabError as exc:
        _fail(str(exc), 1)
    if not found:
        out.print(f"no lab recorded in {state_dir()}: nothing to do")
    else:
        out.print(f"lab down in {time.monotonic() - start:.1f} s")


@lab_app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Devices, daemons, sshd and neighbours at a glance; exit 1 when a device is unhealthy."""
    from govnet.lab.health import configs_label, lab_health
    from govnet.lab.state import Lab, StateFile

    try:
        check_root()
    except LabUsageError as exc:
        _fail(str(exc), 2)
    state = StateFile.load(state_dir())
    if state is None or state.data.get("phase") != "up":
        phase = "no lab recorded" if state is None else f"lab {state.data.get('name')} is {state.data.get('phase')}"
        if as_json:
            print(json.dumps({"up": False, "state_dir": str(state_dir()), "detail": phase}))
        else:
            err.print(f"{phase} in {state_dir()}" + ("" if state is None else "; run `govnet lab down` to clean up"))
        raise typer.Exit(1)
    lab = Lab.from_state(state)
    rows = lab_health(lab)
    if as_json:
        doc = {
            "up": True,
            "name": lab.name,
            "configured": lab.configured,
            "configs": configs_label(lab),
            "state_dir": str(lab.state_dir),
            "known_hosts": str(lab.known_hosts),
            "devices": [r.as_dict() for r in rows],
            "hosts": {k: v._asdict() for k, v in lab.hosts.items()},
            "servers": {k: v._asdict() for k, v in lab.servers.items()},
        }
        print(json.dumps(doc, indent=2))
    else:
        out.print(_table(lab, rows, configs_label(lab)))
    if not all(r.ok for r in rows):
        raise typer.Exit(1)


def _table(lab: Any, rows: list[Any], configs: str) -> Table:
    """The at-a-glance table: red where something is down."""
    title = f"lab {lab.name} ({configs}) — {lab.state_dir}"
    from rich.table import Table  # here, not at start-up: validate, plan and render need no table

    table = Table(title=title)
    for col in ("device", "role", "box", "namespace", "mgmt", "daemons", "sshd", "OSPF full", "BGP up"):
        table.add_column(col)

    def mark(ok: bool, text: str) -> str:
        return f"[green]{text}[/]" if ok else f"[red]{text}[/]"

    for r in sorted(rows, key=lambda r: r.name):
        table.add_row(
            r.name,
            r.role,
            "stock" if r.stock else "lab",
            mark(r.netns_ok, r.netns),
            r.mgmt_ip,
            mark(r.daemons_up == r.daemons_total, f"{r.daemons_up}/{r.daemons_total}"),
            mark(r.sshd, "up" if r.sshd else "down"),
            mark(r.ospf_full == r.ospf_total, f"{r.ospf_full}/{r.ospf_total}"),
            mark(r.bgp_up == r.bgp_total, f"{r.bgp_up}/{r.bgp_total}"),
        )
    table.caption = (
        f"{len(lab.hosts)} hosts, {len(lab.servers)} servers; ssh {lab.username}@<mgmt>; box: lab (login to vtysh, "
        "resident helper) or stock (login to a shell, the driver ships its helper)"
    )
    return table
