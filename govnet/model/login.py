"""The device login: ``GOVNET_USERNAME`` / ``GOVNET_PASSWORD``, and the lab's documented default.

One place for the default, read by the lab (the login user it creates), the deploy (the login it uses), the Pulumi
program and the recording tool. The default password is lab-only (docs/lab.md): any other environment must set
``GOVNET_PASSWORD``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_USERNAME = "govnet"
LAB_PASSWORD = "govnet-lab"


def username(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get("GOVNET_USERNAME") or DEFAULT_USERNAME


def password(env: str, environ: Mapping[str, str] | None = None) -> str:
    """``GOVNET_PASSWORD``; the lab default in the lab environment, '' (unset) anywhere else."""
    environ = os.environ if environ is None else environ
    return environ.get("GOVNET_PASSWORD") or (LAB_PASSWORD if env == "lab" else "")
