"""Run the Pulumi program under `pulumi.runtime.Mocks`: no CLI, no provider plugins, no devices."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import pulumi

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "pulumi"))

from govnet.model import Network, load_network  # noqa: E402
from govnet_pulumi import program  # noqa: E402
from govnet_pulumi.policy import Declared  # noqa: E402
from govnet_pulumi.settings import Proxmox, Secret, Settings  # noqa: E402

#: Recognisable fake credentials: any of them in clear text in a resource input is a failure.
ROUTER_PASSWORD = "rtr-pw-7f3a9c21"
PROXMOX_TOKEN = "govnet@pve!pulumi=0d9c6f4e-token"
SECRETS = (ROUTER_PASSWORD, PROXMOX_TOKEN)


class RecordingMocks(pulumi.runtime.Mocks):
    """Accepts every resource and remembers what was registered (type, name, inputs as the engine sees them)."""

    def __init__(self) -> None:
        self.declared: list[Declared] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.declared.append(Declared(args.typ, args.name, dict(args.inputs)))
        state = dict(args.inputs)
        if args.typ.startswith("proxmoxve:index/vmLegacy"):
            state["vmId"] = 100 + len(self.declared)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


@dataclass
class Run:
    """A finished mock run: the Program object, its resolved outputs and every registered resource."""

    program: program.Program
    outputs: dict[str, Any]
    declared: list[Declared]
    config_urns: dict[str, list[str]]

    def of_type(self, token: str) -> list[Declared]:
        return [d for d in self.declared if d.type == token]


def settings(env: str = "lab", **overrides: Any) -> Settings:
    """Stack settings as a production-like stack would have them, with the fake credentials above."""
    base = Settings(
        inventory=ROOT / "inventory" / "karbala",
        env=env,
        router_username="govnet",
        router_password=Secret(ROUTER_PASSWORD),
        known_hosts="/nonexistent/known_hosts",
        proxmox=Proxmox(endpoint="https://pve.invalid:8006/", api_token=Secret(PROXMOX_TOKEN), node="pve1"),
        admin_ssh_keys=("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtest admin@govnet",),
    )
    return Settings(**{**base.__dict__, **overrides})


def run_program(network: Network, config: Settings) -> Run:
    """Build the program under fresh mocks and wait until every output (and so every resource) resolved."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="govnet", stack=config.env, preview=False)
    box: dict[str, Any] = {}

    @pulumi.runtime.test
    def _run() -> pulumi.Output[None]:
        box["program"] = built = program.build(network, config)
        urns = {name: pulumi.Output.all(*(r.urn for r in link.ends)) for name, link in built.links.items()}
        ids = [r.id for link in built.links.values() for r in link.ends]
        return pulumi.Output.all(pulumi.Output.from_input(built.outputs), urns, *ids).apply(
            lambda resolved: box.update(outputs=resolved[0], urns=resolved[1])
        )

    _run()
    return Run(box["program"], box["outputs"], mocks.declared, box["urns"])


@pytest.fixture(scope="session")
def lab_network() -> Network:
    return load_network(ROOT / "inventory" / "karbala", env="lab")


@pytest.fixture(scope="session")
def lab_run(lab_network: Network) -> Run:
    return run_program(lab_network, settings())


@pytest.fixture
def runner() -> Callable[[Network, Settings], Run]:
    return run_program
