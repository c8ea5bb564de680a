"""Render stage: addressed model → one configuration per device, from `network_templates/<platform>/`.

Templates only format: every value they print was derived in govnet.model. The filters below are formatting helpers
(IOS wildcard notation and names), not logic.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
from collections.abc import Callable, Mapping
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
    "ospf_key",  # OSPF MD5 key on every OSPF link (both platforms; at most 16 characters)
    "bgp_key",  # TCP-MD5 password of every iBGP session (both platforms)
)
#: Routing-protocol keys the lab environment may take from its documented defaults (docs/lab.md), as it takes its
#: login password; no other environment has a default. The ISP sessions' keys (`Uplink.key`) default to BGP_LAB_KEY.
LAB_KEYS = {"ospf_key": "govnet-lab-ospf", "bgp_key": "govnet-lab-bgp"}
BGP_LAB_KEY = "govnet-lab-isp"


def acl_addr(prefix: IPv4Network) -> str:
    if prefix.prefixlen == 32:
        return f"host {prefix.network_address}"
    return f"{prefix.network_address} {prefix.hostmask}"


def acl_name(segment: str) -> str:
    return f"SEG-{segment.upper()}-IN"


#: `{% include "x.j2" %}` (and the newline after it, which trim_blocks would drop) where a template composes features.
INCLUDE = re.compile(r'(?m)(?:^[ \t]*)?\{% include "([^"]+)" %\}\n?')
#: `{% from "x.macro.j2" import a, b %}` (and its newline): a template taking macros from a macro file.
FROM_IMPORT = re.compile(r'(?m)(?:^[ \t]*)?\{% from "([^"]+)" import ([\w, ]+?) %\}\n?')
MACRO = re.compile(r"\{%-? macro (\w+)\(.*?\{%-? endmacro -?%\}", re.S)
COMMENT = re.compile(r"\{#.*?#\}", re.S)


class InliningLoader(jinja2.FileSystemLoader):
    """Templates with their plain includes replaced by the included text: one template per device, not one context
    and one lookup per feature file. The feature files stay the source (`device.j2` composes them); the output is
    the same bytes (trim_blocks and lstrip_blocks drop the newline and indent around an include tag as they would
    around the included text's tags; a leading `{#-` loses its `-`, which would strip the including text). Golden
    tests hold this to the byte; an include with whitespace control (`{%- include`) stays a Jinja include.

    A `{% from "m.macro.j2" import ... %}` of every macro of a file that holds nothing but macros is replaced by the
    macro definitions: Jinja runs an import on every render (a module built, its globals compared with the
    context's: 6 % of a national pipeline's CPU). The macros take all they print as arguments, so they print the
    same inline; a name they did not take would have been undefined in the import and still is an error
    (StrictUndefined). Any other import stays a Jinja import."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        text, filename, uptodate = super().get_source(environment, template)
        text = FROM_IMPORT.sub(lambda m: self._macros(environment, m), text)
        return INCLUDE.sub(lambda m: self._inlined(environment, m.group(1)), text), filename, uptodate

    def _inlined(self, environment: jinja2.Environment, name: str) -> str:
        text = self.get_source(environment, name)[0]
        return "{#" + text[3:] if text.startswith("{#-") else text

    def _macros(self, environment: jinja2.Environment, match: re.Match[str]) -> str:
        text = super().get_source(environment, match.group(1))[0]
        names = {n.strip() for n in match.group(2).split(",")}
        if set(MACRO.findall(text)) != names or COMMENT.sub("", MACRO.sub("", text)).strip():
            return match.group(0)
        return text


@cache
def environment(platform: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=InliningLoader(TEMPLATES / platform),
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


def secret_names(network: Network | None = None) -> tuple[str, ...]:
    """Every secret a render of *network* may need: the fixed ones, then one per ISP of its Internet edge."""
    isps = sorted({u.key for u in network.internet.uplinks}) if network and network.internet else []
    return SECRET_NAMES + tuple(isps)


def placeholders(network: Network | None = None) -> dict[str, str]:
    return {n: f"<vault:{n}>" for n in secret_names(network)}


def secrets_from_env(
    env: Mapping[str, str] | None = None, network: Network | None = None, *, lab_defaults: bool = True
) -> dict[str, str]:
    """Every secret of *network*'s render (secret_value), a visible placeholder where one is missing (never a default
    secret); ``lab_defaults=False`` leaves out the lab's documented routing keys (`govnet render` writes no default
    key). VaultError when the vault is needed and does not open."""
    env = os.environ if env is None else env
    lab = lab_defaults and network is not None and network.env == "lab"
    vault_file = network.vault if network is not None else None
    names = secret_names(network)
    return {n: secret_value(n, env, lab, vault_file) or f"<vault:{n}>" for n in names}


def secret_value(name: str, env: Mapping[str, str], lab: bool, vault_file: Path | None = None) -> str | None:
    """One secret's value: its GOVNET_<NAME> variable, else the environment's Ansible Vault (``vault_govnet_<name>``,
    govnet.vault; read only when a variable is unset), else the lab's documented default routing key (*lab*), else
    None. VaultError when the vault is needed and does not open."""
    value = env.get(secret_variable(name))
    if value:
        return value
    if vault_file is not None:
        from govnet import vault

        value = vault.stored(vault_file, env).get(name)
        if value:
            return value
    return _lab_default(name, lab)


def fill_secrets(
    text: str, env: Mapping[str, str], lab: bool, vault_file: Path | None = None
) -> tuple[str, list[str], tuple[str, ...]]:
    """``text`` with each `<vault:NAME>` placeholder replaced by its value (secret_value); the names still unset;
    the values used (for redacting what the device answers)."""
    missing: list[str] = []
    used: list[str] = []

    def one(match: re.Match[str]) -> str:
        value = secret_value(match[1], env, lab, vault_file)
        if value is None:
            missing.append(match[1])
            return match[0]
        used.append(value)
        return value

    return PLACEHOLDER.sub(one, text), sorted(set(missing)), tuple(sorted(set(used), key=len, reverse=True))


#: The longest key each routing protocol's authentication holds on both platforms: an OSPF MD5 key is at most 16
#: characters (RFC 2328 D.3; IOS and FRR refuse or cut a longer one), and a BGP TCP-MD5 password at most 25, IOS's
#: limit (FRR and Linux take 80). A key must also fit on one config line: printable ASCII, no space.
KEY_LIMITS = {"ospf_key": 16, "bgp_key": 25}


def secret_problems(values: Mapping[str, str]) -> list[str]:
    """One line per routing-protocol key the platforms would refuse or cut (placeholders are reported elsewhere)."""
    problems = []
    for name, value in sorted(values.items()):
        limit = KEY_LIMITS.get("bgp_key" if name.startswith("bgp_key") else name)
        if limit is None or value.startswith("<vault:"):
            continue
        what = "an OSPF MD5 key" if name == "ospf_key" else "a BGP TCP-MD5 password"
        if len(value) > limit:
            problems.append(f"{secret_variable(name)}: {len(value)} characters; {what} holds at most {limit}")
        if not value.isascii() or not value.isprintable() or " " in value:
            problems.append(f"{secret_variable(name)}: {what} must be printable ASCII without spaces")
    return problems


def _lab_default(name: str, lab: bool) -> str | None:
    if not lab:
        return None
    return LAB_KEYS.get(name) or (BGP_LAB_KEY if name.startswith("bgp_key_") else None)


def _context(network: Network, device: Device, secrets: Mapping[str, str] | None) -> dict[str, object]:
    return {
        "device": device,
        "network": network,
        "platform": platform_data(device.platform),
        "baseline": platform_data(device.platform).baseline(device.model),
        "features": network.features,
        "secrets": {**placeholders(network), **secrets} if secrets is not None else placeholders(network),
    }


@cache
def template(platform: str, name: str) -> jinja2.Template:
    """The compiled template, looked up once: Jinja's own lookup (its cache, a loader check) ran per device.

    Its globals become a plain dict of the same names: Jinja keeps them as a ChainMap over the environment's, which
    every render copied through ChainMap's Python-level iteration (5 of a department device's 50 µs). Nothing
    changes the environment's globals after `environment` made it."""
    found = environment(platform).get_template(name)
    found.globals = dict(found.globals)
    return found


def render_device(network: Network, name: str, secrets: Mapping[str, str] | None = None) -> str:
    device = network.devices[name]
    return template(device.platform, "device.j2").render(_context(network, device, secrets))


def render_bootstrap(network: Network, name: str) -> str:
    """Day-0 config (hostname, management, interfaces): what a device boots with before its first deploy."""
    device = network.devices[name]
    return template(device.platform, "bootstrap.j2").render(_context(network, device, None))


def render_all(network: Network, out: Path, secrets: Mapping[str, str] | None = None) -> list[Path]:
    """Write every device's config; large networks render on every core (this process and forked workers that share
    its model)."""
    out.mkdir(parents=True, exist_ok=True)
    names = list(network.devices)
    existing = frozenset(os.listdir(out))  # one listing, not a stat per device
    workers = min(os.cpu_count() or 1, 8)
    if len(names) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [_write(network, name, out, secrets, existing) for name in names]
    global _SHARED
    _SHARED = (network, out, secrets, existing)
    thawed = gc.get_freeze_count() == 0  # a large build has frozen its model already (govnet.model.build)
    gc.freeze()  # the model's objects out of the collector's reach: the workers' GC passes would copy their pages
    try:
        # This process renders one share itself: one fork fewer, and no copy-on-write faults for that share.
        split = len(names) - len(names) // workers  # the workers take the first devices (the DC's big cores)
        theirs, mine = names[:split], names[split:]
        with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
            pending = pool.map_async(_write_shared, theirs, chunksize=max(1, len(theirs) // (workers * 4)))
            written = [_write(network, name, out, secrets, existing) for name in mine]
            return pending.get() + written
    finally:
        if thawed:
            gc.unfreeze()
        _SHARED = None


PARALLEL_FROM = 500
_SHARED: tuple[Network, Path, Mapping[str, str] | None, frozenset[str]] | None = None


def _write_shared(name: str) -> Path:
    assert _SHARED is not None
    network, out, secrets, existing = _SHARED
    return _write(network, name, out, secrets, existing)


def _write(network: Network, name: str, out: Path, secrets: Mapping[str, str] | None, existing: frozenset[str]) -> Path:
    """Write the config unless the file holds it already (an unchanged file keeps its time stamp)."""
    path = out / f"{name}.cfg"
    data = render_device(network, name, secrets).encode()
    if path.name in existing and path.read_bytes() == data:
        return path
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # os.write: no text layer per file
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return path
