"""Policies over what the program declares: each holds for the Karbala model and fails on a model broken on
purpose (built with dataclasses.replace, so the broken model never passes through validation)."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Interface

import pulumi
from govnet.model import Network
from govnet_pulumi import policy
from govnet_pulumi.policy import Declared
from govnet_pulumi.router_config import RouterConfig, RouterConfigArgs, RouterConfigProvider
from tests.pulumi.conftest import ROUTER_PASSWORD, SECRETS, Run, run_program, settings


def with_server(network: Network, name: str, **changes: object) -> Network:
    servers = tuple(dataclasses.replace(s, **changes) if s.name == name else s for s in network.servers)
    return dataclasses.replace(network, servers=servers)


def test_karbala_passes_every_policy(lab_run: Run, lab_network: Network) -> None:
    assert policy.no_database_in_dmz(lab_run.declared, lab_network) == []
    assert policy.vms_tagged_with_phase(lab_run.declared, lab_network) == []
    assert policy.no_plaintext_secrets(lab_run.declared, SECRETS) == []


def test_database_on_the_dmz_is_refused(lab_network: Network) -> None:
    dmz = lab_network.segment("dc", "dmz")
    bad = with_server(
        lab_network,
        "db1",
        segment="dmz",
        address=IPv4Interface(f"{dmz.prefix[20]}/{dmz.prefix.prefixlen}"),
        gateway=dmz.gateway.ip,
        zone=dmz.zone,
    )
    run = run_program(bad, settings())
    assert policy.no_database_in_dmz(run.declared, bad) == [f"db1: database server on DMZ VLAN {dmz.vlan}"]


def test_a_vm_tagged_with_no_rollout_phase_is_refused(lab_network: Network) -> None:
    bad = with_server(lab_network, "mon1", phase=7)
    run = run_program(bad, settings())
    problems = policy.vms_tagged_with_phase(run.declared, bad)
    assert problems == ["mon1: phase-7 is not a rollout phase (phases: [1, 2])"]


def test_a_vm_without_its_planned_phase_tag_is_refused(lab_run: Run, lab_network: Network) -> None:
    """The program tags from the model, so the check also compares against the plan: swap the plan's phases."""
    phases = (*lab_network.phases[1:], *lab_network.phases[:1])
    moved = with_server(lab_network, "app2", phase=phases[0].id)
    problems = policy.vms_tagged_with_phase(lab_run.declared, moved)
    assert problems == [f"app2: tagged phase-1, planned for phase {phases[0].id}"]


def test_a_secret_pasted_into_the_model_is_caught(lab_network: Network) -> None:
    """A router password pasted into an interface description reaches a RouterConfig input in clear text."""
    dev = lab_network.devices["health-r1"]
    ifaces = tuple(
        dataclasses.replace(i, description=f"to core1 (pw {ROUTER_PASSWORD})") if i.name == "eth1" else i
        for i in dev.interfaces
    )
    bad = dataclasses.replace(
        lab_network, devices={**lab_network.devices, "health-r1": dataclasses.replace(dev, interfaces=ifaces)}
    )
    run = run_program(bad, settings())
    problems = policy.no_plaintext_secrets(run.declared, SECRETS)
    assert problems == [
        "pulumi-python:dynamic/govnet:RouterConfig core1-eth6--health-r1-eth1-health-r1: "
        "input intended carries a secret in plain text"
    ]


def test_secret_named_inputs_must_be_pulumi_secrets() -> None:
    declared = [
        Declared("pulumi:providers:proxmoxve", "proxmox", {"endpoint": "https://pve.invalid", "apiToken": "x"}),
        Declared(
            "t:x:Y",
            "ok",
            {"password": {pulumi.runtime.rpc._special_sig_key: pulumi.runtime.rpc._special_secret_sig, "value": "x"}},
        ),
    ]
    assert policy.no_plaintext_secrets(declared, ()) == [
        "pulumi:providers:proxmoxve proxmox: input apiToken is not a Pulumi secret"
    ]


class LeakyProvider(RouterConfigProvider):
    """A provider that keeps a credential on itself: Pulumi would pickle it into the stack state."""

    def __init__(self, password: str) -> None:
        super().__init__()
        self.password = password


def test_a_provider_that_captured_a_credential_is_caught(lab_network: Network) -> None:
    from tests.pulumi.conftest import RecordingMocks

    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="govnet", stack="lab", preview=False)

    @pulumi.runtime.test
    def declare() -> pulumi.Output[str]:
        args = RouterConfigArgs(
            "core1", "198.19.0.2", "frr", "interface eth1", "interface eth1\nexit\n", "govnet", ROUTER_PASSWORD
        )
        return RouterConfig("leaky", args, provider=LeakyProvider(ROUTER_PASSWORD)).id

    declare()
    assert policy.no_plaintext_secrets(mocks.declared, SECRETS) == [
        "pulumi-python:dynamic/govnet:RouterConfig leaky: the serialized provider captured a secret"
    ]
