"""Platform data: what a platform and each hardware model of it can do, validated.

`network_templates/<platform>/platform.yml` is data, not code: interface naming, the features the templates
render, how NAPALM reaches the platform (driver and its arguments), what the platform's commit can do (a commit
message, the revert timer's unit and range, how "unchanged" is decided) and, for real hardware, one entry per
model: its ports in the order the inventory's `eth1`, `eth2`… map onto them, their speed, the management port and
its built-in VRF, whether it is a switch, and the routing protocols its licence runs.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

TEMPLATES_ENV = "GOVNET_TEMPLATES"


def templates_root() -> Path:
    """The platform definitions and templates: ``$GOVNET_TEMPLATES`` when set, else the package's own copy.

    The package's copy is ``govnet/network_templates``, a symlink to the repository's top-level
    ``network_templates/`` (the place users edit) that a built wheel carries as package data. govnet is installed
    unzipped (a setuptools wheel), so the copy is found beside this module, without importlib.resources (a few ms
    of every command's start-up).
    """
    override = os.environ.get(TEMPLATES_ENV)
    if override:
        return Path(override).absolute()
    return Path(__file__).parent.parent / "network_templates"


TEMPLATES = templates_root()

Protocol = Literal["ospf", "bgp", "static"]


class _Base(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PortGroup(_Base):
    """`count` consecutive ports named by `name` with `{i}` running from `first`."""

    name: str = Field(pattern=r"\{i\}")
    first: int = Field(default=0, ge=0)
    count: int = Field(ge=1)
    speed_mbps: int = Field(ge=10)

    def names(self) -> list[str]:
        return [self.name.format(i=i) for i in range(self.first, self.first + self.count)]


class Port(_Base):
    name: str
    speed_mbps: int


class Management(_Base):
    interface: str
    vrf: str
    builtin: bool = Field(description="the VRF exists on the box already (Mgmt-intf, Mgmt-vrf) and is never defined")


class HardwareModel(_Base):
    description: str
    switch: bool = Field(default=False, description="front ports are switchports: a routed use needs `no switchport`")
    routed_ports: tuple[PortGroup, ...] = Field(min_length=1, description="ethN maps to the N-th of these ports")
    access_ports: tuple[PortGroup, ...] = ()
    mgmt: Management
    protocols: frozenset[Protocol] = Field(description="the routing protocols the licence level runs")
    licence: str = ""
    filesystem: str = Field(default="flash:", description="where the archive and the driver's files live")
    baseline: str = Field(default="", description="file under baseline/ kept verbatim in every config of the model")

    @model_validator(mode="after")
    def _switch_ports(self) -> HardwareModel:
        if self.access_ports and not self.switch:
            raise ValueError("access_ports need switch: true")
        return self

    def routed(self) -> list[Port]:
        return [Port(name=n, speed_mbps=g.speed_mbps) for g in self.routed_ports for n in g.names()]

    def access(self) -> list[Port]:
        return [Port(name=n, speed_mbps=g.speed_mbps) for g in self.access_ports for n in g.names()]


class RevertTimer(_Base):
    """What the platform's commit-confirm timer accepts, in seconds (IOS: whole minutes, 1 to 120)."""

    min_s: int = Field(ge=1)
    max_s: int = Field(ge=1)
    step_s: int = Field(default=1, ge=1)

    def problem(self, seconds: int) -> str | None:
        """Why *seconds* is not a valid timer here, or None."""
        if not self.min_s <= seconds <= self.max_s or seconds % self.step_s:
            step = f" in steps of {self.step_s}" if self.step_s > 1 else ""
            return f"must be {self.min_s}..{self.max_s} seconds{step}, got {seconds}"
        return None


class DeploySettings(_Base):
    commit_message: bool = Field(description="the driver's commit_config takes a message")
    revert_timer: RevertTimer
    diff: Literal["driver", "hier_config"] = Field(
        default="driver", description="driver: compare_config decides; hier_config: running vs intended, normalised"
    )
    fresh_login_before_confirm: bool = Field(
        default=False, description="a new SSH login must succeed before a commit is confirmed (config can lock out)"
    )
    preserve: tuple[str, ...] = Field(
        default=(), description="regexes of top-level running-config sections a replace carries over (PKI, licence)"
    )


class NapalmSettings(_Base):
    driver: str
    optional_args: dict[str, bool | int | str] = Field(default_factory=dict)
    secret_env: str | None = Field(default=None, description="environment variable holding the enable secret")


class Platform(_Base):
    name: str
    description: str
    interface: str
    segment_interface: str
    mgmt_interface: str
    loopback_interface: str
    features: frozenset[str]
    napalm: NapalmSettings
    deploy: DeploySettings
    models: dict[str, HardwareModel] = Field(default_factory=dict)

    def model(self, name: str) -> HardwareModel | None:
        return self.models.get(name)

    def baseline(self, model: str) -> str:
        """The model's verbatim baseline lines ('' when it has none)."""
        hw = self.models.get(model)
        if hw is None or not hw.baseline:
            return ""
        return (TEMPLATES / self.name / "baseline" / hw.baseline).read_text()


class PlatformError(ValueError):
    """A platform.yml that does not validate: one line per problem, naming the file."""


@cache
def load_platform(name: str) -> Platform:
    path = TEMPLATES / name / "platform.yml"
    try:
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when built
        platform = Platform.model_validate(data)
    except OSError as exc:
        raise PlatformError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PlatformError(f"{path}: not YAML: {' '.join(str(exc).split())}") from None
    except ValidationError as exc:
        lines = [f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise PlatformError("\n".join(lines)) from None
    for model, hw in platform.models.items():
        if hw.baseline and not (TEMPLATES / name / "baseline" / hw.baseline).is_file():
            raise PlatformError(f"{path}: models.{model}.baseline: no file baseline/{hw.baseline}")
    return platform


def known_platforms() -> set[str]:
    return {p.parent.name for p in TEMPLATES.glob("*/platform.yml")}
