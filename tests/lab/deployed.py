"""The deployed Karbala lab, shared by the lab tests that need full configs (verify, the hardening drills).

The session's lab boots with bootstrap configs; ``deploy_full`` pushes the full rendered configs (frr-reload inside
each device's namespaces), the nftables zone policy and the DC service listeners; ``undeploy`` puts the bootstrap
configs back.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from govnet.lab.health import wait_ospf_full
from govnet.lab.nsexec import watchfrr_pid
from govnet.lab.state import Lab
from govnet.model.derived import Network
from govnet.policy import flush_script, render_nftables
from govnet.render import render_bootstrap, render_device, secrets_from_env
from govnet.verify import services
from govnet.verify.run import verify

FRR_RELOAD = "/usr/lib/frr/frr-reload.py"


def push_config(lab: Lab, name: str, text: str) -> None:
    """Replace a device's config with frr-reload, inside its UTS and network namespaces (hostname stays right)."""
    dev = lab.devices[name]
    with tempfile.TemporaryDirectory(prefix="gv-verify-") as tmp:
        path = Path(tmp) / "intended.conf"
        path.write_text(text)
        argv = [FRR_RELOAD, "--reload", "--pathspace", dev.instance, "--stdout", "--log-level", "error"]
        argv += ["--rundir", tmp, "--confdir", "/etc/frr", str(path)]
        pid = watchfrr_pid(dev.instance)
        assert pid is not None, f"{name}: FRR not running"
        subprocess.run(["nsenter", "-t", str(pid), "-u", "-n", "--", *argv], check=True, capture_output=True)


def nft(lab: Lab, name: str, script: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", lab.devices[name].netns, "nft", "-f", "-"], input=script, text=True, check=True
    )


def servers_of(lab: Lab) -> dict[str, tuple[str, str]]:
    return {k: (v.netns, v.address) for k, v in lab.servers.items()}


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            pytest.fail(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.5)


def deploy_full(lab: Lab) -> None:
    """Full configs, zone policy and service listeners on every device; returns when every allowed ping answers."""
    net: Network = lab.network
    with ThreadPoolExecutor(max_workers=4) as pool:
        # the lab's routing keys, as deploy and the emulated ISP routers have them (placeholders would not match)
        keys = secrets_from_env(network=net)
        list(pool.map(lambda n: push_config(lab, n, render_device(net, n, keys)), net.devices))
    for name in net.devices:
        script = render_nftables(net, name)
        if script:
            nft(lab, name, script)
    services.start(net, servers_of(lab))
    wait_ospf_full(lab, timeout=120)
    wait_for(lambda: verify(net, lab, only={"reachability"}).ok, 90, "every policy-allowed ping answered")


def undeploy(lab: Lab) -> None:
    """Bootstrap configs again, no zone policy, no service listeners."""
    net: Network = lab.network
    services.stop(servers_of(lab))
    for name in net.devices:
        if render_nftables(net, name):
            nft(lab, name, flush_script())
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: push_config(lab, n, render_bootstrap(net, n)), net.devices))
