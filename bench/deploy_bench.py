"""Deploy figures on the lab: full deploy to every router, no-change deploy, the same change via Ansible, and what
routing-protocol authentication costs a full deploy (the same governorate with ``routing_auth: false``).

    sudo flock /tmp/govnet-lab.lock .venv/bin/python bench/deploy_bench.py

Brings up its own lab (bootstrap configs, state in build/lab-bench-deploy), measures, tears it down.
The Ansible comparison pushes one and the same change (a description on every router's mgmt0) with
``ansible.netcommon.network_cli`` (5 forks) and with ``govnet deploy``; it is reported as "not run"
with the reason when the Ansible side cannot talk to vtysh.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from govnet.model import login

REPO = Path(__file__).resolve().parents[1]
LAB_DIR = REPO / "build" / "lab-bench-deploy"
WORK = REPO / "build" / "lab-bench-deploy-work"
ENV = {**os.environ, "GOVNET_LAB_DIR": str(LAB_DIR), "GOVNET_DEPLOY_DIR": str(WORK)}


def govnet(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "govnet", *args], capture_output=True, text=True, env=ENV, cwd=REPO)
    return time.monotonic() - start, proc


def without_auth() -> Path:
    """A copy of the Karbala inventory (and its IPAM lock) whose lab turns routing-protocol authentication off."""
    inv = WORK / "inventory-no-auth" / "karbala"
    shutil.rmtree(inv.parent, ignore_errors=True)
    shutil.copytree(REPO / "inventory" / "karbala", inv)
    gov = inv / "governorate.yml"
    text = gov.read_text()
    assert "\n    bfd_multiplier: 3\n" in text, "the lab environment's bfd_multiplier line moved"
    gov.write_text(text.replace("\n    bfd_multiplier: 3\n", "\n    bfd_multiplier: 3\n    routing_auth: false\n", 1))
    return inv


def auth_cost(with_auth: float) -> None:
    """A full deploy of the same lab without authentication, against ``with_auth`` s with it."""
    inv = without_auth()
    up = subprocess.run([sys.executable, "-m", "govnet", "-i", str(inv), "lab", "up"], env=ENV, cwd=REPO,
                        capture_output=True, text=True)  # fmt: skip
    if up.returncode != 0:
        print(f"full deploy without authentication: not run: {up.stderr.strip()[-300:]}")
        return
    took, proc = govnet("-i", str(inv), "deploy", "--json")
    ok = "ok" if proc.returncode == 0 else "FAILED"
    print(f"full deploy without routing-protocol authentication: {took:.1f} s ({ok}); with it {with_auth:.1f} s: "
          f"authentication costs {100 * (with_auth - took) / took:+.1f} % (goal: within 10 %)")  # fmt: skip


def ansible_push(devices: dict[str, str], text: str, tmp: Path) -> tuple[float | None, str]:
    """The same description pushed with ansible.netcommon.network_cli (cisco.ios.ios_config over vtysh)."""
    if shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) is None:
        return None, "ansible-playbook not installed in the venv"
    inv = {
        "all": {
            "hosts": {n: {"ansible_host": ip} for n, ip in devices.items()},
            "vars": {
                "ansible_connection": "ansible.netcommon.network_cli",
                "ansible_network_os": "cisco.ios.ios",
                "ansible_user": login.username(ENV),
                "ansible_password": login.password("lab", ENV),
                "ansible_python_interpreter": sys.executable,
            },
        }
    }
    (tmp / "inv.json").write_text(json.dumps(inv))
    (tmp / "play.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - cisco.ios.ios_config:\n        parents: interface mgmt0\n"
        f"        lines: ['description {text}']\n"
    )
    # network_cli's paramiko transport reads only ~/.ssh/known_hosts: the comparison runs without host-key
    # checking (benchmark only, lab addresses only); govnet's side keeps strict checking.
    env = {**ENV, "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_FORKS": "5"}
    start = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp / "inv.json"), str(tmp / "play.yml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=900,
    )
    took = time.monotonic() - start
    if proc.returncode != 0:
        lines = [line for line in proc.stdout.splitlines() if "fatal" in line or "msg" in line]
        return None, (lines[0] if lines else proc.stderr.strip()[-300:])
    return took, ""


def main() -> int:
    if os.geteuid() != 0:
        print("deploy_bench: needs root (the lab)", file=sys.stderr)
        return 2
    shutil.rmtree(WORK, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "govnet", "lab", "down"], env=ENV, cwd=REPO, capture_output=True)
    up = subprocess.run(
        [sys.executable, "-m", "govnet", "lab", "up"], env=ENV, cwd=REPO, capture_output=True, text=True
    )
    if up.returncode != 0:
        print(up.stderr, file=sys.stderr)
        return 1
    try:
        full, proc = govnet("deploy", "--json")
        ok = proc.returncode == 0
        nochange, proc2 = govnet("deploy", "--all", "--json")  # every device read and diffed
        recorded, proc4 = govnet("deploy", "--json")  # every device in the pushed record: none connected to
        print(
            f"full deploy to all {len(json.loads(proc.stdout)['devices'])} lab devices: {full:.1f} s "
            f"({'ok' if ok else 'FAILED'}, includes convergence post-checks)"
        )
        print(f"no-change deploy, --all (every device read): {nochange:.1f} s (exit {proc2.returncode})")
        print(f"no-change deploy, devices in the pushed record skipped: {recorded:.1f} s (exit {proc4.returncode})")
        # the same small change both ways: an out-of-band description, then put back by govnet
        from govnet.lab.state import Lab

        lab = Lab.load(LAB_DIR)
        assert lab is not None
        devices = {n: d.mgmt_ip for n, d in lab.devices.items()}
        tmp = WORK / "ansible"
        tmp.mkdir(parents=True, exist_ok=True)
        ans, why = ansible_push(devices, "bench change", tmp)
        change, proc3 = govnet("deploy", "--all", "--json")  # reverts the change (unseen by the record) everywhere
        print(f"same one-line change, govnet deploy: {change:.1f} s (exit {proc3.returncode})")
        if ans is None:
            print(f"ansible network_cli (5 forks): not run: {why}")
        else:
            print(f"ansible network_cli (5 forks): {ans:.1f} s; govnet is {ans / change:.1f}x faster")
    finally:
        subprocess.run([sys.executable, "-m", "govnet", "lab", "down"], env=ENV, cwd=REPO, capture_output=True)
    try:
        auth_cost(full)
    finally:
        subprocess.run([sys.executable, "-m", "govnet", "lab", "down"], env=ENV, cwd=REPO, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
