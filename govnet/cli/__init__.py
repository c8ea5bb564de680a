"""The ``govnet`` command line: the contract in docs/design.md (exit 0 ok, 1 operation failed, 2 bad input or usage).

One module per command group: ``app`` (the root: validate, plan, render, and the groups mounted on it), ``deploy``
(deploy, backup, drift, rollback, audit), ``lab`` (lab up, down, status), ``verify`` (verify, diagram); ``common``
holds what they share. Every group is imported plainly: a broken module fails the command line loudly.
The device stack (NAPALM, Nornir, Netmiko) is imported only by the commands that talk to devices.
"""

from __future__ import annotations


def main() -> None:
    """The console entry point (``govnet = "govnet.cli:main"``); importing ``govnet.cli`` itself stays free."""
    from govnet.cli.app import main as run

    run()
