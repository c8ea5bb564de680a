"""Where the helper keeps an FRR instance's state, and where its resident process listens.

Shared by the helper and its session relay (:mod:`napalm_frr.helper.relay`), which runs on every helper
login: ``os`` only (``pathlib`` alone would cost the relay a third of its start), so paths are strings here.
"""

from __future__ import annotations

import os

#: The state base an operator provisions on a packaged box (``/var/lib/napalm-frr/<instance>``).
DEFAULT_STATE_BASE = "/var/lib/napalm-frr"
FRR_CONF_BASE = "/etc/frr"
#: The state directory's name inside an instance's FRR pathspace directory when none is provisioned.
PATHSPACE_DIR = "napalm-frr"
#: The resident helper's listening socket, its pid file and the lock it holds while it runs.
SOCKET_NAME, PID_NAME, LOCK_NAME = "helper.sock", "helper.pid", "helper.lock"
#: The name the default instance ("": plain ``vtysh``, no ``-N``) goes by under a state base.
DEFAULT_INSTANCE = "default"
#: Environment: the exact state directory (set for the revert timer), and the base to use instead.
STATE_ENV, DIR_ENV = "NAPALM_FRR_HELPER_STATE", "NAPALM_FRR_HELPER_DIR"


def state_path(instance: str) -> str:
    """Where the helper keeps an instance's state.

    ``/var/lib/napalm-frr/<instance>`` when the operator provisioned it (a packaged white box); otherwise a
    ``napalm-frr`` directory inside the instance's FRR pathspace directory, which the login user can write
    through group ``frr``. ``NAPALM_FRR_HELPER_DIR`` overrides the base; ``NAPALM_FRR_HELPER_STATE`` names
    the exact directory. The default instance (*instance* ""): ``/var/lib/napalm-frr/default``, else
    ``/etc/frr/napalm-frr``.
    """
    if os.environ.get(STATE_ENV):
        return os.environ[STATE_ENV]
    if os.environ.get(DIR_ENV):
        return os.path.join(os.environ[DIR_ENV], instance or DEFAULT_INSTANCE)
    provisioned = os.path.join(DEFAULT_STATE_BASE, instance or DEFAULT_INSTANCE)
    if os.path.isdir(provisioned):
        return provisioned
    return os.path.join(FRR_CONF_BASE, instance, PATHSPACE_DIR)


def helper_socket(instance: str) -> str:
    """The resident helper's socket for *instance*."""
    return os.path.join(state_path(instance), SOCKET_NAME)
