"""govnet.network.deploy: documented, and maps `govnet deploy --json` results to Ansible's changed/diff/check mode.

The module's contract is exercised against a stand-in `govnet` executable: a small fake that records its arguments
and prints a report in `govnet deploy --json`'s shape (devices[].device/status/diff), so the test does not depend
on the lab; network.yml's syntax is checked in test_playbooks."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from .conftest import run, tail

FAKE = """#!/bin/sh
echo "$@" > "{log}"
case " $* " in
  *" --dry-run "*) echo '{{"ok": true, "changed": 0, "devices": [
      {{"device": "core1", "status": "would-change", "diff": "+ip route 0.0.0.0/0 Null0"}},
      {{"device": "core2", "status": "unchanged", "diff": ""}}]}}' ;;
  *) echo '{{"ok": true, "changed": 0, "devices": [{{"device": "core1", "status": "unchanged", "diff": ""}}]}}' ;;
esac
"""


def fake_govnet(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "args"
    exe = tmp_path / "govnet"
    exe.write_text(FAKE.format(log=log))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe, log


def run_module(tmp_path: Path, exe: Path, *flags: str, **params: object) -> dict[str, object]:
    args = json.dumps({"devices": ["core1", "core2"], "env": "lab", "executable": str(exe), **params})
    proc = run(
        ["ansible", "localhost", "-m", "govnet.network.deploy", "-a", args, *flags],
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
    )
    assert proc.returncode == 0, tail(proc)
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return dict(result)


def test_module_documentation_parses() -> None:
    proc = run(["ansible-doc", "--json", "govnet.network.deploy"])
    assert proc.returncode == 0, tail(proc)
    doc = json.loads(proc.stdout)["govnet.network.deploy"]["doc"]
    assert {"devices", "phase", "env", "confirm_timeout", "inventory", "wait"} <= set(doc["options"])


def test_check_mode_is_a_dry_run_with_diff(tmp_path: Path) -> None:
    exe, log = fake_govnet(tmp_path)
    result = run_module(tmp_path, exe, "--check", "--diff")
    assert log.read_text().split() == ["--env", "lab", "deploy", "--json", "--limit", "core1,core2", "--dry-run"]
    assert result["changed"] is True
    assert "+ip route 0.0.0.0/0 Null0" in json.dumps(result["diff"])


def test_push_without_changes_reports_ok(tmp_path: Path) -> None:
    exe, log = fake_govnet(tmp_path)
    result = run_module(tmp_path, exe)
    assert "--dry-run" not in log.read_text()
    assert result["changed"] is False


def test_failed_deploy_fails_the_task(tmp_path: Path) -> None:
    exe = tmp_path / "govnet"
    exe.write_text("#!/bin/sh\necho 'core1: commit refused' >&2\nexit 1\n")
    exe.chmod(0o755)
    args = json.dumps({"devices": ["core1"], "executable": str(exe)})
    proc = run(["ansible", "localhost", "-m", "govnet.network.deploy", "-a", args])
    assert proc.returncode != 0
    assert "core1: commit refused" in proc.stdout


def test_wait_is_handed_to_the_deploy_lock(tmp_path: Path) -> None:
    """The module shares the command line's one-deploy-at-a-time lock; `wait` becomes `--wait`."""
    exe, log = fake_govnet(tmp_path)
    run_module(tmp_path, exe, wait=30)
    words = log.read_text().split()
    assert words[words.index("--wait") + 1] == "30.0"
