"""The Nornir inventory, built in code from the addressed model (no YAML of its own).

Each model device becomes a Nornir host: its management address, the NAPALM driver of its platform
(``network_templates/<platform>/platform.yml``: driver name and arguments), credentials from the environment,
the enable secret where the platform names a variable for it, and the known_hosts file its SSH host key is
checked against.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.plugins.runners import RunnersPluginRegister
from nornir.plugins.runners import ThreadedRunner
from nornir_napalm.plugins.connections import CONNECTION_NAME, Napalm

from govnet.model import login
from govnet.model.derived import Device, Network
from govnet.model.platform import PlatformError, known_platforms, load_platform


@dataclass(frozen=True)
class Credentials:
    """Login for every device; never written to logs, backups or the audit trail."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"


def credentials(env: str, environ: Mapping[str, str] | None = None) -> Credentials:
    """GOVNET_USERNAME / GOVNET_PASSWORD; the lab default password only in the lab environment."""
    secret = login.password(env, environ)
    if not secret:
        raise ValueError(f"GOVNET_PASSWORD is not set (required for the {env} environment)")
    return Credentials(login.username(environ), secret)


def known_hosts_file(env: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where host keys are checked: GOVNET_KNOWN_HOSTS, else the lab's file, else the user's own."""
    environ = os.environ if environ is None else environ
    if environ.get("GOVNET_KNOWN_HOSTS"):
        return Path(environ["GOVNET_KNOWN_HOSTS"])
    if env == "lab":
        return Path(environ.get("GOVNET_LAB_DIR") or "build/lab") / "known_hosts"
    return Path("~/.ssh/known_hosts").expanduser()


def driver_name(platform: str) -> str:
    """The NAPALM driver name of a model platform (its platform.yml)."""
    try:
        return load_platform(platform).napalm.driver
    except PlatformError:
        raise ValueError(f"no NAPALM driver for platform {platform!r}") from None


def napalm_driver(device: Device) -> str:
    """The NAPALM driver name for a device's platform."""
    try:
        return driver_name(device.platform)
    except ValueError:
        raise ValueError(f"{device.name}: no NAPALM driver for platform {device.platform!r}") from None


def enable_secret(platform: str, environ: Mapping[str, str] | None = None) -> str:
    """The enable secret from the variable the platform names (``napalm.secret_env``); '' when unset."""
    environ = os.environ if environ is None else environ
    name = load_platform(platform).napalm.secret_env
    return environ.get(name, "") if name else ""


def hidden_values(creds: Credentials, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every credential an error message, diff or audit record must never show."""
    secrets = {enable_secret(p, environ) for p in sorted(known_platforms())}
    return tuple(v for v in (creds.password, *sorted(secrets)) if v)


def platform_args(
    platform: str, known_hosts: Path, timeout: int, environ: Mapping[str, str] | None = None
) -> dict[str, object]:
    """Driver arguments: the platform's own (platform.yml), strict host-key checking against *known_hosts*, and
    the enable secret where the platform names its variable and it is set."""
    napalm = load_platform(platform).napalm
    args: dict[str, object] = dict(napalm.optional_args)
    if napalm.driver == "frr":  # napalm_frr (paramiko) reads known_hosts_file
        args.update(known_hosts_file=str(known_hosts), ssh_strict=True)
    else:  # Netmiko-based NAPALM drivers
        args.update(
            ssh_strict=True,
            alt_host_keys=True,
            alt_key_file=str(known_hosts),
            allow_agent=False,
            use_keys=False,
            conn_timeout=min(timeout, 15),
        )
    secret = enable_secret(platform, environ)
    if secret:
        args["secret"] = secret
    return args


def optional_args(device: Device, known_hosts: Path, timeout: int) -> dict[str, object]:
    """Driver arguments for one device (see platform_args)."""
    return platform_args(device.platform, known_hosts, timeout)


def open_driver(platform: str, hostname: str, creds: Credentials, known_hosts: Path, timeout: int = 30) -> Any:
    """A NAPALM driver for one device, not opened yet: the same driver and arguments a deploy uses."""
    from napalm import get_network_driver

    driver_class = get_network_driver(driver_name(platform))
    return driver_class(
        hostname,
        creds.username,
        creds.password,
        timeout=timeout,
        optional_args=platform_args(platform, known_hosts, timeout),
    )


def host(device: Device, creds: Credentials, known_hosts: Path, timeout: int = 30) -> Host:
    """One Nornir host for one model device."""
    extras = {"timeout": timeout, "optional_args": optional_args(device, known_hosts, timeout)}
    return Host(
        name=device.name,
        hostname=str(device.mgmt.ip),
        username=creds.username,
        password=creds.password,
        platform=napalm_driver(device),
        data={"site": device.site, "role": device.role, "phase": device.phase, "platform": device.platform},
        connection_options={CONNECTION_NAME: ConnectionOptions(extras=extras)},
    )


def build_inventory(
    network: Network, names: Iterable[str], creds: Credentials, known_hosts: Path, timeout: int = 30
) -> Inventory:
    """A Nornir inventory holding the named devices of *network*."""
    hosts = Hosts({n: host(network.devices[n], creds, known_hosts, timeout) for n in names})
    return Inventory(hosts=hosts, groups=Groups(), defaults=Defaults())


def register_plugins() -> None:
    """Nornir finds plugins by name; registering twice is harmless."""
    if CONNECTION_NAME not in ConnectionPluginRegister.available:
        ConnectionPluginRegister.register(CONNECTION_NAME, Napalm)
    if "threaded" not in RunnersPluginRegister.available:
        RunnersPluginRegister.register("threaded", ThreadedRunner)


def nornir_for(inventory: Inventory, workers: int = 20) -> Nornir:
    """A Nornir object running tasks on up to *workers* devices at once."""
    register_plugins()
    return Nornir(inventory=inventory, runner=ThreadedRunner(num_workers=max(1, workers)))
