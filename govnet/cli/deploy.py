"""``govnet deploy | backup | drift | rollback | audit [verify]`` (mounted on the root by ``govnet.cli.app``).

Exit codes: 0 ok, 1 a device or check failed, 2 bad input (one line each).
The device stack (``govnet.deploy.engine``, ``ops``, ``inventory``: NAPALM, Nornir, Netmiko) is imported inside the
commands that talk to devices, so every other command of the CLI starts without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from govnet.cli.common import console, load, workdir
from govnet.deploy.audit import AuditLog
from govnet.model.derived import Network
from govnet.policy import render_nftables

if TYPE_CHECKING:
    from govnet.deploy import engine, ops
    from govnet.verify.run import Outcome

out = console()
err = console(stderr=True)
STYLE = {
    "changed": "green",
    "unchanged": "dim",
    "would-change": "yellow",
    "failed": "red",
    "rolled-back": "red",
    "skipped": "yellow",
}


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _network(ctx: typer.Context) -> Network:
    return load(ctx).network


def _options(ctx: typer.Context, network: Network, **kw: Any) -> engine.DeployOptions:
    from govnet.deploy import engine
    from govnet.deploy.inventory import credentials, known_hosts_file
    from govnet.render import render_device, secrets_from_env

    env = ctx.obj.env
    try:
        creds = credentials(env)
    except ValueError as exc:
        _fail(str(exc))
    if "users" in network.features and creds.username != network.deploy_user:
        _fail(
            f"GOVNET_USERNAME is {creds.username!r}, but the {env} configs render the deploy user "
            f"{network.deploy_user!r}: a replace would delete the login in use (set GOVNET_USERNAME, or "
            f"environments.{env}.deploy_user)"
        )
    known_hosts = known_hosts_file(env)
    if not known_hosts.is_file():
        _fail(f"known_hosts file {known_hosts} does not exist (set GOVNET_KNOWN_HOSTS, or bring the lab up)")
    secret_values = secrets_from_env(network=network)
    return engine.DeployOptions(
        creds=creds,
        known_hosts=known_hosts,
        workdir=workdir(env),
        render=lambda name: render_device(network, name, secret_values),
        policy=lambda name: render_nftables(network, name),
        source=ctx.obj.inventory,
        secrets=tuple(secret_values.values()),
        **kw,
    )


def _names(network: Network, limit: str | None, phase: int | None = None) -> list[str]:
    from govnet.deploy import engine

    try:
        return engine.select(network, _split(limit), phase)
    except ValueError as exc:
        _fail(str(exc))
        raise


def _check_timer(network: Network, names: list[str], seconds: int) -> None:
    """--confirm-timeout must suit the revert timer of every selected device's platform (exit 2, one line)."""
    from govnet.deploy import engine

    for platform in sorted({network.devices[n].platform for n in names}):
        problem = engine.timer_problem(platform, seconds)
        if problem:
            _fail(f"--confirm-timeout: {platform} devices' revert timer {problem}")


def _rendered(network: Network, names: list[str]) -> dict[str, str]:
    """Every selected device's config, rendered before any connection; exit 2 naming each secret still a
    placeholder (one line per device and secret)."""
    from govnet.render import render_device, secret_problems, secret_variable, secrets_from_env, unresolved

    values = secrets_from_env(network=network)
    if bad := secret_problems(values):
        _fail("\n".join(bad))
    configs = {n: render_device(network, n, values) for n in names}
    problems = [
        f"{n}: secret {s!r} is not set ({secret_variable(s)} or the vault)"
        for n, text in configs.items()
        for s in unresolved(text)
    ]
    if problems:
        _fail("\n".join(problems))
    return configs


def _split(limit: str | None) -> list[str] | None:
    return [n.strip() for n in limit.split(",") if n.strip()] if limit else None


def deploy(
    ctx: typer.Context,
    limit: Annotated[str | None, typer.Option("--limit", help="comma-separated device names")] = None,
    phase: Annotated[int | None, typer.Option("--phase", help="only the devices of this rollout phase")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print every diff, change nothing")] = False,
    confirm_timeout: Annotated[
        int, typer.Option("--confirm-timeout", help="revert timer (s; whole minutes on cisco_ios)")
    ] = 120,
    converge_timeout: Annotated[float, typer.Option("--converge-timeout", help="post-check deadline (s)")] = 90,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result on stdout")] = False,
    canary: Annotated[bool, typer.Option("--canary", help="first device of each wave alone first")] = False,
    tolerance: Annotated[int, typer.Option("--tolerance", help="failed devices a wave may have")] = 0,
    show_diff: Annotated[bool, typer.Option("--diff", help="print each device's diff, once per section")] = False,
    wait: Annotated[
        float | None,
        typer.Option("--wait", help="wait up to S seconds for another deploy of this environment to finish"),
    ] = None,
    every: Annotated[
        bool,
        typer.Option("--all", help="connect to every selected device, even those last seen running their render"),
    ] = False,
    then_verify: Annotated[
        bool,
        typer.Option("--verify", help="then, in this run, verify what changed (the lab: as verify --changed)"),
    ] = False,
) -> None:
    """Backup, diff, commit with a revert timer, post-check, confirm or roll back; phase by phase.

    A device last seen running exactly its render (pushed and confirmed, or found unchanged, and not read as
    drifted since) is not connected to: it shows as unchanged (recorded). --all connects to every device.

    One deploy at a time per environment: a second one exits 1 naming the holder, or waits with --wait S.

    --verify (the lab) then runs `verify --changed` in the same process, after a deploy that succeeded: what the
    change since the last passing verify touched; exit 1 if a check fails."""
    from govnet.cli import verify as verifying
    from govnet.deploy import engine
    from govnet.deploy.lock import DeployLocked

    if wait is not None and wait < 0:
        _fail(f"--wait: must be 0 or more seconds, got {wait:g}")
    if tolerance < 0:
        _fail(f"--tolerance: must be 0 or more, got {tolerance}")
    if then_verify and dry_run:
        _fail("--verify: a dry run changes nothing to verify")
    network = _network(ctx)
    lab = verifying.running_lab(network) if then_verify else None  # refused before any device is touched
    names = _names(network, limit, phase)
    _check_timer(network, names, confirm_timeout)
    configs = _rendered(network, names)
    options = _options(  # every refusal (credentials, known_hosts, deploy user) before the progress bar
        ctx,
        network,
        limit=names,
        configs=configs,
        dry_run=dry_run,
        confirm_timeout=confirm_timeout,
        converge_timeout=converge_timeout,
        canary=canary,
        tolerance=tolerance,
        every=every,
    )
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]deploy"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err.real,
        transient=as_json,
    ) as progress:
        bar = progress.add_task("", total=len(names))

        def done(r: engine.DeviceResult) -> None:
            progress.update(bar, advance=1, description=f"{r.device}: {r.status}")

        options.on_done = done
        options.lock_wait = wait
        try:
            report = engine.deploy(network, options)
        except DeployLocked as exc:
            progress.stop()
            err.print(f"deploy: {exc.line()}", markup=False, highlight=False)
            raise typer.Exit(1) from None
    if not as_json:
        _print_report(report, dry_run, show_diff)
    outcome = None
    if lab is not None:
        if report.ok:
            say = (lambda line: err.print(line, markup=False, highlight=False, soft_wrap=True)) if as_json else None
            outcome = verifying.checks(network, lab, changed=True, say=say)
            if outcome is not None:
                verifying.summary(outcome, to=err if as_json else out)
                _audit_verify(report, outcome, network.env)
        else:
            err.print("verify: not run, the deploy did not succeed")
    if as_json:
        result = report.as_dict()
        if lab is not None:
            result["verify"] = outcome.as_dict() if outcome is not None else None
        print(json.dumps(result, indent=2))
    raise typer.Exit(0 if report.ok and (outcome is None or outcome.ok) else 1)


def _audit_verify(report: engine.DeployReport, outcome: Outcome, env: str) -> None:
    """The verify's verdict in the audit trail, under the deploy's run: how many checks, and which failed."""
    from govnet.deploy.audit import who

    failed = [c.name for c in outcome.checks if not c.ok]
    AuditLog(workdir(env) / "audit.jsonl").append(
        run=report.run,
        action="verify",
        user=who(),
        env=env,
        revision=report.revision,
        status="passed" if outcome.ok else "failed",
        scope="changed",
        checks=len(outcome.checks),
        failed=failed[:20],
        error=f"{len(failed)} of {len(outcome.checks)} check(s) failed" if failed else "",
    )


def _print_report(report: engine.DeployReport, dry_run: bool, show_diff: bool) -> None:
    """One line per device with what its diff touches; the diff itself, once per section, with --diff."""
    from govnet.deploy import diffview  # only a deploy prints diffs: every other command skips its import

    views = {r.device: diffview.parse(r.diff) for r in report.results if r.diff}
    if show_diff:
        for r in report.results:
            if r.device in views and (dry_run or r.status != "unchanged"):
                out.rule(f"{r.device}")
                out.print(views[r.device].text(), markup=False, highlight=False)
    from rich.table import Table  # here, not at start-up: validate, plan and render need no table
    from rich.text import Text

    table = Table(title=f"deploy {report.run} ({report.revision[:12]})")
    for col in ("device", "phase", "result", "stage", "changes", "backup", "checks", "s", "error"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        passed = sum(c.ok for c in r.checks)
        table.add_row(
            r.device,
            str(r.phase),
            f"[{STYLE.get(r.status, '')}]{r.status}",
            r.stage,
            views[r.device].summary() if r.device in views else "",
            r.backup or "",
            f"{passed}/{len(r.checks)}" if r.checks else "",
            f"{r.seconds:.1f}",
            Text(r.error),
        )
    out.print(table)
    counts: dict[str, int] = {}
    for r in report.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    if report.halted:
        err.print(f"halted: {report.halted}", markup=False)
    if not dry_run and counts.get("unchanged") == len(report.results):
        err.print(f"nothing to change: all {len(report.results)} devices already run their intended config")
    else:
        err.print(summary)
    recorded = sum(r.stage == "recorded" for r in report.results)
    if recorded:
        err.print(
            f"{recorded} device(s) not connected to: last seen running this render (govnet drift reads them; "
            "--all pushes to every device)"
        )


def backup(
    ctx: typer.Context,
    limit: Annotated[str | None, typer.Option("--limit", help="comma-separated device names")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    archive: Annotated[
        Path | None, typer.Option("--archive", help="then write the latest configs, encrypted, to this file")
    ] = None,
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="the backup server's public key (base64 X25519)")
    ] = None,
) -> None:
    """Save every device's running config under build/<env>/backups/<device>/<id>.cfg.

    With ``--archive``, the latest config of every device (all fetched first) goes into one archive encrypted to
    ``--recipient``, for the backup server (playbooks/config-backups.yml copies it there)."""
    from govnet.deploy import archive as sealed
    from govnet.deploy import ops
    from govnet.deploy.backups import BackupStore

    key = None
    if archive is not None or recipient is not None:
        if archive is None or recipient is None:
            _fail("backup: --archive and --recipient go together")
        try:
            key = sealed.public_key(recipient)
        except ValueError as exc:
            _fail(f"backup: --recipient: {exc}")
    network = _network(ctx)
    names = _names(network, limit)
    options = _options(ctx, network)
    results = ops.backup(network, options, names)
    _print_ops(results, as_json, "backup")
    if not all(r.ok for r in results):
        raise typer.Exit(1)
    if archive is not None and key is not None:  # set together above
        store = BackupStore(options.workdir / "backups")
        latest = [b for b in (store.latest(n) for n in names) if b is not None]
        written = sealed.write(archive, latest, key, ctx.obj.env)
        err.print(f"archive: {written.path} ({written.devices} devices, {written.size} bytes, encrypted)")
    raise typer.Exit(0)


def drift(
    ctx: typer.Context,
    limit: Annotated[str | None, typer.Option("--limit", help="comma-separated device names")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every device whose running config differs from the intended one, with the diff (exit 1 if any)."""
    from govnet.deploy import ops

    network = _network(ctx)
    names = _names(network, limit)
    results = ops.drift(network, _options(ctx, network), names)
    if not as_json:
        for r in results:
            if r.changed:
                out.rule(r.device)
                out.print(r.detail, markup=False, highlight=False)
    _print_ops(results, as_json, "drift")
    drifted = [r.device for r in results if r.changed]
    if not as_json:
        err.print(
            f"{len(drifted)} of {len(results)} device(s) drifted" + (f": {', '.join(drifted)}" if drifted else "")
        )
    raise typer.Exit(0 if all(r.ok and not r.changed for r in results) else 1)


def rollback(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(help="device name")],
    to: Annotated[str | None, typer.Option("--to", help="backup id (default: the latest)")] = None,
    confirm_timeout: Annotated[int, typer.Option("--confirm-timeout")] = 120,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Put a device's backup back (commit confirmed)."""
    from govnet.deploy import ops

    network = _network(ctx)
    if device not in network.devices:
        _fail(f"rollback: unknown device {device!r}")
    _check_timer(network, [device], confirm_timeout)
    try:
        result = ops.rollback(network, _options(ctx, network, confirm_timeout=confirm_timeout), device, to)
    except ValueError as exc:
        _fail(f"rollback: {exc}")
        raise
    _print_ops([result], as_json, "rollback")
    raise typer.Exit(0 if result.ok else 1)


def _print_ops(results: list[ops.OpResult], as_json: bool, what: str) -> None:
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
        return
    from rich.table import Table  # here, not at start-up: validate, plan and render need no table

    table = Table(title=what)
    for col in ("device", "ok", "result", "error"):
        table.add_column(col)
    for r in results:
        shown = (
            ("differs" if r.changed else "in sync") if what == "drift" else r.detail.splitlines()[0] if r.detail else ""
        )
        table.add_row(r.device, "[green]yes" if r.ok else "[red]no", shown, r.error)
    out.print(table)


audit_app = typer.Typer(help="The deploy audit trail.", no_args_is_help=False, pretty_exceptions_enable=False)


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--last", help="show the last N records")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the audit trail (``audit verify`` checks the chain)."""
    if ctx.invoked_subcommand:
        return
    log = AuditLog(workdir(ctx.obj.env) / "audit.jsonl")
    records = list(log.records())[-limit:] if limit > 0 else []
    if as_json:
        print(json.dumps(records, indent=2))
        return
    from rich.table import Table  # here, not at start-up: validate, plan and render need no table

    table = Table(title=str(log.path))
    for col in ("seq", "time", "user", "run", "action", "device", "status", "revision", "error"):
        table.add_column(col)
    import time

    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.get("time", 0)))
        table.add_row(
            str(r.get("seq")),
            when,
            r.get("user", ""),
            r.get("run", ""),
            r.get("action", ""),
            r.get("device", ""),
            r.get("status", ""),
            str(r.get("revision", ""))[:12],
            r.get("error", ""),
        )
    out.print(table)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the hash chain: any edited, removed or truncated record is reported (exit 1)."""
    obj = ctx.parent.obj if ctx.parent is not None and ctx.obj is None else ctx.obj
    log = AuditLog(workdir(obj.env) / "audit.jsonl")
    problems = log.verify()
    for p in problems:
        err.print(f"{log.path}:{p}", markup=False, highlight=False)
    if problems:
        raise typer.Exit(1)
    count = sum(1 for _ in log.records())
    out.print(f"ok: {log.path}: {count} record(s), chain intact")


def register(app: typer.Typer) -> None:
    """Add the deploy commands to the ``govnet`` application."""
    app.command("deploy")(deploy)
    app.command("backup")(backup)
    app.command("drift")(drift)
    app.command("rollback")(rollback)
    app.add_typer(audit_app, name="audit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
