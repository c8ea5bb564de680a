"""The helper brought to a box that lacks it: the bootstrap run by a real ``python -S`` in a fresh home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from napalm_frr import helper, shipping


def contact(
    home: Path, payload: bytes | None, requests: list[list[str]], instance: str = "r1", **env_extra: str
) -> tuple[str, list[dict], int, str]:
    """One login running the ship command: (first line, replies, exit code, stderr)."""
    argv = [sys.executable, "-S", "-c", shipping.BOOTSTRAP, shipping.cache_name(), shipping.archive_sha256(), instance]
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin"), "NAPALM_FRR_HELPER_DIR": str(home / "state")}
    env.update(env_extra)
    proc = subprocess.Popen(
        [*argv, "session"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stdin is not None
    first = proc.stdout.readline().decode().strip()
    if first == "SEND":
        proc.stdin.write(shipping.send_payload() if payload is None else payload)
    lines = "".join(
        json.dumps({"argv": r[:1], "stdin": r[1]} if r[:1] in (["show"], ["ping"]) else {"argv": r}) + "\n"
        for r in requests
    )
    out, err = proc.communicate(lines.encode(), timeout=60)
    replies = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    return first, replies, proc.returncode, err.decode()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def cached(home: Path) -> Path:
    return home / ".cache" / "napalm-frr" / shipping.cache_name() / "helper.zip"


def test_first_contact_ships_the_helper_and_the_second_uses_the_cache(home: Path) -> None:
    first, replies, code, err = contact(home, None, [["status"]])
    assert (first, code) == ("SEND", 0), err
    assert replies[0]["ok"] and replies[0]["helper"]["version"] == helper.VERSION
    assert cached(home).read_bytes() == shipping.archive()
    first, replies, code, err = contact(home, b"", [["status"], ["confirm"]])
    assert (first, code) == ("READY", 0), err
    assert [r["exit"] for r in replies] == [0, 1]  # the same helper answering: no commit pending


def test_a_changed_cached_copy_is_replaced(home: Path) -> None:
    contact(home, None, [["status"]])
    cached(home).write_bytes(b"not the helper")
    first, replies, code, _ = contact(home, None, [["status"]])
    assert (first, code) == ("SEND", 0) and replies[0]["ok"]
    assert cached(home).read_bytes() == shipping.archive()


def test_an_archive_that_does_not_match_its_hash_is_refused(home: Path) -> None:
    bad = shipping.archive().replace(b"napalm_frr", b"napalm_xxx", 1)
    first, replies, code, err = contact(home, f"{len(bad)}\n".encode() + bad, [["status"]])
    assert (first, code, replies) == ("SEND", 3, [])
    assert "does not match its sha256" in err
    assert not cached(home).exists()


def test_a_newer_helper_replaces_the_older_ones(home: Path) -> None:
    old = home / ".cache" / "napalm-frr" / "0.0.1-0123456789abcdef"
    old.mkdir(parents=True)
    (old / "helper.zip").write_bytes(b"an older helper")
    contact(home, None, [["status"]])
    assert sorted(p.name for p in (home / ".cache" / "napalm-frr").iterdir()) == [shipping.cache_name()]


def test_the_archive_depends_on_the_sources_only() -> None:
    shipping.archive.cache_clear()
    again = shipping.archive()
    assert again == shipping.archive() and shipping.archive_sha256() == __import__("hashlib").sha256(again).hexdigest()
    assert shipping.cache_name() == f"{helper.VERSION}-{helper.source_digest()[:16]}"


def test_ship_command_quotes_for_a_shell(home: Path) -> None:
    """The command line a login runs is one the box's shell splits back into the bootstrap's argv."""
    command = shipping.ship_command("r1", ["session"], python=sys.executable)
    words = subprocess.run(
        ["sh", "-c", f"printf '%s\\0' {command[len(sys.executable) :]}"], capture_output=True, check=True
    )
    assert words.stdout.split(b"\0")[:-1] == [b"-S", b"-c", shipping.BOOTSTRAP.encode(), shipping.cache_name().encode(),
                                              shipping.archive_sha256().encode(), b"r1", b"session"]  # fmt: skip


def test_the_shipped_helper_runs_the_vtysh_it_is_given(home: Path) -> None:
    """optional_args vtysh_path reaches the helper (``env NAPALM_FRR_HELPER_VTYSH=...`` in the ship command); a
    vtysh that is not there is one clear refusal, not a traceback."""
    missing = str(home / "no" / "vtysh")
    _, replies, code, err = contact(home, None, [["show", '["show version"]']], NAPALM_FRR_HELPER_VTYSH=missing)
    assert code == 0 and "Traceback" not in err, err
    assert (replies[0]["ok"], replies[0]["exit"]) == (False, 1)
    assert replies[0]["error"] == f"cannot run {missing}: no such program"
    command = shipping.ship_command("r1", ["session"], vtysh=missing, sudo=True)
    assert command.startswith(f"sudo -n env NAPALM_FRR_HELPER_VTYSH={missing} python3 -S -c ")


def test_the_default_instance_is_the_empty_name(home: Path) -> None:
    """frr_instance "" (the default): the helper works on the box's default FRR (plain vtysh) and keeps its state
    under the name ``default``; a name vtysh -N would not take is refused."""
    first, replies, code, err = contact(home, None, [["status"]], instance="")
    assert (first, code) == ("SEND", 0), err
    assert replies[0]["ok"] and replies[0]["instance"] == ""
    assert (home / "state" / "default").is_dir()
    _, replies, _, _ = contact(home, None, [["status"]], instance="-N")
    assert replies == [{"ok": False, "exit": 2, "error": "usage: invalid FRR instance name '-N'"}]


def test_the_helper_pings_with_the_options_it_takes_only(home: Path) -> None:
    """``ping`` (for a login that lands in vtysh): iputils ping run without a shell, to loopback here; an option
    outside -c -s -W -t -I, or a word a shell or ping would read as more, is refused before anything runs."""
    ok = json.dumps(["ping", "-c", "1", "-W", "1", "127.0.0.1"])
    bad = [["ping", "-f", "127.0.0.1"], ["ping", "-c", "1", "-127.0.0.1"], ["ping", "-c", "1", "$(id)"], ["id"]]
    _, replies, code, err = contact(home, None, [["ping", ok], *(["ping", json.dumps(b)] for b in bad)])
    assert code == 0, err
    assert replies[0]["ok"] and replies[0]["code"] == 0 and "1 received" in replies[0]["output"], replies[0]
    assert [(r["ok"], r["exit"]) for r in replies[1:]] == [(False, 2)] * len(bad), replies[1:]
