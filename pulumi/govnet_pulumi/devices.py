"""The only module that talks to routers: push, diff and read one configuration stanza through NAPALM.

It uses NAPALM's driver contract (`napalm_frr` for FRR, NAPALM's own `ios` for cisco_ios): the stanza is spliced
into the running config and loaded as a replace candidate, and from there `govnet deploy`'s engine does the rest
for one device, so a device is reached one way whichever tool pushes: the driver and its arguments
(`govnet.deploy.inventory.open_driver`: platform.yml, strict host keys, the enable secret), the diff on platforms
that decide it with hier_config (`engine.device_diff`), the revert timer's unit (`engine.timer_problem`), and the
engine's own commit loop (`engine.commit_confirmed`: commit with a revert timer and no message where the platform
takes none, post-check, fresh login where the platform asks, confirm or roll back). What is the provider's own is
the unit, a stanza, and so its post-check (`stanza_converged`: the stanza runs as intended and the interface
carries its address). The provider only calls `stanza_diff`, `push_stanza` and `read_stanza`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Interface
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govnet_pulumi import sections

if TYPE_CHECKING:
    from govnet.deploy.checks import Check
    from govnet.deploy.inventory import Credentials

#: A post-check gets the open driver, the stanza header and the intended stanza; it returns problems ([] = ok).
PostCheck = Callable[[Any, str, str], list[str]]


class DeviceError(RuntimeError):
    """A push that did not converge (the device was rolled back) or a device that could not be reached."""


@dataclass(frozen=True)
class Target:
    """How to reach one router: its management address and the lab's or the operator's SSH trust."""

    device: str
    host: str
    platform: str
    username: str
    password: str
    known_hosts: str = ""
    timeout: int = 30

    def __repr__(self) -> str:  # never print the password, even in a traceback
        return f"Target(device={self.device!r}, host={self.host!r}, platform={self.platform!r})"


@dataclass(frozen=True)
class Pushed:
    """What a push did: the diff the device applied ("" when nothing had to change) and the stanza now running."""

    diff: str
    running: str


def known_hosts(target: Target) -> Path:
    """The file host keys are checked against: the target's, else the operator's own."""
    return Path(target.known_hosts or "~/.ssh/known_hosts").expanduser()


def credentials(target: Target) -> Credentials:
    from govnet.deploy.inventory import Credentials

    return Credentials(target.username, target.password)


def open_driver(target: Target) -> Any:
    """The deploy engine's NAPALM driver for `target` (not opened), host keys checked. (govnet.deploy is imported
    when a device is reached, not when Pulumi unpickles the provider.)"""
    from govnet.deploy.inventory import open_driver as engine_driver

    try:
        return engine_driver(target.platform, target.host, credentials(target), known_hosts(target), target.timeout)
    except ValueError as exc:
        raise DeviceError(f"{target.device}: {exc}") from None


@contextlib.contextmanager
def session(target: Target, connect: Callable[[Target], Any] = open_driver) -> Iterator[Any]:
    """An open driver, one at a time per device: two links of one router must not commit over each other."""
    lock = Path(tempfile.gettempdir()) / f"govnet-pulumi-{target.device}.lock"
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        driver = connect(target)
        try:
            driver.open()
        except Exception as exc:
            raise DeviceError(f"{target.device} ({target.host}): cannot connect: {exc}") from None
        try:
            yield driver
        finally:
            with contextlib.suppress(Exception):
                driver.close()


def running_config(driver: Any) -> str:
    """The device's running configuration, banner removed."""
    return sections.clean_running(driver.get_config(retrieve="running")["running"])


def _diff(driver: Any, platform: str, running: str, candidate: str) -> str:
    """The engine's diff with *candidate* loaded (the driver's own, or hier_config's where the platform says)."""
    from govnet.deploy import engine

    driver.load_replace_candidate(config=candidate)
    return (
        engine.device_diff(driver, platform, running, candidate).strip()
        if platform
        else str(driver.compare_config()).strip()
    )


def stanza_diff(driver: Any, header: str, intended: str, platform: str = "") -> str:
    """The diff between running and running-with-this-stanza-replaced ("" = in sync)."""
    running = running_config(driver)
    candidate = sections.splice(running, header, intended)
    try:
        return _diff(driver, platform, running, candidate)
    finally:
        driver.discard_config()


def push_stanza(
    driver: Any,
    header: str,
    intended: str,
    revert_in: int,
    post_check: PostCheck | None = None,
    *,
    target: Target,
) -> Pushed:
    """Splice the stanza into the running config, then the deploy engine's commit loop for one device
    (`engine.commit_confirmed`: commit with a revert timer, post-check, fresh login where the platform asks,
    confirm, or roll back at once); raise when it did not end confirmed."""
    from govnet.deploy import engine

    problem = engine.timer_problem(target.platform, revert_in)
    if problem:
        raise DeviceError(f"{header}: revert_in {problem}")
    running = running_config(driver)
    candidate = sections.splice(running, header, intended)
    diff = _diff(driver, target.platform, running, candidate)
    if not diff:
        driver.discard_config()
        return Pushed("", sections.extract(running_config(driver), header))
    check = post_check or stanza_converged
    result = engine.commit_confirmed(
        driver,
        target.platform,
        engine.DeviceResult(target.device, 0),
        message="",
        revert_in=revert_in,
        post_check=lambda d: stanza_checks(header, check(d, header, intended)),
        login=lambda: engine.fresh_login(
            target.platform, target.host, credentials(target), known_hosts(target), target.timeout
        ),
        hidden=(target.password,),
    )
    if result.status == engine.ROLLED_BACK:
        problems = [c.detail for c in result.checks if not c.ok] or [result.error]
        raise DeviceError(f"{header}: rolled back: " + "; ".join(problems))
    if result.status != engine.CHANGED:
        raise DeviceError(f"{header}: failed: {result.error}")
    return Pushed(diff, sections.extract(running_config(driver), header))


def stanza_checks(header: str, problems: list[str]) -> list[Check]:
    """A stanza post-check's problems as the engine's checks (one passing check when there are none)."""
    from govnet.deploy.checks import Check

    if not problems:
        return [Check("stanza", header, True, "running as intended")]
    return [Check("stanza", header, False, p) for p in problems]


def read_stanza(driver: Any, device: str, header: str, backup_dir: str = "") -> str:
    """The stanza as running now; with `backup_dir`, the whole running config is saved first (owner-only)."""
    running = running_config(driver)
    if backup_dir:
        path = Path(backup_dir) / f"{device}.{time.strftime('%Y%m%dT%H%M%S')}.cfg"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(running)
    return sections.extract(running, header)


def stanza_converged(driver: Any, header: str, intended: str, wait: float = 5.0) -> list[str]:
    """Default post-check: the running stanza equals intent and the link address is up on the interface.

    The address check uses NAPALM's `get_interfaces_ip` when the driver has it, so it also proves the platform
    took the address, not only that the text was stored.
    """
    problems: list[str] = []
    running = sections.extract(running_config(driver), header)
    missing = [ln for ln in sections.body(intended) if ln not in sections.body(running)]
    extra = [ln for ln in sections.body(running) if ln not in sections.body(intended)]
    problems += [f"not running: {ln!r}" for ln in missing] + [f"unexpected: {ln!r}" for ln in extra]
    address = next(("/".join(ln.split()[2:4]) for ln in sections.body(intended) if ln.startswith("ip address ")), None)
    if address is None or not header.startswith("interface "):
        return problems
    iface = header.split(None, 1)[1]
    want = IPv4Interface(address)
    deadline = time.monotonic() + wait
    while True:
        try:
            have = driver.get_interfaces_ip().get(iface, {}).get("ipv4", {})
        except NotImplementedError:
            return problems
        if str(want.ip) in have and have[str(want.ip)].get("prefix_length") == want.network.prefixlen:
            return problems
        if time.monotonic() > deadline:
            return [*problems, f"{iface} does not carry {want}"]
        time.sleep(0.5)
