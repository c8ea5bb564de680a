"""Where the on-box agent keeps an FRR instance's state, and where its resident process listens.

Shared by the agent (:mod:`govnet.lab.onbox`) and the session relay (:mod:`govnet.lab.agent_relay`),
which runs on every agent login: ``os`` only (``pathlib`` alone would cost the relay a third of its
start), so paths are strings here.
"""

from __future__ import annotations

import os

DEFAULT_STATE_BASE = "/var/lib/govnet/onbox"
FRR_CONF_BASE = "/etc/frr"
#: The resident agent's listening socket, its pid file and the lock it holds while it runs.
SOCKET_NAME, PID_NAME, LOCK_NAME = "agent.sock", "agent.pid", "agent.lock"


def state_path(instance: str) -> str:
    """Where the agent keeps an instance's state.

    ``/var/lib/govnet/onbox/<instance>`` when the operator provisioned it (a packaged white box);
    otherwise a ``govnet-onbox`` directory inside the instance's FRR pathspace directory, which the
    login user can write through group ``frr`` (how the lab runs). ``GOVNET_ONBOX_DIR`` overrides
    the base; ``GOVNET_ONBOX_STATE`` (set for the revert timer) names the exact directory.
    """
    if os.environ.get("GOVNET_ONBOX_STATE"):
        return os.environ["GOVNET_ONBOX_STATE"]
    if os.environ.get("GOVNET_ONBOX_DIR"):
        return os.path.join(os.environ["GOVNET_ONBOX_DIR"], instance)
    provisioned = os.path.join(DEFAULT_STATE_BASE, instance)
    if os.path.isdir(provisioned):
        return provisioned
    return os.path.join(FRR_CONF_BASE, instance, "govnet-onbox")


def agent_socket(instance: str) -> str:
    """The resident agent's socket for *instance*."""
    return os.path.join(state_path(instance), SOCKET_NAME)
