"""Control plane: every device's NAPALM getters compared with model-derived validation data.

NAPALM's ``compliance_report`` reports ``complies: true`` for a getter it skipped (NotImplementedError), for an
empty validation source and for a getter missing from the source, so a driver without a getter, or a generator
bug, would read as a pass.  ``guarded_report`` turns each of those into a failure, and ``explain`` turns the
nested report into one line per unmet expectation.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from govnet.model.derived import Network
from govnet.verify.expect import validation_source
from govnet.verify.hardening import hardening_checks
from govnet.verify.result import Check

WORKERS = 12
#: Seconds before a device whose checks failed is read again.
REREAD_AFTER = 1.0
SESSION = "NAPALM session"


def getter_keys(source: list[dict[str, Any]]) -> list[str]:
    """The report keys NAPALM will use for a validation source (``_name`` or the getter)."""
    return [str(spec.get("_name") or getter) for item in source for getter, spec in item.items()]


def guarded_report(driver: Any, source: list[dict[str, Any]]) -> dict[str, Any]:
    """``compliance_report`` with its false passes turned into failures (see the module docstring)."""
    if not source or any(not spec for item in source for spec in item.values()):
        return {"complies": False, "_guard": ["empty validation source"]}
    report: dict[str, Any] = driver.compliance_report(validation_source=copy.deepcopy(source))
    problems = [f"{key}: getter skipped ({report[key].get('reason')})" for key in report.get("skipped", [])]
    problems += [f"{key}: not in the report" for key in getter_keys(source) if key not in report]
    if problems:
        report["complies"] = False
        report["_guard"] = problems
    return report


def explain(report: dict[str, Any], path: str = "") -> Iterator[str]:
    """One line per unmet expectation of a (nested) NAPALM report."""
    if not isinstance(report, dict):
        return
    for key in report.get("missing", []):
        yield f"{path} {key}: missing".strip() if not isinstance(key, dict) else f"{path}: missing {key}"
    for key in report.get("extra", []):
        yield f"{path} {key}: unexpected"
    present = report.get("present", {})
    if isinstance(present, dict):
        for key, sub in present.items():
            if sub.get("complies", True):
                continue
            where = f"{path} {key}".strip()
            if sub.get("nested"):
                yield from explain(sub.get("diff", {}), where)
            else:
                yield f"{where}: expected {sub.get('expected_value')!r}, found {sub.get('actual_value')!r}"
    elif isinstance(present, list) and not report.get("complies", True):
        pass


LABELS = {
    "get_interfaces_ip": "interface addresses",
    "get_interfaces": "interfaces up",
    "get_ospf_neighbors": "OSPF adjacencies Full",
    "get_bgp_neighbors": "BGP sessions Established",
}


def device_checks(network: Network, name: str, report: dict[str, Any]) -> list[Check]:
    """A check per getter of one device, naming every unmet expectation."""
    checks = [Check("control-plane", f"{name}: {g}", False, g) for g in report.get("_guard", [])]
    for key in getter_keys(validation_source(network, name)):
        sub = report.get(key, {})
        label = LABELS.get(key, key)
        if not isinstance(sub, dict) or "skipped" in sub:
            continue
        lines = list(explain(sub))
        if not sub.get("complies", False) and not lines:
            lines = ["does not comply"]
        checks.append(Check("control-plane", f"{name}: {label}", sub.get("complies", False), "; ".join(lines)))
    return checks


def open_driver(mgmt_ip: str, username: str, password: str, known_hosts: str) -> Any:
    from napalm_frr import parsers
    from napalm_frr.frr import FRRDriver

    class VerifyDriver(FRRDriver):
        """The FRR driver plus one getter: the routing table in ``get_route_to``'s shape, one command.

        ``get_route_to`` asks BGP for every BGP route's attributes (a command per prefix); reachability of
        each segment needs protocol and next hop only.
        """

        def get_route_table(self, destination: str, longer: bool = True) -> dict[str, Any]:
            command = f"show ip route {destination}{' longer-prefixes' if longer else ''} json"
            return parsers.routes(self._json(command), "", {})

    driver = VerifyDriver(mgmt_ip, username, password, timeout=30, optional_args={"known_hosts_file": known_hosts})
    driver.open()
    return driver


def check_device(network: Network, name: str, mgmt_ip: str, login: tuple[str, str, str]) -> list[Check]:
    """Log in over SSH (host key checked), run the guarded compliance report, log out."""
    try:
        driver = open_driver(mgmt_ip, *login)
    except Exception as exc:
        return [Check("control-plane", f"{name}: {SESSION}", False, str(exc).splitlines()[0])]
    try:
        report = guarded_report(driver, validation_source(network, name))
        hardened = hardening_checks(network, name, driver)
    except Exception as exc:
        return [Check("control-plane", f"{name}: compliance report", False, str(exc).splitlines()[0])]
    finally:
        driver.close()
    return device_checks(network, name, report) + hardened


def settled_device(
    network: Network,
    name: str,
    mgmt_ip: str,
    login: tuple[str, str, str],
    sleep: Callable[[float], None] = time.sleep,
) -> list[Check]:
    """:func:`check_device`; a device with a failing check is read once more, in a new session, after
    :data:`REREAD_AFTER` seconds, and the second reading is the verdict. A fault lasts; a read that came back
    wrong once (one CI run saw a switch's ``show interface json`` without its addresses between two good reads)
    does not fail the run. A device that could not be logged in to is not read again: that is no wrong read,
    and its connect timeout would be paid twice."""
    checks = check_device(network, name, mgmt_ip, login)
    if all(c.ok for c in checks) or any(c.name == f"{name}: {SESSION}" for c in checks):
        return checks
    sleep(REREAD_AFTER)
    return check_device(network, name, mgmt_ip, login)


def control_plane(network: Network, mgmt: dict[str, str], login: tuple[str, str, str]) -> list[Check]:
    """Every device of *mgmt* (name → management address) in parallel (the work is SSH round trips)."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        names = sorted(n for n in network.devices if n in mgmt)
        results = pool.map(lambda n: settled_device(network, n, mgmt[n], login), names)
        return [c for checks in results for c in checks]
