"""The deploy engine's rollout logic offline: waves, tolerance, canary, halt and roll back, on a fake fleet.

The root lab test runs the same engine against real FRR; this one runs it on every commit, through Nornir and a
fake NAPALM device per box (tests/fake_napalm.py), so a wave that commits too early or a halt that forgets a
rollback fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from nornir.core.plugins.connections import ConnectionPluginRegister

from govnet.deploy import engine, pushed
from govnet.deploy.engine import CHANGED, FAILED, ROLLED_BACK, SKIPPED, UNCHANGED, WOULD_CHANGE
from govnet.deploy.inventory import CONNECTION_NAME, Credentials
from govnet.model import load_network
from govnet.model.derived import Network
from tests.fake_napalm import FakeConnection, Fleet

ROOT = Path(__file__).resolve().parents[2]
NETWORK = load_network(ROOT / "inventory" / "karbala", "lab")
PHASE = {p.id: [n for n, d in NETWORK.devices.items() if d.phase == p.id] for p in NETWORK.phases}
FIRST, SECOND = PHASE[1], PHASE[2]


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    fleet = Fleet(NETWORK)
    monkeypatch.setitem(ConnectionPluginRegister.available, CONNECTION_NAME, FakeConnection)
    monkeypatch.setattr(FakeConnection, "fleet", fleet)
    yield fleet


def deploy(tmp_path: Path, network: Network = NETWORK, **kw: object) -> engine.DeployReport:
    kw.setdefault("configs", {n: f"hostname {n}\n! intended\n" for n in network.devices})
    options = engine.DeployOptions(
        creds=Credentials("govnet", "unused"),
        known_hosts=tmp_path / "known_hosts",
        workdir=tmp_path,
        converge_timeout=0.3,
        source=tmp_path,
        **kw,  # type: ignore[arg-type]
    )
    return engine.deploy(network, options)


def statuses(report: engine.DeployReport) -> dict[str, str]:
    return {r.device: r.status for r in report.results}


def first(fleet: Fleet, names: list[str], what: str) -> int:
    return min(seq for n in names for seq, w in fleet[n].log if w == what)


def last(fleet: Fleet, names: list[str], what: str) -> int:
    return max(seq for n in names for seq, w in fleet[n].log if w == what)


def test_a_clean_rollout_commits_wave_by_wave_and_keeps_a_backup_of_each(fleet: Fleet, tmp_path: Path) -> None:
    report = deploy(tmp_path)
    assert report.ok and not report.halted and set(statuses(report).values()) == {CHANGED}
    assert [r.device for r in report.results] == FIRST + SECOND
    assert last(fleet, FIRST, "confirm") < first(fleet, SECOND, "commit"), "phase 2 committed before phase 1 was done"
    for r in report.results:
        box = fleet[r.device]
        assert [w for _, w in box.log] == ["commit", "confirm"] and box.running.endswith("! intended\n")
        assert (tmp_path / "backups" / r.device / f"{r.backup}.cfg").read_text() == "! bootstrap\n"
        assert {c.kind for c in r.checks} >= {"interface"} and all(c.ok for c in r.checks)
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [a["device"] for a in audit] == FIRST + SECOND and {a["status"] for a in audit} == {CHANGED}


def test_nothing_to_change_commits_nothing(fleet: Fleet, tmp_path: Path) -> None:
    for name, box in fleet.boxes.items():
        box.running = f"hostname {name}\n! intended\n"
    report = deploy(tmp_path)
    assert report.ok and set(statuses(report).values()) == {UNCHANGED}
    assert not any(box.log for box in fleet.boxes.values())


def test_a_dry_run_reports_the_diff_and_commits_nothing(fleet: Fleet, tmp_path: Path) -> None:
    report = deploy(tmp_path, dry_run=True)
    assert set(statuses(report).values()) == {WOULD_CHANGE}
    assert all("+! intended" in r.diff for r in report.results)
    assert not any(box.log for box in fleet.boxes.values())


def test_a_failed_post_check_beyond_the_tolerance_rolls_the_wave_back_and_halts(fleet: Fleet, tmp_path: Path) -> None:
    sick = FIRST[3]
    fleet[sick].breaks = True
    report = deploy(tmp_path, tolerance=0)
    got = statuses(report)
    assert not report.ok and report.halted.startswith("phase 1: 1 device(s) failed (tolerance 0)")
    assert got[sick] == ROLLED_BACK and "post-check failed" in next(r.error for r in report.results if r.device == sick)
    assert {got[n] for n in FIRST if n != sick} == {ROLLED_BACK}, "the rest of the halted wave stays changed"
    for name in FIRST:
        assert fleet[name].did("rollback") and fleet[name].running == "! bootstrap\n", name
    assert {got[n] for n in SECOND} == {SKIPPED} and not any(fleet[n].log for n in SECOND)


def test_failures_within_the_tolerance_roll_back_only_themselves(fleet: Fleet, tmp_path: Path) -> None:
    sick = [FIRST[2], SECOND[5]]
    for name in sick:
        fleet[name].breaks = True
    report = deploy(tmp_path, tolerance=1)
    got = statuses(report)
    assert not report.halted and not report.ok
    assert {n for n, s in got.items() if s != CHANGED} == set(sick) and {got[n] for n in sick} == {ROLLED_BACK}
    assert last(fleet, FIRST, "commit") < first(fleet, SECOND, "commit")


def test_a_failed_canary_keeps_the_rest_of_its_wave_untouched(fleet: Fleet, tmp_path: Path) -> None:
    canary = SECOND[0]
    fleet[canary].breaks = True
    report = deploy(tmp_path, canary=True)
    got = statuses(report)
    assert got[canary] == ROLLED_BACK and report.halted.startswith("phase 2: 1 device(s) failed")
    assert {got[n] for n in SECOND[1:]} == {SKIPPED} and not any(fleet[n].log for n in SECOND[1:])
    assert {got[n] for n in FIRST} == {CHANGED}, "an earlier wave is not rolled back by a later halt"


def test_the_canary_goes_alone_first(fleet: Fleet, tmp_path: Path) -> None:
    report = deploy(tmp_path, canary=True)
    assert report.ok
    for wave in (FIRST, SECOND):
        assert last(fleet, wave[:1], "confirm") < first(fleet, wave[1:], "commit")


def test_without_a_canary_the_whole_wave_commits_and_is_rolled_back(fleet: Fleet, tmp_path: Path) -> None:
    fleet[SECOND[0]].breaks = True
    report = deploy(tmp_path)
    assert all(fleet[n].did("commit") and fleet[n].did("rollback") for n in SECOND)
    assert {statuses(report)[n] for n in SECOND} == {ROLLED_BACK}


def test_a_wave_whose_checks_failed_beyond_the_tolerance_commits_nothing(fleet: Fleet, tmp_path: Path) -> None:
    fleet[SECOND[1]].refuse = True
    report = deploy(tmp_path)
    got = statuses(report)
    assert report.halted == "phase 2: 1 device(s) failed their checks (tolerance 0)"
    assert got[SECOND[1]] == FAILED and "Unknown command" in next(
        r.error for r in report.results if r.device == SECOND[1]
    )
    assert {got[n] for n in SECOND if n != SECOND[1]} == {SKIPPED} and not any(fleet[n].log for n in SECOND)
    assert {got[n] for n in FIRST} == {CHANGED}


def test_a_rollback_that_cannot_be_sent_leaves_the_device_to_its_timer_and_says_why(
    fleet: Fleet, tmp_path: Path
) -> None:
    sick = FIRST[1]
    fleet[sick].breaks = fleet[sick].unreachable_after_commit = True
    report = deploy(tmp_path, limit=[sick])
    (result,) = report.results
    assert result.status == FAILED and fleet[sick].pending, "still under its revert timer"
    assert result.error.startswith("post-check failed: interface ")
    assert result.error.endswith("; rollback failed (session closed by the device): the device reverts at its timer")


BABIL = load_network(ROOT / "inventory" / "babil", "lab")


def test_a_dead_twin_link_fails_the_post_check_and_is_rolled_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Al-Kifl hangs off Al-Hilla over two parallel links. With the new config, OSPF comes up on one of them only:
    the router ID is still a Full neighbour (over the other link), but the adjacency planned on that link is not."""
    twins = [i for i in BABIL.devices["kifl-r1"].p2p if i.peer == "hilla-r1"]
    assert len(twins) == 2
    fleet = Fleet(BABIL)
    monkeypatch.setitem(ConnectionPluginRegister.available, CONNECTION_NAME, FakeConnection)
    monkeypatch.setattr(FakeConnection, "fleet", fleet)
    fleet["kifl-r1"].dead = frozenset({twins[1].name})
    report = deploy(tmp_path, network=BABIL, tolerance=len(BABIL.devices))
    result = next(r for r in report.results if r.device == "kifl-r1")
    assert result.status == ROLLED_BACK and fleet["kifl-r1"].running == "! bootstrap\n"
    hilla = BABIL.devices["hilla-r1"].router_id
    failed = [(c.kind, c.subject, c.detail) for c in result.checks if not c.ok]
    assert failed == [
        ("ospf", f"hilla-r1 on {twins[1].name} ({hilla})", f"no adjacency on this link (only via {twins[0].name})")
    ]
    assert ("ospf", f"hilla-r1 on {twins[0].name} ({hilla})", True) in [
        (c.kind, c.subject, c.ok) for c in result.checks
    ]
    assert "post-check failed: ospf hilla-r1 on" in result.error
    assert {n for n, s in statuses(report).items() if s != CHANGED} == {"kifl-r1"}


def test_a_change_of_the_zone_policy_alone_is_told_from_one_that_touches_routing() -> None:
    from napalm_frr.frr import policy_diff

    nft = policy_diff("table inet govnet {\n}\n", "table inet govnet {\n\tset zone_service {\n\t}\n}\n")
    frr = "Lines To Add\n============\nrouter bgp 65010\n neighbor 198.18.0.26 remote-as 65010\n"
    assert engine.policy_only(nft)
    assert not engine.policy_only(frr + nft) and not engine.policy_only(frr) and not engine.policy_only("")


# --------------------------------------------------------------------------- the pushed record: who is skipped


def logins(fleet: Fleet) -> dict[str, int]:
    return {name: box.logins for name, box in fleet.boxes.items()}


def test_a_second_deploy_connects_only_to_what_changed_since(fleet: Fleet, tmp_path: Path) -> None:
    """Confirmed pushes are recorded; the next deploy skips them, pushes a device whose render changed, and every
    device again with --all (every=True)."""
    assert deploy(tmp_path).ok
    before = logins(fleet)
    moved = SECOND[2]
    configs = {n: f"hostname {n}\n! intended\n" for n in NETWORK.devices}
    configs[moved] += "! moved\n"
    report = deploy(tmp_path, configs=configs)
    got = {r.device: (r.status, r.stage) for r in report.results}
    assert report.ok and got[moved] == (CHANGED, "done") and fleet[moved].running.endswith("! moved\n")
    assert {v for n, v in got.items() if n != moved} == {(UNCHANGED, "recorded")}
    assert {n for n, c in logins(fleet).items() if c != before[n]} == {moved}, "an unchanged device was connected to"
    fleet[FIRST[0]].running = "! changed by hand\n"  # unseen by the record: --all reads every device
    report = deploy(tmp_path, configs=configs, every=True)
    assert all(c == before[n] + 1 + (n == moved) for n, c in logins(fleet).items())
    assert statuses(report)[FIRST[0]] == CHANGED and fleet[FIRST[0]].running.endswith("! intended\n")
    assert {s for n, s in statuses(report).items() if n != FIRST[0]} == {UNCHANGED}


def test_a_failed_push_is_forgotten_and_pushed_again(fleet: Fleet, tmp_path: Path) -> None:
    sick = SECOND[1]
    fleet[sick].breaks = True
    assert statuses(deploy(tmp_path, tolerance=1))[sick] == ROLLED_BACK
    fleet[sick].breaks = False
    before = logins(fleet)
    report = deploy(tmp_path)
    assert statuses(report)[sick] == CHANGED
    assert {n for n, c in logins(fleet).items() if c != before[n]} == {sick}


def test_a_device_found_unchanged_is_recorded_and_a_dry_run_difference_forgets(fleet: Fleet, tmp_path: Path) -> None:
    for name, box in fleet.boxes.items():
        box.running = f"hostname {name}\n! intended\n"
    assert set(statuses(deploy(tmp_path, dry_run=True)).values()) == {UNCHANGED}
    assert pushed.load(tmp_path).keys() == set(NETWORK.devices)  # the device said: nothing to change
    drifted = FIRST[1]
    assert statuses(deploy(tmp_path, dry_run=True, every=True))[drifted] == UNCHANGED
    fleet[drifted].running = "! drifted\n"
    assert statuses(deploy(tmp_path, dry_run=True, every=True))[drifted] == WOULD_CHANGE
    assert drifted not in pushed.load(tmp_path), "a device seen differing stays vouched for"
    before = logins(fleet)
    assert statuses(deploy(tmp_path))[drifted] == CHANGED
    assert {n for n, c in logins(fleet).items() if c != before[n]} == {drifted}


def test_the_record_holds_digests_only_private_and_a_rotated_secret_changes_them(tmp_path: Path) -> None:
    config = "router ospf\n area 0 authentication message-digest\n ip ospf message-digest-key 1 md5 s3cret-key\n"
    pushed.update(tmp_path, {"core1": pushed.digest(config, None), "dc-sw1": pushed.digest("x", "table inet")})
    text = (tmp_path / pushed.FILE).read_text()
    assert "s3cret-key" not in text and (tmp_path / pushed.FILE).stat().st_mode & 0o777 == 0o600
    assert pushed.digest(config.replace("s3cret-key", "other-key"), None) != pushed.load(tmp_path)["core1"]
    assert pushed.digest("x", None) != pushed.digest("x", "table inet"), "the zone policy is part of what is pushed"
    pushed.forget(tmp_path, ["core1"])
    assert set(pushed.load(tmp_path)) == {"dc-sw1"}
    pushed.forget(tmp_path)
    assert pushed.load(tmp_path) == {}
    (tmp_path / pushed.FILE).write_text("{not json")
    assert pushed.load(tmp_path) == {}, "an unreadable record vouches for nothing"
