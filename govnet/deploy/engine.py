"""The deploy engine: waves of devices, each device backup → check → diff → commit confirmed → post-check.

First every selected device, all in parallel (a Nornir task each):

1. connect (host key checked against known_hosts);
2. load the rendered config as a replace candidate: the device checks every line first, so a bad
   line is refused before anything is applied; on frr devices holding segments the nftables zone
   policy joins the candidate (diffed, committed, reverted and rolled back with the FRR config);
3. back up the running config (napalm_frr returns the one it checked against; else ``get_config``);
4. diff with the driver's ``compare_config``; nothing to change → done ("unchanged");
   ``dry_run`` → stop and report the diff.

Platforms whose platform.yml says so (cisco_ios) differ in three places: the running config is read
first, and the sections the platform preserves (PKI, licence, boot) are copied from it into the
candidate; the diff is hier_config's remediation between the normalised running and candidate configs
(govnet.deploy.iosdiff), not the driver's; and after the post-checks a fresh login must succeed before
the commit is confirmed (a replace can remove the deploy user or close the vty lines).

Then the devices with changes, wave by wave, a wave's devices in parallel:

5. commit with a revert timer (``confirm_timeout``): if this process dies, the device reverts;
6. post-checks (the model's facts of health, ``govnet.model.health``, that the deployed peers allow) until
   they pass or the convergence deadline; pass → (fresh login where the platform asks for one) → confirm,
   fail → roll back to the backup at once. Steps 5-6 are ``commit_confirmed``, which the Pulumi provider
   runs for its one device too.

Waves follow the model's phases (phase 1, with the DC, first). A wave with more failed devices than
``tolerance`` rolls back every device it changed and halts the rollout; a wave whose devices already
failed their checks beyond the tolerance commits nothing. With ``canary`` the first device of each
wave goes alone first. Checking everything first means a rollout with nothing to change takes one
parallel step, and no wave waits on checks. Every device's outcome is appended to the audit trail.

Before step 1, a device whose rendered config and zone policy digest to what it was last seen running
(``govnet.deploy.pushed``: a confirmed push, an empty diff, a drift read without drift, none of it undone since)
is not connected to: it is reported unchanged at stage ``recorded``. ``every`` (``deploy --all``) connects to all.
After the run the record holds what each connected device was seen running, and forgets those that failed,
were rolled back or differ.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nornir.core.task import Result, Task

from govnet.deploy import checks as post
from govnet.deploy import iosdiff, pushed
from govnet.deploy.audit import AuditLog, git_revision, redact, who
from govnet.deploy.backups import BackupStore
from govnet.deploy.inventory import Credentials, build_inventory, hidden_values, nornir_for, open_driver
from govnet.deploy.lock import DeployLock, DeployLocked
from govnet.model.derived import Network
from govnet.model.platform import Platform, load_platform

UNCHANGED, WOULD_CHANGE, CHANGED = "unchanged", "would-change", "changed"
FAILED, ROLLED_BACK, SKIPPED = "failed", "rolled-back", "skipped"
OK_STATUSES = (UNCHANGED, WOULD_CHANGE, CHANGED)


@dataclass
class DeviceResult:
    """What happened to one device in one deploy (also the audit record's body)."""

    device: str
    phase: int
    status: str = FAILED
    stage: str = ""  # where it stopped: connect, backup, check, diff, commit, post-check, fresh-login, confirm, wave
    diff: str = ""
    backup: str | None = None
    checks: list[post.Check] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    committed: bool = False  # the device ran the new config at some point (rollback needed on wave halt)

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "phase": self.phase,
            "status": self.status,
            "stage": self.stage,
            "diff": self.diff,
            "backup": self.backup,
            "checks": [c.as_dict() for c in self.checks],
            "error": self.error,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class DeployOptions:
    """Everything a deploy needs besides the model."""

    creds: Credentials
    known_hosts: Path
    workdir: Path  # build/<env>: backups/ and audit.jsonl live here
    limit: Sequence[str] | None = None
    phase: int | None = None
    dry_run: bool = False
    confirm_timeout: int = 120
    converge_timeout: float = 90.0
    canary: bool = False
    tolerance: int = 0
    workers: int = 40
    connect_timeout: int = 30
    configs: Mapping[str, str] = field(default_factory=dict)  # device → config; rendered when absent
    render: Callable[[str], str] | None = None
    on_done: Callable[[DeviceResult], None] | None = None  # progress display hook
    policy: Callable[[str], str | None] | None = None  # frr device → nftables ruleset
    source: Path = Path()  # a directory inside the git checkout of the inventory: the audit log's revision
    lock_wait: float | None = None  # seconds to wait for another deploy of the environment; None: refuse at once
    secrets: tuple[str, ...] = ()  # secret values the configs carry (routing keys …): masked in errors and diffs
    every: bool = False  # connect to every selected device, even those the pushed record vouches for (--all)


@dataclass
class Wave:
    phase: int
    devices: list[str]


@dataclass
class DeployReport:
    run: str
    revision: str
    results: list[DeviceResult]
    halted: str = ""

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and not self.halted

    @property
    def changed(self) -> int:
        return sum(r.status == CHANGED for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "revision": self.revision,
            "ok": self.ok,
            "halted": self.halted,
            "changed": self.changed,
            "devices": [r.as_dict() for r in self.results],
        }


def select(network: Network, limit: Sequence[str] | None, phase: int | None) -> list[str]:
    """Devices to deploy; ValueError naming an unknown device or phase."""
    if phase is not None and phase not in {p.id for p in network.phases}:
        known = ", ".join(str(p.id) for p in network.phases)
        raise ValueError(f"--phase: no phase {phase} (phases: {known})")
    names = list(network.devices)
    if limit:
        unknown = [n for n in limit if n not in network.devices]
        if unknown:
            raise ValueError(f"--limit: unknown device(s): {', '.join(unknown)}")
        names = [n for n in names if n in set(limit)]
    if phase is not None:
        names = [n for n in names if network.devices[n].phase == phase]
    return names


def waves(network: Network, names: Sequence[str]) -> list[Wave]:
    """One wave per phase in the model's order; within a wave, the model's device order (DC first)."""
    order = [p.id for p in network.phases]
    extra = sorted({network.devices[n].phase for n in names} - set(order))
    return [
        Wave(pid, [n for n in names if network.devices[n].phase == pid])
        for pid in order + extra
        if any(network.devices[n].phase == pid for n in names)
    ]


def steps(wave: Wave, canary: bool) -> list[list[str]]:
    """The canary alone first (when asked and the wave has more than one device), then the rest."""
    if canary and len(wave.devices) > 1:
        return [wave.devices[:1], wave.devices[1:]]
    return [wave.devices]


class Deployer:
    """One deploy run."""

    def __init__(self, network: Network, options: DeployOptions) -> None:
        self.network = network
        self.opt = options
        self.run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)
        self.revision = git_revision(options.source)
        self.store = BackupStore(options.workdir / "backups")
        self.audit = AuditLog(options.workdir / "audit.jsonl")
        self.lock = threading.Lock()
        self.hidden = hidden_values(options.creds) + tuple(s for s in options.secrets if not s.startswith("<vault:"))

    def platform(self, name: str) -> Platform:
        return load_platform(self.network.devices[name].platform)

    def reads_running_first(self, name: str) -> bool:
        """The running config is needed to build the candidate or to decide the diff (before any load)."""
        deploy = self.platform(name).deploy
        return bool(deploy.preserve) or deploy.diff == "hier_config"

    def candidate(self, name: str, running: str | None) -> str:
        """The config to push: rendered, plus the sections the platform preserves copied from *running*."""
        config = self.config_for(name)
        patterns = self.platform(name).deploy.preserve
        if patterns and running is not None:
            config = iosdiff.with_preserved(config, running, patterns)
        return config

    def diff(self, driver: Any, name: str, running: str, candidate: str) -> str:
        """What would change: the driver's own diff, or hier_config's remediation where the platform says so."""
        return redact(device_diff(driver, self.network.devices[name].platform, running, candidate), self.hidden)

    def commit(self, driver: Any, name: str, message: str, revert_in: int) -> None:
        commit(driver, self.network.devices[name].platform, message, revert_in)

    def fresh_login(self, name: str) -> str:
        """Where the platform asks: a new SSH login with the deploy's credentials; '' when it works, else why not."""
        device = self.network.devices[name]
        why = fresh_login(
            device.platform, str(device.mgmt.ip), self.opt.creds, self.opt.known_hosts, self.opt.connect_timeout
        )
        return redact(why, self.hidden)

    def config_for(self, name: str) -> str:
        if name in self.opt.configs:
            return self.opt.configs[name]
        if self.opt.render is None:
            raise ValueError(f"{name}: no config given and no renderer")
        return self.opt.render(name)

    def load(self, driver: Any, name: str, config: str | None = None) -> str | None:
        """Load the device's replace candidate (*config*, else the rendered one), with its nftables zone policy
        where it has one (frr devices holding segments: checked and diffed in the same request). Returns the
        running config the driver compared against when it reports one (napalm_frr), else None."""
        config = self.config_for(name) if config is None else config
        ruleset = self.opt.policy(name) if self.opt.policy is not None and hasattr(driver, "load_policy") else None
        if ruleset:
            driver.load_replace_candidate(config=config, policy=ruleset)
        else:
            driver.load_replace_candidate(config=config)
        running: str | None = getattr(driver, "running_at_load", None)
        return running

    def run(self, names: Sequence[str]) -> DeployReport:
        """Deploy *names* wave by wave; halts after a wave that failed beyond the tolerance."""
        report = DeployReport(self.run_id, self.revision, [])
        plan = waves(self.network, names)
        digests = {n: self.digest(n) for n in names}
        record = {} if self.opt.every else pushed.load(self.opt.workdir)
        recorded = {n: self._recorded(n) for n in names if record.get(n) == digests[n]}
        connect = [n for n in names if n not in recorded]
        nr = nornir_for(
            build_inventory(self.network, connect, self.opt.creds, self.opt.known_hosts, self.opt.connect_timeout),
            self.opt.workers,
        )
        try:
            checked = {**recorded, **(self._check_all(nr, connect) if connect else {})}
            for index, wave in enumerate(plan):
                done = [checked[n] for n in wave.devices if checked[n].status != WOULD_CHANGE or self.opt.dry_run]
                pending = [n for n in wave.devices if checked[n] not in done]
                if report.halted:
                    report.results += [self._skipped(checked[n], report.halted) for n in pending] + done
                    continue
                failed_checks = sum(not r.ok for r in done)
                if failed_checks > self.opt.tolerance:
                    why = f"phase {wave.phase}: {failed_checks} device(s) failed their checks"
                    report.halted = f"{why} (tolerance {self.opt.tolerance})"
                    report.results += done + [self._skipped(checked[n], report.halted) for n in pending]
                    continue
                later = {n for w in plan[index + 1 :] for n in w.devices}
                results = done + self._wave(nr, Wave(wave.phase, pending), later, checked, failed_checks)
                report.results += results
                failed = [r for r in results if not r.ok and r.status != SKIPPED]  # skipped: after a failed canary
                if len(failed) > self.opt.tolerance:
                    report.halted = (
                        f"phase {wave.phase}: {len(failed)} device(s) failed (tolerance {self.opt.tolerance})"
                    )
                    self._roll_back_wave(nr, results, report.halted)
        finally:
            nr.close_connections()
        order = {n: i for i, n in enumerate(n for w in plan for n in w.devices)}
        report.results.sort(key=lambda r: order[r.device])
        seen = [r for r in report.results if r.device not in recorded]
        pushed.update(
            self.opt.workdir,
            {r.device: digests[r.device] for r in seen if r.status in (UNCHANGED, CHANGED)},
            forget=[r.device for r in seen if r.status not in (UNCHANGED, CHANGED)],
        )
        self.audit.extend([self._record(r) for r in report.results])
        return report

    def digest(self, name: str) -> str:
        """What a deploy would push to *name*, as the pushed record's digest (a changed secret changes it too)."""
        ruleset = self.opt.policy(name) if self.opt.policy is not None else None
        return pushed.digest(self.config_for(name), ruleset)

    def _recorded(self, name: str) -> DeviceResult:
        """A device the pushed record vouches for: unchanged, not connected to."""
        result = DeviceResult(name, self.network.devices[name].phase, status=UNCHANGED, stage="recorded")
        self._done(result)
        return result

    def _check_all(self, nr: Any, names: Sequence[str]) -> dict[str, DeviceResult]:
        """Steps 1-4 on every device at once: connect, check, back up, diff."""
        outcome = nr.filter(filter_func=lambda h: h.name in set(names)).run(task=self._check_task, on_failed=True)
        return {n: outcome[n][0].result for n in names}

    def _wave(
        self, nr: Any, wave: Wave, later: set[str], checked: Mapping[str, DeviceResult], failed_before: int
    ) -> list[DeviceResult]:
        results: list[DeviceResult] = []
        parts = steps(wave, self.opt.canary)
        for i, part in enumerate(parts):
            if not part:
                continue
            pending = later | {n for p in parts[i + 1 :] for n in p}
            failed = failed_before + sum(not r.ok for r in results)
            if failed > self.opt.tolerance:
                results += [self._skipped(checked[n], "canary failed") for n in part]
                continue
            expected = {n for n, d in self.network.devices.items() if d.phase <= wave.phase and n not in pending}
            moving = frozenset(n for n in part if not policy_only(checked[n].diff))
            targets = nr.filter(filter_func=lambda h, part=tuple(part): h.name in part)
            outcome = targets.run(
                task=self._commit_task, checked=checked, expected=frozenset(expected), moving=moving, on_failed=True
            )
            results += [outcome[n][0].result for n in part]
        return results

    def _skipped(self, checked: DeviceResult, why: str) -> DeviceResult:
        """Not committed because of *why*; keeps what the check found (backup, diff)."""
        checked.status, checked.stage, checked.error = SKIPPED, "wave", why
        return checked

    def _check_task(self, task: Task) -> Result:
        """Nornir task: steps 1-4; never raises (the result says what happened)."""
        name = task.host.name
        result = DeviceResult(name, self.network.devices[name].phase)
        start = time.monotonic()
        try:
            self._check_one(task, result)
        except Exception as exc:
            result.error = redact(_one_line(exc), self.hidden)
            result.status = FAILED
        result.seconds = time.monotonic() - start
        if result.status != WOULD_CHANGE or self.opt.dry_run:
            self._done(result)
        return Result(host=task.host, result=result, failed=not result.ok)

    def _commit_task(
        self, task: Task, checked: Mapping[str, DeviceResult], expected: frozenset[str], moving: frozenset[str]
    ) -> Result:
        """Nornir task: steps 5-6 for a checked device; never raises. A device whose change is its zone policy
        alone keeps its routing config: its post-checks leave out the facts that depend on *moving* (the devices
        committing routing changes beside it), which their own post-checks and verify cover."""
        result = checked[task.host.name]
        start = time.monotonic()
        if policy_only(result.diff):
            expected -= moving
        try:
            self._commit_one(task, result, expected)
        except Exception as exc:
            result.error = redact(_one_line(exc), self.hidden)
            if result.committed:
                self._rollback(task, result, f"{result.stage} failed")
            else:
                result.status = FAILED
        result.seconds += time.monotonic() - start
        self._done(result)
        return Result(host=task.host, result=result, failed=not result.ok)

    def _done(self, result: DeviceResult) -> None:
        if self.opt.on_done is not None:
            with self.lock:
                self.opt.on_done(result)

    def _check_one(self, task: Task, result: DeviceResult) -> None:
        name = result.device
        result.stage = "connect"
        driver = task.host.get_connection("napalm", task.nornir.config)
        if self.reads_running_first(name):
            result.stage = "backup"
            running = driver.get_config(retrieve="running")["running"]
            result.backup = self.store.save(name, running).id
            candidate = self.candidate(name, running)
            result.stage = "check"
            self.load(driver, name, candidate)
        else:
            candidate = self.config_for(name)
            result.stage = "check"
            loaded = self.load(driver, name, candidate)  # the box parses the candidate before anything is saved
            result.stage = "backup"
            running = loaded if loaded is not None else driver.get_config(retrieve="running")["running"]
            result.backup = self.store.save(name, running).id
        result.stage = "diff"
        diff = self.diff(driver, name, running, candidate)
        result.diff = diff
        if not diff.strip():
            driver.discard_config()
            result.status = UNCHANGED
            return
        if self.opt.dry_run:
            driver.discard_config()
        result.status = WOULD_CHANGE  # the candidate stays loaded for the commit

    def _commit_one(self, task: Task, result: DeviceResult, expected: frozenset[str]) -> None:
        name = result.device
        driver = task.host.get_connection("napalm", task.nornir.config)
        plan = post.plan_for(self.network, self.network.devices[name], expected)
        commit_confirmed(
            driver,
            self.network.devices[name].platform,
            result,
            message=f"govnet deploy {self.run_id}",
            revert_in=self.opt.confirm_timeout,
            post_check=lambda d: post.wait_checks(d, plan, time.monotonic() + self.opt.converge_timeout),
            login=lambda: self.fresh_login(name),
            hidden=self.hidden,
        )

    def _rollback(self, task: Task, result: DeviceResult, why: str) -> None:
        """Back to the pre-change config now (the device's own timer would do it too, later)."""
        roll_back(task.host.get_connection("napalm", task.nornir.config), result, why, self.hidden)

    def _roll_back_wave(self, nr: Any, results: list[DeviceResult], why: str) -> None:
        """Undo every device of a halted wave that runs the new config."""
        changed = {r.device: r for r in results if r.status == CHANGED}
        if not changed:
            return
        targets = nr.filter(filter_func=lambda h: h.name in changed)

        def undo(task: Task) -> Result:
            self._rollback(task, changed[task.host.name], f"wave halted: {why}")
            return Result(host=task.host)

        targets.run(task=undo, on_failed=True)
        for r in changed.values():
            r.stage = "wave"

    def _record(self, result: DeviceResult) -> dict[str, Any]:
        """The audit record of one device's outcome."""
        return {
            "run": self.run_id,
            "action": "dry-run" if self.opt.dry_run else "deploy",
            "user": who(),
            "env": self.network.env,
            "revision": self.revision,
            **result.as_dict(),
        }


POLICY_DIFF_HEAD = "--- nftables (running)"


def policy_only(diff: str) -> bool:
    """The diff changes the nftables zone policy and nothing of the routing config (napalm_frr's compare_config
    puts the FRR lines first, then the policy's unified diff under this head)."""
    return diff.lstrip().startswith(POLICY_DIFF_HEAD)


def commit_confirmed(
    driver: Any,
    platform: str,
    result: DeviceResult,
    *,
    message: str,
    revert_in: int,
    post_check: Callable[[Any], list[post.Check]],
    login: Callable[[], str],
    hidden: tuple[str, ...] = (),
) -> DeviceResult:
    """Steps 5-6 for one device whose candidate is loaded: commit with a revert timer, *post_check*, *login* (a
    fresh login where the platform asks: '' when it works, else why not), confirm; roll back at once when any of
    them fails. The one commit loop: `govnet deploy` runs it per device of a wave, the Pulumi provider per stanza.
    Never raises: *result* says what happened (status, stage, checks, error)."""
    try:
        result.status, result.stage = FAILED, "commit"
        commit(driver, platform, message, revert_in)
        result.committed = True
        result.stage = "post-check"
        result.checks = post_check(driver)
        bad = [c for c in result.checks if not c.ok]
        if bad:
            result.error = "post-check failed: " + "; ".join(f"{c.kind} {c.subject}: {c.detail}" for c in bad[:5])
            roll_back(driver, result, "post-check failed", hidden)
            return result
        result.stage = "fresh-login"
        lost = redact(login(), hidden)
        if lost:
            result.error = f"management access lost after the change: {lost}"
            roll_back(driver, result, result.error, hidden)
            return result
        result.stage = "confirm"
        driver.confirm_commit()
        result.status, result.stage = CHANGED, "done"
    except Exception as exc:
        result.error = redact(_one_line(exc), hidden)
        if result.committed:
            roll_back(driver, result, f"{result.stage} failed", hidden)
        else:
            result.status = FAILED
    return result


def roll_back(driver: Any, result: DeviceResult, why: str, hidden: tuple[str, ...] = ()) -> None:
    """Back to the pre-change config now (the device's own timer would do it too, later)."""
    try:
        driver.rollback()
        result.status = ROLLED_BACK
        if not result.error:
            result.error = why
    except Exception as exc:
        result.status = FAILED
        failure = redact(_one_line(exc), hidden)
        result.error = f"{result.error or why}; rollback failed ({failure}): the device reverts at its timer"


def commit(driver: Any, platform: str, message: str, revert_in: int | None) -> None:
    """commit_config with a revert timer, the message only where the platform's commit takes one (napalm ios
    raises for any message; the run id is in the audit trail either way)."""
    if message and load_platform(platform).deploy.commit_message:
        driver.commit_config(message=message, revert_in=revert_in)
    else:
        driver.commit_config(revert_in=revert_in)


def device_diff(driver: Any, platform: str, running: str, candidate: str) -> str:
    """What a replace with *candidate* (already loaded) would change: the driver's own diff, or hier_config's
    remediation between the normalised *running* and *candidate* where the platform decides that way."""
    if load_platform(platform).deploy.diff == "hier_config":
        return iosdiff.remediation(running, candidate)
    return str(driver.compare_config())


def timer_problem(platform: str, seconds: int) -> str | None:
    """Why *seconds* is no revert timer for *platform* (IOS: whole minutes), or None."""
    return load_platform(platform).deploy.revert_timer.problem(seconds)


def fresh_login(platform: str, hostname: str, creds: Credentials, known_hosts: Path, timeout: int = 30) -> str:
    """Where the platform asks for it (a config can lock its own deployer out): a new login with *creds* and a
    live session, checked before a commit is confirmed. '' when it works or the platform does not ask; else why."""
    if not load_platform(platform).deploy.fresh_login_before_confirm:
        return ""
    try:
        driver = open_driver(platform, hostname, creds, known_hosts, timeout)
        driver.open()
        try:
            alive = driver.is_alive().get("is_alive")
        finally:
            driver.close()
    except Exception as exc:
        return _one_line(exc)
    return "" if alive else "the new session is not alive"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:500]


def deploy(network: Network, options: DeployOptions) -> DeployReport:
    """Select, then deploy wave by wave (ValueError for bad selections, before any connection)."""
    names = select(network, options.limit, options.phase)
    if not names:
        raise ValueError("nothing selected: no device matches --limit/--phase")
    deployer = Deployer(network, options)
    if options.dry_run:  # changes nothing: no lock
        return deployer.run(names)
    try:
        with DeployLock(options.workdir, deployer.run_id, who(), options.lock_wait):
            return deployer.run(names)
    except DeployLocked as exc:
        deployer.audit.append(
            run=deployer.run_id,
            action="deploy",
            user=who(),
            env=network.env,
            revision=deployer.revision,
            status="refused",
            error=exc.line(),
        )
        raise
