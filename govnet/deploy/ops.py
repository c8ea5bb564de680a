"""Backup, drift and rollback: the deploy engine's connections without a full deploy."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nornir.core.task import Result, Task

from govnet.deploy import pushed
from govnet.deploy.audit import redact
from govnet.deploy.engine import Deployer, DeployOptions, _one_line
from govnet.model.derived import Network


@dataclass
class OpResult:
    device: str
    ok: bool
    detail: str = ""  # backup id, diff, …
    error: str = ""
    changed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "ok": self.ok,
            "changed": self.changed,
            "detail": self.detail,
            "error": self.error,
        }


def _run(
    network: Network, options: DeployOptions, names: Sequence[str], body: Callable[[Deployer, Any, str], OpResult]
) -> list[OpResult]:
    """Run *body(deployer, driver, name)* on every device in parallel; failures become results."""
    from govnet.deploy.inventory import build_inventory, nornir_for

    deployer = Deployer(network, options)
    nr = nornir_for(
        build_inventory(network, names, options.creds, options.known_hosts, options.connect_timeout), options.workers
    )

    def task(t: Task) -> Result:
        try:
            res = body(deployer, t.host.get_connection("napalm", t.nornir.config), t.host.name)
        except Exception as exc:
            res = OpResult(t.host.name, False, error=redact(_one_line(exc), deployer.hidden))
        return Result(host=t.host, result=res, failed=not res.ok)

    try:
        out = nr.run(task=task, on_failed=True)
    finally:
        nr.close_connections()
    return [out[n][0].result for n in names]


def backup(network: Network, options: DeployOptions, names: Sequence[str]) -> list[OpResult]:
    """Save every device's running config (a new file only when it changed since the last one)."""

    def body(d: Deployer, driver: Any, name: str) -> OpResult:
        saved = d.store.save(name, driver.get_config(retrieve="running")["running"])
        return OpResult(name, True, detail=saved.id)

    return _run(network, options, names, body)


def drift(network: Network, options: DeployOptions, names: Sequence[str]) -> list[OpResult]:
    """Running vs intended per device (FRR config and nftables policy): ``changed`` with the diff when they differ.

    Where the platform decides with hier_config (cisco_ios) nothing is loaded: the running config is read and
    compared, normalised, with the candidate a deploy would push (preserved sections included)."""

    def body(d: Deployer, driver: Any, name: str) -> OpResult:
        if d.platform(name).deploy.diff == "hier_config":
            running = driver.get_config(retrieve="running")["running"]
            diff = d.diff(driver, name, running, d.candidate(name, running))
        else:
            d.load(driver, name)
            diff = d.diff(driver, name, "", "")
            driver.discard_config()
        return OpResult(name, True, detail=diff, changed=bool(diff.strip()))

    results = _run(network, options, names, body)
    deployer = Deployer(network, options)
    pushed.update(  # a read: what matches the render is vouched for, what drifted (or could not be read) is not
        options.workdir,
        {r.device: deployer.digest(r.device) for r in results if r.ok and not r.changed},
        forget=[r.device for r in results if not r.ok or r.changed],
    )
    return results


def rollback(network: Network, options: DeployOptions, name: str, backup_id: str | None) -> OpResult:
    """Put a backup back (latest by default), commit confirmed, confirm once the device answers again (and, where
    the platform asks, once a fresh login works)."""
    from govnet.render import unresolved

    deployer = Deployer(network, options)
    target = deployer.store.get(name, backup_id)  # ValueError before any connection
    text = target.text()
    missing = unresolved(text)
    if missing:
        raise ValueError(f"backup {target.id} of {name} holds unresolved secret(s): {', '.join(missing)}")

    backups: dict[str, str] = {}

    def body(d: Deployer, driver: Any, dev: str) -> OpResult:
        if d.reads_running_first(dev):
            before = driver.get_config(retrieve="running")["running"]
            driver.load_replace_candidate(config=text)
        else:
            driver.load_replace_candidate(config=text)
            before = getattr(driver, "running_at_load", None) or driver.get_config(retrieve="running")["running"]
        backups[dev] = d.store.save(dev, before).id
        diff = d.diff(driver, dev, before, text)
        if not diff.strip():
            driver.discard_config()
            return OpResult(dev, True, detail=f"already running backup {target.id}")
        d.commit(driver, dev, f"govnet rollback to {target.id}", options.confirm_timeout)
        if not driver.is_alive().get("is_alive"):
            raise RuntimeError("device stopped answering after the rollback; it reverts at its timer")
        lost = d.fresh_login(dev)
        if lost:
            driver.rollback()
            raise RuntimeError(f"management access lost after the change: {lost}; rolled back")
        driver.confirm_commit()
        return OpResult(dev, True, detail=diff, changed=True)

    result = _run(network, options, [name], body)[0]
    pushed.forget(options.workdir, [name])  # it runs a backup now, not (known to be) the render
    deployer.audit.append(  # every outcome, a failure (unreachable, refused, no answer) included
        run=deployer.run_id,
        action="rollback",
        user=_who(),
        env=network.env,
        revision=deployer.revision,
        device=name,
        status="failed" if not result.ok else "changed" if result.changed else "unchanged",
        to=target.id,
        backup=backups.get(name),
        diff=result.detail if result.changed else "",
        error=result.error,
        time_done=time.time(),
    )
    return result


def _who() -> str:
    from govnet.deploy.audit import who

    return who()
