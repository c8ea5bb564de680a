"""NAPALM's contract for failures: the exception it names, never a bare Python error.

Against the recorded-output fake (:class:`napalm_frr.recorded.RecordedConnection`, which answers the helper's
verbs through ``helper_request`` as the production connection does) and an SSH connection whose login is gone.
"""

from __future__ import annotations

import inspect
import json
import socket
from pathlib import Path

import paramiko
import pytest
from napalm.base import NetworkDriver
from napalm.base.exceptions import (
    ConnectionClosedException,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)

from napalm_frr.connection import HELPER_VERBS, SSHConnection, SSHSettings
from napalm_frr.frr import FRRDriver
from napalm_frr.helper import protocol, service
from napalm_frr.recorded import RecordedConnection, fixture_name


def driver_on(case: Path, **optional: object) -> FRRDriver:
    driver = FRRDriver("127.0.0.1", "govnet", "not-a-secret", optional_args=dict(optional))
    driver.device = RecordedConnection(case)
    return driver


def record(case: Path, command: str, stdout: str, rc: int = 0, stderr: str = "") -> None:
    stem = fixture_name(command)
    case.mkdir(parents=True, exist_ok=True)
    (case / f"{stem}.txt").write_text(stdout)
    if rc:
        (case / f"{stem}.rc").write_text(f"{rc}\n")
    if stderr:
        (case / f"{stem}.stderr").write_text(stderr)


def test_the_fake_and_the_helper_have_the_same_verbs_and_refuse_others_alike(tmp_path: Path) -> None:
    assert HELPER_VERBS == protocol.VERBS
    fake = json.loads(RecordedConnection(tmp_path).helper_request(["reboot"]))
    real = service.Helper("r1").session_reply(json.dumps({"argv": ["reboot"]}))
    assert (fake["ok"], fake["exit"]) == (real["ok"], real["exit"]) == (False, 2)
    assert fake["error"].startswith("usage: unknown verb 'reboot'") and real["error"].startswith(
        "usage: unknown verb 'reboot'"
    )


def test_getters_the_driver_does_not_have_raise_not_implemented(tmp_path: Path) -> None:
    driver = driver_on(tmp_path)
    missing = [
        name
        for name, _ in inspect.getmembers(NetworkDriver, inspect.isfunction)
        if name.startswith("get_") and getattr(FRRDriver, name) is getattr(NetworkDriver, name)
    ]
    assert "get_lldp_neighbors" in missing and "get_facts" not in missing
    for name in missing:
        method = getattr(driver, name)
        required = {
            p.name: ""
            for p in inspect.signature(method).parameters.values()
            if p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
        }
        with pytest.raises(NotImplementedError):
            method(**required)
    assert driver.device.calls == []  # type: ignore[union-attr]


def test_a_helper_that_is_not_there_fails_replace_and_merge_with_their_exceptions(tmp_path: Path) -> None:
    gone = "bash: line 1: napalm-frr-helper: command not found\n"
    record(tmp_path, "napalm-frr-helper check --diff --running", "", 127, gone)
    record(tmp_path, "napalm-frr-helper check --merge --diff", "", 127, gone)
    driver = driver_on(tmp_path)
    with pytest.raises(ReplaceConfigException, match="command not found"):
        driver.load_replace_candidate(config="hostname r1\n")
    with pytest.raises(MergeConfigException, match="command not found"):
        driver.load_merge_candidate(config="hostname r1\n")


def test_a_refused_candidate_is_a_replace_config_exception(tmp_path: Path) -> None:
    refused = {"ok": False, "error": "candidate rejected", "problems": ["line 2: % Unknown command: bogus"]}
    record(tmp_path, "napalm-frr-helper check --diff --running", json.dumps(refused) + "\n", 1)
    with pytest.raises(ReplaceConfigException, match="candidate rejected: line 2"):
        driver_on(tmp_path).load_replace_candidate(config="hostname r1\nbogus\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_dead_login_is_opened_again_once_and_else_raises_connection_exception(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    driver = driver_on(tmp_path, known_hosts_file=str(known), port=free_port())
    driver.device.close()  # type: ignore[union-attr]  # the login died
    with pytest.raises(ConnectionException, match="no SSH service reachable"):
        driver.get_interfaces()
    with pytest.raises(ConnectionClosedException):  # nothing half-open is kept
        driver.get_interfaces()


def test_an_ssh_connection_without_a_login_raises_connection_exception() -> None:
    conn = SSHConnection(paramiko.SSHClient(), SSHSettings("127.0.0.1", "govnet", "not-a-secret"))
    with pytest.raises(ConnectionException, match="closed"):
        conn.send_command("show version")
    with pytest.raises(ConnectionException, match="closed"):
        conn.helper_request(["status"])
    assert conn.helper is None
