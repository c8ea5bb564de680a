"""Deploy figures on the lab: full deploy to every router, no-change deploy, the same change via Ansible, what
routing-protocol authentication costs a full deploy (the same governorate with ``routing_auth: false``), and what
the stock boxes cost it (the lab's mix of stock and lab boxes against the same governorate with ``lab_stock: []``).

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
import statistics
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


def variant(name: str, line: str, replacement: str) -> Path:
    """A copy of the Karbala inventory (and its IPAM lock) whose lab environment has *line* replaced."""
    inv = WORK / f"inventory-{name}" / "karbala"
    shutil.rmtree(inv.parent, ignore_errors=True)
    shutil.copytree(REPO / "inventory" / "karbala", inv)
    gov = inv / "governorate.yml"
    text = gov.read_text()
    assert line in text, f"the lab environment's {line.strip()!r} line moved"
    gov.write_text(text.replace(line, replacement, 1))
    return inv


def variant_deploy(inv: Path, what: str, quiet: bool = False) -> float | None:
    """A lab of *inv* up, one full deploy timed (None, said why, when the lab does not come up or the deploy
    fails)."""
    up = subprocess.run([sys.executable, "-m", "govnet", "-i", str(inv), "lab", "up"], env=ENV, cwd=REPO,
                        capture_output=True, text=True)  # fmt: skip
    try:
        if up.returncode != 0:
            print(f"full deploy {what}: not run: {up.stderr.strip()[-300:]}")
            return None
        took, proc = govnet("-i", str(inv), "deploy", "--json")
        if proc.returncode != 0 or not quiet:
            print(f"full deploy {what}: {took:.1f} s ({'ok' if proc.returncode == 0 else 'FAILED'})")
        return took if proc.returncode == 0 else None
    finally:
        subprocess.run([sys.executable, "-m", "govnet", "lab", "down"], env=ENV, cwd=REPO, capture_output=True)


def auth_cost(with_auth: float) -> None:
    """A full deploy of the same lab without authentication, against ``with_auth`` s with it."""
    line = "\n    bfd_multiplier: 3\n"
    inv = variant("no-auth", line, line + "    routing_auth: false\n")
    took = variant_deploy(inv, "without routing-protocol authentication")
    if took is not None:
        print(f"  with it {with_auth:.1f} s: authentication costs {100 * (with_auth - took) / took:+.1f} % "
              "(goal: within 10 %)")  # fmt: skip


def stock_cost(stock: int, rounds: int = 4) -> None:
    """Full deploys of the inventory's lab (its stock boxes get the driver's shipped helper, first contact included)
    and of the same lab with every router a lab box (resident helper), alternating, each on a fresh lab: one run
    each moves by a third on a shared machine, the medians of *rounds* much less."""
    resident = variant("no-stock", "\n    lab_stock: [", "\n    lab_stock: []  # was: [")
    mixed = REPO / "inventory" / "karbala"
    runs: dict[str, list[float]] = {"mixed": [], "resident": []}
    for i in range(rounds):  # ABBA: neither kind always runs first, after the other's teardown
        pair = (("mixed", mixed), ("resident", resident))
        for name, inv in pair if i % 2 == 0 else pair[::-1]:
            took = variant_deploy(inv, f"({name})", quiet=True)
            if took is None:
                return
            runs[name].append(took)
    m, r = statistics.median(runs["mixed"]), statistics.median(runs["resident"])
    print(
        f"full deploy, {stock} stock boxes and the rest lab boxes: median {m:.1f} s of {rounds} "
        f"({', '.join(f'{t:.1f}' for t in runs['mixed'])}); every router a lab box: median {r:.1f} s "
        f"({', '.join(f'{t:.1f}' for t in runs['resident'])}): the stock boxes cost {100 * (m - r) / r:+.1f} % "
        "(goal: within 10 %)"
    )


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
    stock = 0
    try:
        full, proc = govnet("deploy", "--json")
        ok = proc.returncode == 0
        nochange, proc2 = govnet("deploy", "--all", "--json")  # every device read and diffed
        recorded, proc4 = govnet("deploy", "--json")  # every device in the pushed record: none connected to
        print(
            f"full deploy to all {len(json.loads(proc.stdout)['devices'])} lab devices: {full:.1f} s "
            f"({'ok' if ok else 'FAILED'}, includes convergence post-checks; lab and stock boxes mixed)"
        )
        print(f"no-change deploy, --all (every device read): {nochange:.1f} s (exit {proc2.returncode})")
        print(f"no-change deploy, devices in the pushed record skipped: {recorded:.1f} s (exit {proc4.returncode})")
        # the same small change both ways: an out-of-band description, then put back by govnet
        from govnet.lab.state import Lab

        lab = Lab.load(LAB_DIR)
        assert lab is not None
        stock = sum(d.stock for d in lab.devices.values())
        # Ansible's network_cli expects the login to land in vtysh: the lab boxes only
        devices = {n: d.mgmt_ip for n, d in lab.devices.items() if not d.stock}
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
    auth_cost(full)
    stock_cost(stock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
