"""Routing-protocol keys and BFD: where the keys come from, where they must not go, and verify's two checks."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from govnet.deploy.audit import redact
from govnet.deploy.backups import BackupStore
from govnet.model import load_network
from govnet.render import LAB_KEYS, render_device, secret_names, secrets_from_env, unresolved
from govnet.verify.hardening import auth_check, bfd_check, planned_bfd

ROOT = Path(__file__).resolve().parents[2]
NETS = {env: load_network(ROOT / "inventory" / "karbala", env) for env in ("lab", "production")}
ROUTING = {"ospf_key", "bgp_key", "bgp_key_isp_a", "bgp_key_isp_b"}


def test_every_routing_key_is_a_secret_with_one_key_per_isp() -> None:
    assert set(secret_names(NETS["lab"])) >= ROUTING
    assert {u.key for u in NETS["production"].internet.uplinks} == {"bgp_key_isp_a", "bgp_key_isp_b"}  # type: ignore[union-attr]


@pytest.mark.parametrize("env", ["lab", "production"])
def test_offline_render_holds_placeholders_never_a_default_key(env: str) -> None:
    for name in ("core1", "health-r1"):
        text = render_device(NETS[env], name)
        assert {"ospf_key", "bgp_key"} <= set(unresolved(text))
        assert not any(v in text for v in LAB_KEYS.values())
    assert "bgp_key_isp_a" in unresolved(render_device(NETS[env], "edge1"))


def test_lab_defaults_apply_to_the_lab_only_and_the_environment_wins() -> None:
    lab = secrets_from_env({}, NETS["lab"])
    assert lab["ospf_key"] == LAB_KEYS["ospf_key"] and lab["bgp_key_isp_a"] == "govnet-lab-isp"
    prod = secrets_from_env({}, NETS["production"])
    assert all(prod[n] == f"<vault:{n}>" for n in ROUTING)
    assert secrets_from_env({"GOVNET_BGP_KEY_ISP_B": "b-key"}, NETS["production"])["bgp_key_isp_b"] == "b-key"


def test_filled_config_authenticates_every_adjacency_on_both_platforms() -> None:
    keys = {"GOVNET_OSPF_KEY": "ospf-k", "GOVNET_BGP_KEY": "ibgp-k", "GOVNET_BGP_KEY_ISP_A": "isp-a-k"}
    for env, net in NETS.items():
        text = render_device(net, "edge1", secrets_from_env(keys, net))
        links = len(planned_bfd(net, "edge1"))
        assert text.count("message-digest-key 1 md5 ospf-k") == links > 0, env
        assert text.count(" password ibgp-k") == len(net.devices["edge1"].bgp_neighbors) > 0, env
        assert " password isp-a-k" in text, env
        assert auth_check(net, "edge1", text).ok, env
        masked = redact(text, tuple(keys.values()))
        assert not any(k in masked for k in keys.values()), env


def test_auth_check_names_a_link_and_a_session_without_keys() -> None:
    net = NETS["lab"]
    text = render_device(net, "health-r1", secrets_from_env({}, net))
    peer = str(net.devices["health-r1"].bgp_neighbors[0].address)
    ifn = planned_bfd(net, "health-r1")[0][0]
    stripped = text.replace(f" neighbor {peer} password {LAB_KEYS['bgp_key']}\n", "")
    stripped = stripped.replace(f"interface {ifn}\n", f"interface {ifn}\n!\ninterface parked\n", 1)
    check = auth_check(net, "health-r1", stripped)
    assert not check.ok
    assert check.detail == f"no authentication: OSPF {ifn}, BGP {peer}"
    assert LAB_KEYS["ospf_key"] not in check.detail


def test_bfd_check_wants_every_planned_adjacency_up() -> None:
    net = NETS["lab"]
    planned = planned_bfd(net, "core1")
    peers = [{"multihop": False, "peer": a, "interface": i, "status": "up"} for i, a in planned]
    assert bfd_check(net, "core1", peers).ok
    peers[0]["status"] = "down"
    check = bfd_check(net, "core1", peers)
    assert not check.ok and check.detail == f"not up: {planned[0][0]} {planned[0][1]}"


def test_bfd_timers_come_from_the_environment() -> None:
    lab = render_device(NETS["lab"], "core1")
    assert "  transmit-interval 100\n  receive-interval 100\n" in lab and " ip ospf bfd profile ospf\n" in lab
    prod = render_device(NETS["production"], "core1")
    assert prod.count(" bfd interval 300 min_rx 300 multiplier 3\n ip ospf bfd\n") == len(
        planned_bfd(NETS["production"], "core1")
    )


def test_backups_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    backup = BackupStore(tmp_path).save("core1", "interface eth1\n ip ospf message-digest-key 1 md5 k\n")
    assert stat.S_IMODE(backup.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.path.parent.stat().st_mode) == 0o700


def test_a_key_the_platforms_would_refuse_is_one_line_each() -> None:
    from govnet.render import secret_problems

    good = secrets_from_env({}, NETS["lab"])
    assert secret_problems(good) == []
    bad = {**good, "ospf_key": "x" * 17, "bgp_key_isp_a": "has space", "bgp_key": "y" * 26}
    assert secret_problems(bad) == [
        "GOVNET_BGP_KEY: 26 characters; a BGP TCP-MD5 password holds at most 25",
        "GOVNET_BGP_KEY_ISP_A: a BGP TCP-MD5 password must be printable ASCII without spaces",
        "GOVNET_OSPF_KEY: 17 characters; an OSPF MD5 key holds at most 16",
    ]
    assert secret_problems({**good, "ospf_key": "x" * 16}) == []


def test_render_with_a_too_long_ospf_key_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "GOVNET_OSPF_KEY": "k" * 20}
    proc = subprocess.run(
        [sys.executable, "-m", "govnet", "--env", "lab", "render", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["GOVNET_OSPF_KEY: 20 characters; an OSPF MD5 key holds at most 16"]
    assert not (tmp_path / "out").exists()
