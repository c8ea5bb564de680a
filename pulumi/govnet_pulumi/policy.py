"""Policies over the resources a program declares (as the engine receives them, secrets still wrapped).

They check what would be deployed, not the model's intent: a program bug that put a database VM on the DMZ
VLAN is caught even if the model is right.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import rpc

from govnet.model.derived import Network
from govnet_pulumi.server import VM_TYPE

#: Input names that must only ever carry Pulumi secrets.
SECRET_KEY = re.compile(r"password|passwd|secret|token|private.?key|api.?key", re.IGNORECASE)


@dataclass(frozen=True)
class Declared:
    """One resource as registered: type token, name, inputs."""

    type: str
    name: str
    inputs: dict[str, Any]


def _vms(resources: Iterable[Declared]) -> Iterator[Declared]:
    return (r for r in resources if r.type == VM_TYPE)


def _tag(vm: Declared, prefix: str) -> list[str]:
    return [t[len(prefix) :] for t in vm.inputs.get("tags", []) if t.startswith(prefix)]


def no_database_in_dmz(resources: Iterable[Declared], network: Network) -> list[str]:
    """A database VM (by its role tag or the model's role) must have no NIC on a DMZ VLAN."""
    dmz = {s.vlan for s in network.segments if s.kind == "dmz"}
    roles = {s.name: s.role for s in network.servers}
    problems = []
    for vm in _vms(resources):
        name = vm.inputs.get("name", vm.name)
        if "database" not in (*_tag(vm, "role-"), roles.get(name)):
            continue
        for nic in vm.inputs.get("networkDevices", []):
            if nic.get("vlanId") in dmz:
                problems.append(f"{name}: database server on DMZ VLAN {int(nic['vlanId'])}")
    return problems


def vms_tagged_with_phase(resources: Iterable[Declared], network: Network) -> list[str]:
    """Every VM carries exactly one `phase-N` tag, N is a rollout phase, and it is the server's own phase."""
    phases = {p.id for p in network.phases}
    planned = {s.name: s.phase for s in network.servers}
    problems = []
    for vm in _vms(resources):
        name = vm.inputs.get("name", vm.name)
        tagged = _tag(vm, "phase-")
        if len(tagged) != 1:
            problems.append(f"{name}: {len(tagged)} phase tags (want exactly one)")
        elif not tagged[0].isdigit() or int(tagged[0]) not in phases:
            problems.append(f"{name}: phase-{tagged[0]} is not a rollout phase (phases: {sorted(phases)})")
        elif name in planned and int(tagged[0]) != planned[name]:
            problems.append(f"{name}: tagged phase-{tagged[0]}, planned for phase {planned[name]}")
    return problems


def _plain_values(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every leaf outside a secret wrapper, with its input path."""
    if rpc.is_rpc_secret(value):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _plain_values(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _plain_values(v, f"{path}[{i}]")
    else:
        yield path, value


def no_plaintext_secrets(resources: Iterable[Declared], secrets: Iterable[str]) -> list[str]:
    """No secret value in clear text in any input, and secret-named inputs only as Pulumi secrets.

    A dynamic resource's pickled provider is checked too: it is stored in the state and must not have captured
    a credential.
    """
    values = [s for s in secrets if s]
    problems = []
    for r in resources:
        for path, leaf in _plain_values(r.inputs, ""):
            key = path.rsplit(".", 1)[-1]
            if isinstance(leaf, str) and leaf and SECRET_KEY.search(key):
                problems.append(f"{r.type} {r.name}: input {path} is not a Pulumi secret")
            elif isinstance(leaf, str) and any(v in leaf for v in values):
                problems.append(f"{r.type} {r.name}: input {path} carries a secret in plain text")
        blob = r.inputs.get("__provider")
        if blob is not None:
            raw = base64.b64decode(str(rpc.unwrap_rpc_secret(blob)))
            if any(v.encode() in raw for v in values):
                problems.append(f"{r.type} {r.name}: the serialized provider captured a secret")
    return problems
