"""Unit tests of the FRR NAPALM driver, its Netmiko type and the on-box agent, without a device.

Device answers come from napalm-frr/tests/fixtures/frr/<method>/<case>/ (recorded from FRR 8.4 with
``python -m napalm_frr.recorded``); diffs use the real frr-reload.py installed on this machine.
"""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from napalm.base.exceptions import CommandErrorException, CommitError, ConnectionException
from netmiko.exceptions import NetmikoTimeoutException

from napalm_frr import config_diff, parsers
from napalm_frr.connection import ExecResult, SSHSettings, _connect_error, connect
from napalm_frr.frr import FRRDriver, _helper_reply, ping_command
from napalm_frr.helper import VERSION, paths, service, source_digest
from napalm_frr.helper.box import open_box, pid_alive, start_time, state_dir, write_atomic
from napalm_frr.helper.commit import Commits
from napalm_frr.helper.frr import FRR
from napalm_frr.netmiko_frr import DEVICE_TYPE, ERROR_PATTERN, FRRVtyshSSH
from napalm_frr.recorded import RecordedConnection, fixture_name

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "frr"
CASES = sorted(p for p in FIXTURES.glob("*/*") if (p / "expected.json").exists())


def driver_for(case: Path) -> FRRDriver:
    host = (case / "host").read_text().strip() if (case / "host").exists() else "198.19.250.2"
    driver = FRRDriver(host, "govnet", "govnet-lab")
    driver.device = RecordedConnection(case)
    return driver


def resolve(case: Path, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Candidate files are stored next to the recording; make their names absolute."""
    if "filename" in kwargs:
        kwargs = {**kwargs, "filename": str(case / kwargs["filename"])}
    return kwargs


def call(driver: FRRDriver, method: str, kwargs: dict[str, Any]) -> Any:
    """The method's result, or the refusal as recorded: {"error": class name, "message": text}."""
    try:
        return getattr(driver, method)(**kwargs)
    except Exception as exc:
        return {"error": type(exc).__name__, "message": str(exc)}


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recorded_case(case: Path) -> None:
    """Replay a recorded case: the driver must return exactly what was recorded and reviewed."""
    driver = driver_for(case)
    for method, kwargs in json.loads((case / "steps.json").read_text()) if (case / "steps.json").exists() else []:
        getattr(driver, method)(**resolve(case, kwargs))
    args = json.loads((case / "args.json").read_text()) if (case / "args.json").exists() else {}
    result = call(driver, case.parent.name, resolve(case, args))
    assert json.loads(json.dumps(result)) == json.loads((case / "expected.json").read_text())


# ----------------------------------------------------------------------------- config operations


def test_commit_confirmed_streams_candidate_and_arms_timer() -> None:
    case = FIXTURES / "commit_config" / "confirmed"
    driver = driver_for(case)
    driver.load_replace_candidate(filename=str(case / "candidate.conf"))
    driver.commit_config(message="describe mgmt0", revert_in=120)
    command, stdin = driver.device.calls[-1]  # type: ignore[union-attr]
    assert command == "napalm-frr-helper replace --message 'describe mgmt0' --revert-in 120"
    assert stdin == (case / "candidate.conf").read_text()
    assert driver.get_config(retrieve="candidate")["candidate"] == "", "a commit consumes the candidate"


def test_merge_commit_uses_merge_verb() -> None:
    case = FIXTURES / "commit_config" / "merge_now"
    driver = driver_for(case)
    driver.load_merge_candidate(filename=str(case / "candidate.conf"))
    driver.commit_config()
    assert driver.device.calls[-1][0].startswith("napalm-frr-helper merge ")  # type: ignore[union-attr]


def test_commit_without_candidate_refused_before_touching_device() -> None:
    driver = driver_for(FIXTURES / "commit_config" / "confirmed")
    with pytest.raises(CommitError, match="no candidate loaded"):
        driver.commit_config()
    assert driver.device.calls == []  # type: ignore[union-attr]


def test_bad_revert_in_refused() -> None:
    case = FIXTURES / "commit_config" / "confirmed"
    driver = driver_for(case)
    driver.load_replace_candidate(filename=str(case / "candidate.conf"))
    with pytest.raises(CommitError, match="revert_in"):
        driver.commit_config(revert_in=0)


def test_discard_forgets_candidate() -> None:
    case = FIXTURES / "load_replace_candidate" / "valid"
    driver = driver_for(case)
    driver.load_replace_candidate(filename=str(case / "candidate.conf"))
    driver.discard_config()
    assert driver.compare_config() == ""
    assert driver.get_config(retrieve="candidate")["candidate"] == ""


def test_commit_message_is_one_quoted_argument() -> None:
    case = FIXTURES / "commit_config" / "confirmed"
    driver = driver_for(case)
    driver.load_replace_candidate(filename=str(case / "candidate.conf"))
    with pytest.raises(OSError, match="no recorded output"):  # a different command than recorded
        driver.commit_config(message="x'; reboot\n", revert_in=120)
    assert driver.device.calls[-1][0] == "napalm-frr-helper replace --message 'x'\"'\"'; reboot' --revert-in 120"  # type: ignore[union-attr]


def test_agent_reply_without_json_is_a_clear_error() -> None:
    with pytest.raises(CommandErrorException, match=r"\(exit 127\): napalm-frr-helper: command not found"):
        _helper_reply("r1", ExecResult(127, "", "napalm-frr-helper: command not found\n"))


def test_compare_config_reports_bad_candidate(tmp_path: Path) -> None:
    with pytest.raises(config_diff.DiffError, match="could not compare"):
        config_diff.diff("hostname r1\n", "hostname r1\ninterface eth1\n ip adress 198.18.0.1/31\n")


def test_compare_config_round_trip() -> None:
    """running + diff = intended: the diff of a config against itself is empty, a change is exact."""
    running = "hostname r1\n!\ninterface eth1\n description old\nexit\n!\n"
    assert config_diff.diff(running, running) == ""
    changed = config_diff.diff(running, running.replace("old", "new"))
    assert changed.splitlines() == [
        "Lines To Delete", "===============", "interface eth1", " no description old", "",
        "Lines To Add", "============", "interface eth1", " description new",
    ]  # fmt: skip


# ----------------------------------------------------------------------------- ping


def test_ping_command_uses_only_options_the_device_shell_accepts() -> None:
    assert ping_command("198.18.0.1", "", 255, 2, 100, 5) == "ping -c 5 -s 100 -W 2 198.18.0.1"
    assert ping_command("198.18.0.1", "lo", 255, 1, 56, 2) == "ping -c 2 -s 56 -W 1 -I lo 198.18.0.1"
    assert ping_command("198.18.0.1", "", 7, 1, 56, 2).endswith("-t 7 198.18.0.1")


@pytest.mark.parametrize(
    ("destination", "count"), [("198.18.0.1;reboot", 5), ("-f", 5), ("198.18.0.1 -f", 5), ("198.18.0.1", 0)]
)
def test_ping_command_rejects_injection_and_nonsense(destination: str, count: int) -> None:
    with pytest.raises(ValueError):
        ping_command(destination, "", 255, 2, 100, count)


def test_every_ping_shares_one_fixture_name() -> None:
    assert fixture_name("ping -c 5 -s 100 -W 2 198.18.0.1") == "ping"
    assert fixture_name("show ip route 1.0.4.0/24 json") == "show_ip_route_1_0_4_0_24_json"


# ----------------------------------------------------------------------------- parsers


@pytest.mark.parametrize(("text", "seconds"), [("00:03:19", 199), ("1d02h03m", 93780), ("01w2d03h", 788400)])
def test_route_age_formats(text: str, seconds: int) -> None:
    assert parsers.age_seconds(text) == seconds


def test_unnumbered_bgp_peer_as_is_unknown() -> None:
    peer = parsers.bgp_peer({"remoteAs": "external", "localAs": 65000, "bgpState": "Connect"})
    assert (peer["remote_as"], peer["is_up"], peer["uptime"]) == (-1, False, -1)


def test_ospf_two_way_is_a_working_adjacency() -> None:
    adj = parsers.ospf_adjacency({"nbrState": "2-Way/DROther", "nbrPriority": 1})
    assert (adj["state"], adj["role"], adj["is_up"]) == ("2-Way", "DROther", True)
    assert parsers.ospf_adjacency({"nbrState": "Init/-"})["is_up"] is False


def test_not_json_is_a_parse_error() -> None:
    with pytest.raises(parsers.ParseError, match="did not return JSON"):
        parsers.loads("% Unknown command: show bogus json", "show bogus json")


def test_show_version_must_be_frr() -> None:
    with pytest.raises(parsers.ParseError):
        parsers.version("Cisco IOS Software, Version 15.2")


def test_vtysh_error_reply_raises(tmp_path: Path) -> None:
    (tmp_path / "show_bogus.txt").write_text("% Unknown command: show bogus\n")
    driver = driver_for(tmp_path)
    with pytest.raises(CommandErrorException, match="Unknown command"):
        driver.cli(["show bogus"])


@pytest.mark.parametrize("method", ["get_interfaces", "get_interfaces_ip"])
def test_an_empty_interface_table_is_a_failed_read(tmp_path: Path, method: str) -> None:
    """zebra lists lo at least: an empty ``show interface json`` must not read as every interface gone."""
    (tmp_path / "show_interface_json.txt").write_text("")
    with pytest.raises(CommandErrorException, match="answered nothing"):
        getattr(driver_for(tmp_path), method)()


# ----------------------------------------------------------------------------- Netmiko type


def test_frr_vtysh_is_registered_with_netmiko() -> None:
    from netmiko import platforms
    from netmiko.ssh_dispatcher import ssh_dispatcher

    assert DEVICE_TYPE in platforms
    assert ssh_dispatcher(DEVICE_TYPE) is FRRVtyshSSH


@pytest.mark.parametrize(
    "reply",
    [
        "% Unknown command: bogus",
        "% Command incomplete: router",
        "% Ambiguous command: sh",
        "BGP is already running; AS is 65000",
        "  % Unknown command:  ip address 300.1.1.1/24",
    ],
)
def test_error_pattern_catches_vtysh_rejections(reply: str) -> None:
    import re

    assert re.search(ERROR_PATTERN, f"r1(config)# something\n{reply}\nr1(config)#", flags=re.M)


def test_error_pattern_ignores_normal_echo() -> None:
    import re

    echo = "r1(config)# interface eth1\nr1(config-if)# description 50% of uplink\nr1(config-if)# end\nr1#"
    assert not re.search(ERROR_PATTERN, echo, flags=re.M)


# ----------------------------------------------------------------------------- connection errors


def _settings(tmp_path: Path) -> SSHSettings:
    return SSHSettings("198.19.0.9", "govnet", "x", known_hosts_file=str(tmp_path / "known_hosts"))


def test_host_key_mismatch_is_named(tmp_path: Path) -> None:
    exc = NetmikoTimeoutException(
        "\nA paramiko SSHException occurred during connection creation:\n\n"
        "Host key for server '198.19.0.9' does not match: got 'AAAA', expected 'BBBB'\n"
    )
    error = _connect_error(_settings(tmp_path), str(tmp_path / "known_hosts"), exc)
    assert "host key mismatch" in str(error) and "known_hosts" in str(error)


def test_unknown_host_key_is_named(tmp_path: Path) -> None:
    exc = NetmikoTimeoutException("Server '198.19.0.9' not found in known_hosts")
    assert "host key unknown" in str(_connect_error(_settings(tmp_path), "kh", exc))


def test_missing_known_hosts_file_refused_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(ConnectionException, match="does not exist"):
        connect(_settings(tmp_path))


def test_credentials_are_the_callers_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver is govnet-independent: govnet's login variables do not reach it (govnet passes the login)."""
    monkeypatch.setenv("GOVNET_USERNAME", "ops")
    monkeypatch.setenv("GOVNET_PASSWORD", "from-env")
    assert (FRRDriver("r1", "", "").settings.username, FRRDriver("r1", "", "").settings.password) == ("", "")
    driver = FRRDriver("r1", "admin", "pw")
    assert (driver.settings.username, driver.settings.password) == ("admin", "pw")


# ----------------------------------------------------------------------------- on-box agent


@pytest.fixture
def agent_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NAPALM_FRR_HELPER_DIR", str(tmp_path))
    monkeypatch.delenv("NAPALM_FRR_HELPER_STATE", raising=False)
    return tmp_path


def run_agent(capsys: pytest.CaptureFixture[str], instance: str, *argv: str) -> tuple[int, dict[str, Any]]:
    code = service.main(instance, list(argv))
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("argv", [["bogus"], ["arm", "0"], ["arm", "90000"], ["replace", "--revert-in", "ten"], []])
def test_agent_bad_usage_exits_2_with_one_json_line(
    agent_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, reply = run_agent(capsys, "r1", *argv)
    assert code == 2 and reply["ok"] is False and reply["error"].startswith("usage:")


def test_agent_session_answers_each_request_in_order(
    agent_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``napalm-frr-helper session``: one JSON reply line per request line, with the verb's exit code."""
    requests = [
        {"argv": ["status"]},
        {"argv": ["arm", "0"]},
        "not json",
        {"argv": ["confirm"]},
        {"argv": ["session"]},
        {"argv": ["startup"], "stdin": "ignored"},
        {"argv": ["serve"]},
        {"argv": ["show"], "stdin": json.dumps(["configure terminal"])},
        {"argv": ["show"], "stdin": json.dumps(["show version\nconfigure terminal"])},
        {"argv": ["show"], "stdin": json.dumps(["show version\n"])},
        {"argv": ["show"], "stdin": "show version"},
    ]
    lines = [r if isinstance(r, str) else json.dumps(r) for r in requests]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert service.main("r1", ["napalm-frr-helper", "session"]) == 0
    replies = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["exit"] for r in replies] == [0, 2, 2, 1, 2, 0, 2, 2, 2, 2, 2]
    assert replies[0]["ok"] and replies[0]["pending"] is False
    assert replies[1]["error"].startswith("usage:") and replies[2]["error"].startswith("usage:")
    assert replies[3]["error"] == "no commit is pending confirmation"
    assert replies[5] == {"ok": True, "startup": "", "exit": 0}
    assert replies[6]["error"] == "usage: serve is not a session request"
    assert all("show commands only" in r["error"] for r in replies[7:10])
    assert "JSON list" in replies[10]["error"]


def test_agent_rejects_bad_instance_name(agent_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, reply = run_agent(capsys, "../etc", "status")
    assert code == 2 and "instance" in reply["error"]


def test_agent_status_without_state(agent_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, reply = run_agent(capsys, "r1", "napalm-frr-helper", "status")
    assert code == 0
    assert reply == {
        "ok": True,
        "instance": "r1",
        "pending": False,
        "checkpoint": False,
        "helper": {"pid": os.getpid(), "resident": False, "version": VERSION, "digest": source_digest()},
    }
    assert (agent_dir / "r1").is_dir()


def test_agent_will_not_arm_without_checkpoint(agent_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, reply = run_agent(capsys, "r1", "arm", "30")
    assert code == 1 and "checkpoint" in reply["error"]


def test_agent_confirm_without_pending(agent_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, reply = run_agent(capsys, "r1", "confirm")
    assert code == 1 and reply["error"] == "no commit is pending confirmation"


def test_timer_exits_quietly_once_confirmed(agent_dir: Path) -> None:
    """The timer only reverts the commit it was armed for (confirm = pending file gone)."""
    box = open_box("r1")
    write_atomic(box.pending, json.dumps({"token": "other", "deadline": 0, "seconds": 1, "message": ""}))
    assert Commits(FRR()).timer_main(box, "mine") == 0
    assert box.pending.exists(), "a stale timer must not touch another commit's state"


def test_pid_alive_checks_the_token() -> None:
    assert pid_alive(os.getpid(), "pytest") or pid_alive(os.getpid(), "python")
    assert not pid_alive(os.getpid(), "no-such-token-9f3a")
    assert not pid_alive(None, "x")


def test_pid_alive_by_start_time_refuses_a_recycled_pid() -> None:
    """A forked timer is known by pid and start time: the same pid with another start time is not it."""
    started = start_time(os.getpid())
    assert started is not None and pid_alive(os.getpid(), "any", started)
    assert not pid_alive(os.getpid(), "any", started + 1)


def test_forked_timer_reverts_nothing_once_confirmed(agent_dir: Path) -> None:
    """spawn_timer forks a real timer process; removing the pending commit (confirm) lets it exit by itself."""
    box = open_box("r1")
    write_atomic(box.pending, json.dumps({"token": "t1", "deadline": 9e12, "seconds": 1, "message": ""}))
    pid, started = Commits(FRR()).spawn_timer(box, "t1")
    assert pid_alive(pid, "t1", started)
    box.pending.unlink()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the timer did not exit after its commit went away")


def test_confirm_writes_the_committed_config_as_startup(agent_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The verified running config of the commit becomes frr.conf (group-readable), the old one frr.conf.sav."""
    monkeypatch.setattr(paths, "FRR_CONF_BASE", str(agent_dir / "etc"))
    box = open_box("r1")
    box.startup.parent.mkdir(parents=True)
    box.startup.write_text("hostname old\n")
    write_atomic(box.applied_config, "hostname r1\ninterface eth1\n ip address 198.18.1.0/31\nexit\n")
    assert Commits(FRR()).save_startup(box, {"armed_at": time.time() - 5}) == "frr.conf"
    assert box.startup.read_text() == box.applied_config.read_text()
    assert box.startup.with_name("frr.conf.sav").read_text() == "hostname old\n"
    assert stat.S_IMODE(box.startup.stat().st_mode) == 0o640


def test_finished_timer_is_dead_at_once_and_reaped() -> None:
    """A timer that ended is not alive while it waits to be reaped, and the resident agent reaps it."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert start_time(pid) is None and not pid_alive(pid, "token", started=12345)
    commits = Commits(FRR())
    commits.timers.add(pid)
    commits.reap_timers()
    assert pid not in commits.timers and not Path(f"/proc/{pid}").exists()


def test_state_dir_prefers_frr_pathspace_when_not_provisioned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NAPALM_FRR_HELPER_DIR", raising=False)
    monkeypatch.delenv("NAPALM_FRR_HELPER_STATE", raising=False)
    monkeypatch.setattr(paths, "DEFAULT_STATE_BASE", "/nonexistent/napalm-frr")
    assert state_dir("r1") == Path("/etc/frr/r1/napalm-frr")
    assert paths.helper_socket("r1") == "/etc/frr/r1/napalm-frr/helper.sock"


def test_ntp_servers_from_chrony_and_ntpd(tmp_path: Path) -> None:
    (tmp_path / "chrony" / "sources.d").mkdir(parents=True)
    (tmp_path / "chrony" / "chrony.conf").write_text("# c\nserver 198.18.0.10 iburst prefer\n")
    (tmp_path / "chrony" / "sources.d" / "dc.sources").write_text("pool 198.18.0.11\n")
    (tmp_path / "ntp.conf").write_text("server 198.18.0.12\n")
    servers = service.ntp_servers(tmp_path)
    assert sorted(servers) == ["198.18.0.10", "198.18.0.11", "198.18.0.12"]
    assert servers["198.18.0.10"] == {
        "address": "198.18.0.10", "association_type": "server", "iburst": True, "prefer": True,
    }  # fmt: skip
    assert service.ntp_servers(tmp_path / "empty") == {}


def test_lines_frr_never_shows_are_not_a_change() -> None:
    """``ip forwarding`` (on) and ``frr version`` never appear in running-config: no eternal diff."""
    running = "frr version 8.4.4\nhostname r1\n!\ninterface eth1\n description x\nexit\n!\n"
    intended = "frr version 8.4\nhostname r1\nip forwarding\nipv6 forwarding\n!\ninterface eth1\n description x\nexit\n"
    intended += "!\nline vty\n!\n"
    assert config_diff.diff(running, intended) == ""
    assert "no ip forwarding" in config_diff.diff(running, intended + "no ip forwarding\n")
    assert "exec-timeout 5" in config_diff.diff(running, intended + "line vty\n exec-timeout 5\n")


def test_reads_go_to_the_shipped_helpers_vtysh() -> None:
    """With the driver's own helper (the login lands in a shell), show commands are the helper's ``show`` verb; the
    getter's answer is the same as through an interactive vtysh."""
    case = next(p for p in CASES if p.parent.name == "get_facts")
    driver = driver_for(case)
    driver.device.helper = {"origin": "shipped"}  # type: ignore[union-attr]
    facts = driver.get_facts()
    assert json.loads(json.dumps(facts)) == json.loads((case / "expected.json").read_text())
    calls = [command for command, _ in driver.device.calls]  # type: ignore[union-attr]
    assert calls[:2] == ["napalm-frr-helper show", "napalm-frr-helper show"] and "napalm-frr-helper facts" in calls
