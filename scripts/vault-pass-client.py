#!/usr/bin/env python3
"""Ansible Vault password client: the vault password comes from the environment, never from a file in the repo.

Ansible runs it as `vault-pass-client.py --vault-id <id>` (see `vault_identity_list` in ansible.cfg).
  lab         GOVNET_VAULT_PASSWORD, or the documented lab password `govnet-lab` when unset (lab secrets only
              protect emulated servers; docs/ansible.md)
  production  GOVNET_VAULT_PASSWORD_PRODUCTION, required; there is no default
"""

from __future__ import annotations

import argparse
import os
import sys

LAB_DEFAULT = "govnet-lab"


def password(vault_id: str) -> str | None:
    """Lab falls back to its documented password so `make lab` works out of the box; nothing else does."""
    if vault_id == "lab":
        return os.environ.get("GOVNET_VAULT_PASSWORD") or LAB_DEFAULT
    return os.environ.get(f"GOVNET_VAULT_PASSWORD_{vault_id.upper()}") or None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vault-id", default="lab")
    args = parser.parse_args()
    secret = password(args.vault_id)
    if secret is None:
        print(
            f"vault-pass-client: set GOVNET_VAULT_PASSWORD_{args.vault_id.upper()} for vault id '{args.vault_id}'",
            file=sys.stderr,
        )
        return 2
    sys.stdout.write(secret + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
