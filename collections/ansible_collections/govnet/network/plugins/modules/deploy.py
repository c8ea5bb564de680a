"""Ansible module: push router configurations through govnet's own deploy engine (the `govnet deploy` command)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: deploy
short_description: Push the governorate's router configurations with C(govnet deploy)
description:
  - Runs C(govnet deploy --json) for the given devices, so Ansible uses the same engine as the command line
    (backup, diff, commit with a revert timer, post-check, confirm or roll back).
  - In check mode runs C(govnet deploy --dry-run --json) and reports what would change; with C(--diff) the
    configuration diff of every device is shown.
  - Runs on the controller (delegate to localhost); devices are never contacted by Ansible itself.
version_added: "0.1.0"
author: Karbala governorate infrastructure team
options:
  devices:
    description: Device names to deploy (the play's hosts); empty deploys every device of the phase or inventory.
    type: list
    elements: str
    default: []
  phase:
    description: Deploy only the devices of this rollout phase.
    type: int
  inventory:
    description: govnet inventory directory (C(govnet --inventory)).
    type: path
  env:
    description: Environment (C(govnet --env)).
    type: str
    default: lab
    choices: [lab, production]
  confirm_timeout:
    description:
      - Seconds before an unconfirmed commit is rolled back on the device.
      - cisco_ios counts whole minutes (60 to 7200 in steps of 60); govnet deploy refuses any other value before
        connecting.
    type: int
  wait:
    description:
      - Seconds to wait for another deploy of the environment to finish (C(govnet deploy --wait)).
      - Without it, a deploy that finds another one running fails at once, naming the one that holds the lock.
    type: float
  executable:
    description: The govnet command; by default the one next to the Python running the module, then PATH.
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Push the configurations of the play's devices
  govnet.network.deploy:
    devices: "{{ ansible_play_hosts }}"
    env: lab
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
devices:
  description: Per-device results as reported by C(govnet deploy --json).
  returned: always
  type: list
  elements: dict
command:
  description: The command that ran.
  returned: always
  type: list
  elements: str
"""


def find_govnet(module: AnsibleModule) -> str:
    """Prefer the govnet installed with the controller's Python (the project venv), then PATH."""
    given = module.params["executable"]
    if given:
        return str(given)
    beside = os.path.join(os.path.dirname(sys.executable), "govnet")
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which("govnet")
    if not found:
        module.fail_json(msg="the govnet command was not found (install the project: scripts/bootstrap)")
    return str(found)


def build_command(module: AnsibleModule) -> list[str]:
    params = module.params
    cmd = [find_govnet(module)]
    if params["inventory"]:
        cmd += ["--inventory", params["inventory"]]
    cmd += ["--env", params["env"], "deploy", "--json"]
    if params["devices"]:
        cmd += ["--limit", ",".join(params["devices"])]
    if params["phase"] is not None:
        cmd += ["--phase", str(params["phase"])]
    if params["confirm_timeout"] is not None:
        cmd += ["--confirm-timeout", str(params["confirm_timeout"])]
    if params["wait"] is not None:
        cmd += ["--wait", str(params["wait"])]
    if module.check_mode:
        cmd.append("--dry-run")
    return cmd


def device_results(document: Any) -> list[dict[str, Any]]:
    """Accept a list of results, {"devices": [...]} or {"<device>": {...}} and return a list of dicts."""
    if isinstance(document, dict) and isinstance(document.get("devices"), list):
        document = document["devices"]
    if isinstance(document, dict):
        document = [
            dict(value, name=key) if isinstance(value, dict) else {"name": key, "result": value}
            for key, value in document.items()
        ]
    if not isinstance(document, list):
        return []
    return [item for item in document if isinstance(item, dict)]


def device_name(result: dict[str, Any]) -> str:
    return str(result.get("device") or result.get("name") or "?")


def device_changed(result: dict[str, Any]) -> bool:
    """`govnet deploy --json` reports status changed / would-change / unchanged per device."""
    return result.get("status") in ("changed", "would-change") or result.get("changed") is True


def diff_text(result: dict[str, Any]) -> str:
    diff = result.get("diff") or ""
    return "\n".join(diff) if isinstance(diff, list) else str(diff)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "devices": {"type": "list", "elements": "str", "default": []},
            "phase": {"type": "int"},
            "inventory": {"type": "path"},
            "env": {"type": "str", "default": "lab", "choices": ["lab", "production"]},
            "confirm_timeout": {"type": "int"},
            "wait": {"type": "float"},
            "executable": {"type": "path"},
        },
        supports_check_mode=True,
    )
    cmd = build_command(module)
    rc, out, err = module.run_command(cmd)
    try:
        document = json.loads(out) if out.strip() else None
    except ValueError:
        document = None
    results = device_results(document)
    if rc != 0 or document is None:
        module.fail_json(
            msg=(err.strip() or out.strip() or f"govnet deploy exited {rc}"),
            rc=rc,
            command=cmd,
            devices=results,
            stdout=out,
            stderr=err,
        )
    changed = any(device_changed(r) or bool(diff_text(r).strip()) for r in results)
    output: dict[str, Any] = {"changed": changed, "command": cmd, "devices": results}
    if module._diff:
        parts = [
            f"--- {device_name(r)} (running)\n+++ {device_name(r)} (intended)\n{diff_text(r)}"
            for r in results
            if diff_text(r).strip()
        ]
        output["diff"] = {"prepared": "\n".join(parts)}
    module.exit_json(**output)


if __name__ == "__main__":
    main()
