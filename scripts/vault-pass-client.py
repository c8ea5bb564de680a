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
from pathlib import Path

# the rule lives in govnet.vault (standard library only at import), which govnet's own vault reads share
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from govnet.vault import password, password_variable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vault-id", default="lab")
    args = parser.parse_args()
    secret = password(args.vault_id, os.environ)
    if secret is None:
        print(
            f"vault-pass-client: set {password_variable(args.vault_id)} for vault id '{args.vault_id}'", file=sys.stderr
        )
        return 2
    sys.stdout.write(secret + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
