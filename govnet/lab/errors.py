"""The two ways a lab command fails, mapped to the CLI's exit codes."""

from __future__ import annotations


class LabUsageError(Exception):
    """Bad input or usage (not root, a missing package, a lab already up): exit 2."""


class LabError(Exception):
    """An operation failed (a daemon did not start, a name is taken): exit 1."""
