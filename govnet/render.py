"""Render stage: addressed model → one configuration per device, from `network_templates/<platform>/`.

Templates only format: every value they print was derived in govnet.model. The filters below are formatting helpers
(IOS wildcard notation and names), not logic.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
from collections.abc import Mapping
from functools import cache
from ipaddress import IPv4Network
from pathlib import Path

import jinja2

from govnet import iosfmt
from govnet.model.derive import TEMPLATES, platform_data
from govnet.model.derived import Device, Network

# Secrets the production templates need; filled from the environment (or an Ansible Vault run) at push time.
SECRET_NAMES = (
    "ios_enable_secret_hash",  # enable secret, type 9 (scrypt) hash
    "ios_deploy_secret_hash",  # the deploy user's password, type 9 hash
    "ios_local_secret_hash",  # the break-glass local account, type 9 hash
    "ios_tacacs_key",  # TACACS+ shared key
    "ios_ntp_key",  # NTP authentication key (MD5)
)


def acl_addr(prefix: IPv4Network) -> str:
    if prefix.prefixlen == 32:
        return f"host {prefix.network_address}"
    return f"{prefix.network_address} {prefix.hostmask}"


def acl_name(segment: str) -> str:
    return f"SEG-{segment.upper()}-IN"


@cache
def environment(platform: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / platform),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,  # templates do not change while a render runs; skips a stat per template per device
    )
    env.filters.update(acl_addr=acl_addr, acl_name=acl_name, **iosfmt.FILTERS)
    return env


PLACEHOLDER = re.compile(r"<vault:([a-z0-9_]+)>")


def unresolved(text: str) -> list[str]:
    """The secrets a rendered config still holds as `<vault:NAME>` placeholders, in order, once each."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def secret_variable(name: str) -> str:
    """The environment variable holding secret *name*: GOVNET_<NAME>."""
    return f"GOVNET_{name.upper()}"


def secrets_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Secrets from GOVNET_<NAME> variables; a visible placeholder where one is missing (never a default secret)."""
    env = os.environ if env is None else env
    return {n: env.get(secret_variable(n), f"<vault:{n}>") for n in SECRET_NAMES}


def _context(network: Network, device: Device, secrets: Mapping[str, str] | None) -> dict[str, object]:
    return {
        "device": device,
        "network": network,
        "platform": platform_data(device.platform),
        "baseline": platform_data(device.platform).baseline(device.model),
        "features": network.features,
        "secrets": secrets if secrets is not None else {n: f"<vault:{n}>" for n in SECRET_NAMES},
    }


def render_device(network: Network, name: str, secrets: Mapping[str, str] | None = None) -> str:
    device = network.devices[name]
    template = environment(device.platform).get_template("device.j2")
    return template.render(_context(network, device, secrets))


def render_bootstrap(network: Network, name: str) -> str:
    """Day-0 config (hostname, management, interfaces): what a device boots with before its first deploy."""
    device = network.devices[name]
    template = environment(device.platform).get_template("bootstrap.j2")
    return template.render(_context(network, device, None))


def render_all(network: Network, out: Path, secrets: Mapping[str, str] | None = None) -> list[Path]:
    """Write every device's config; large networks render on every core (forked workers share the model)."""
    out.mkdir(parents=True, exist_ok=True)
    names = list(network.devices)
    workers = min(os.cpu_count() or 1, 8)
    if len(names) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [_write(network, name, out, secrets) for name in names]
    global _SHARED
    _SHARED = (network, out, secrets)
    gc.freeze()  # the model's objects out of the collector's reach: the workers' GC passes would copy their pages
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_write_shared, names, chunksize=max(1, len(names) // (workers * 4)))
    finally:
        gc.unfreeze()
        _SHARED = None


PARALLEL_FROM = 500
_SHARED: tuple[Network, Path, Mapping[str, str] | None] | None = None


def _write_shared(name: str) -> Path:
    assert _SHARED is not None
    return _write(_SHARED[0], name, _SHARED[1], _SHARED[2])


def _write(network: Network, name: str, out: Path, secrets: Mapping[str, str] | None) -> Path:
    path = out / f"{name}.cfg"
    text = render_device(network, name, secrets)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
