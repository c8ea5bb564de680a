"""Where the on-box agent keeps an FRR instance's state, and where its resident process listens.

Shared by the agent (:mod:`govnet.lab.onbox`) and the device shell, which only needs the socket
path to hand a login's ``govnet-agent session`` to the resident agent. Standard library only, and
small: the device shell imports it on every agent login.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STATE_BASE = "/var/lib/govnet/onbox"
FRR_CONF_BASE = "/etc/frr"
#: The resident agent's listening socket, its pid file and the lock it holds while it runs.
SOCKET_NAME, PID_NAME, LOCK_NAME = "agent.sock", "agent.pid", "agent.lock"


def state_dir(instance: str) -> Path:
    """Where the agent keeps an instance's state.

    ``/var/lib/govnet/onbox/<instance>`` when the operator provisioned it (a packaged white box);
    otherwise a ``govnet-onbox`` directory inside the instance's FRR pathspace directory, which the
    login user can write through group ``frr`` (how the lab runs). ``GOVNET_ONBOX_DIR`` overrides
    the base; ``GOVNET_ONBOX_STATE`` (set for the revert timer) names the exact directory.
    """
    if os.environ.get("GOVNET_ONBOX_STATE"):
        return Path(os.environ["GOVNET_ONBOX_STATE"])
    if os.environ.get("GOVNET_ONBOX_DIR"):
        return Path(os.environ["GOVNET_ONBOX_DIR"]) / instance
    provisioned = Path(DEFAULT_STATE_BASE) / instance
    if provisioned.is_dir():
        return provisioned
    return Path(FRR_CONF_BASE) / instance / "govnet-onbox"


def agent_socket(instance: str) -> Path:
    """The resident agent's socket for *instance*."""
    return state_dir(instance) / SOCKET_NAME
