"""RouterConfig: a `pulumi.dynamic` resource for one stanza of one router's configuration.

The provider asks the device, not the state file: `diff` is the device's own `compare_config` against the intended
stanza (so `pulumi preview` reports drift made by hand), `create`/`update` commit with a revert timer and a
post-check, `read` (refresh) takes a backup and reports the stanza as running. Device access lives in
`govnet_pulumi.devices`.

The provider object is pickled into the stack state by Pulumi, so it holds no credentials: they travel as inputs,
the password as a Pulumi secret. The routing keys never enter the program or the state: `intended` holds the
render's `<vault:NAME>` placeholders, the provider fills them from `GOVNET_<NAME>`, else the environment's Ansible
Vault (the `vault` input names the file, as `govnet deploy` reads it), else the lab's documented defaults in
the `lab` environment, only to talk to the device, and masks them in what it keeps (`running`, the diffs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi.dynamic as dyn
from pulumi.runtime import rpc

import pulumi
from govnet_pulumi import devices, sections

#: Inputs whose change means a different stanza on a different box: replace, don't update.
IDENTITY = ("device", "header")


@dataclasses.dataclass(frozen=True)
class RouterConfigArgs:
    """One router's share of a link: the stanza it must run and how to reach the router."""

    device: str
    host: str
    platform: str
    header: str
    intended: str
    username: pulumi.Input[str]
    password: pulumi.Input[str]
    known_hosts: str = ""
    revert_in: int = 120
    backup_dir: str = ""
    env: str = ""
    vault: str = ""

    def props(self) -> dict[str, Any]:
        """The inputs as the provider receives them (RouterConfig wraps the password as a secret first)."""
        return {
            "device": self.device,
            "host": self.host,
            "platform": self.platform,
            "header": self.header,
            "intended": self.intended,
            "username": self.username,
            "password": self.password,
            "known_hosts": self.known_hosts,
            "revert_in": self.revert_in,
            "backup_dir": self.backup_dir,
            "env": self.env,
            "vault": self.vault,
        }


def _plain(props: dict[str, Any]) -> dict[str, Any]:
    """Inputs as plain values: the engine may hand secrets to the provider still wrapped."""
    return {k: rpc.unwrap_rpc_secret(v) for k, v in props.items() if not k.startswith("__")}


def _filled(props: dict[str, Any], text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` with its routing-key placeholders filled, and the values used; a key not set stops the push before
    any connection, naming its variable."""
    from govnet.render import fill_secrets, secret_variable
    from govnet.vault import VaultError

    vault_file = Path(props["vault"]) if props.get("vault") else None
    try:
        filled, missing, used = fill_secrets(text, os.environ, props.get("env") == "lab", vault_file)
    except VaultError as exc:
        raise devices.DeviceError(f"{props['device']}: {props['header']}: {exc}") from None
    if missing:
        names = ", ".join(f"{secret_variable(n)}" for n in missing)
        raise devices.DeviceError(f"{props['device']}: {props['header']}: secrets not set ({names} or the vault)")
    return filled, used


def _masked(text: str, used: tuple[str, ...]) -> str:
    """What the device answered, with the keys it was given (and any config line's key) masked."""
    from govnet.deploy.audit import redact

    return redact(text, used)


class RouterConfigProvider(dyn.ResourceProvider):
    """CRUD for one stanza through `govnet_pulumi.devices`; `connect` is swappable for a fake driver in tests."""

    def __init__(
        self, connect: Callable[[devices.Target], Any] | None = None, post_check: devices.PostCheck | None = None
    ) -> None:
        super().__init__()
        self.connect = connect or devices.open_driver
        self.post_check = post_check

    def _target(self, props: dict[str, Any]) -> devices.Target:
        return devices.Target(
            device=props["device"],
            host=props["host"],
            platform=props["platform"],
            username=props["username"],
            password=props["password"],
            known_hosts=props.get("known_hosts") or "",
        )

    def _push(self, props: dict[str, Any], intended: str) -> dict[str, Any]:
        target = self._target(props)
        filled, used = _filled(props, intended)
        with self._deploy_lock(props), devices.session(target, self.connect) as driver:
            pushed = devices.push_stanza(
                driver, props["header"], filled, int(props["revert_in"]), self.post_check, target=target
            )
        return {**props, "running": _masked(pushed.running, used), "last_diff": _masked(pushed.diff, used),
                "pending_diff": ""}  # fmt: skip

    def _drift(self, props: dict[str, Any]) -> str:
        """The device's own diff from its running stanza to the intended one, keys masked."""
        filled, used = _filled(props, props["intended"])
        with devices.session(self._target(props), self.connect) as driver:
            return _masked(devices.stanza_diff(driver, props["header"], filled, props["platform"]), used)

    @contextlib.contextmanager
    def _deploy_lock(self, props: dict[str, Any]) -> Iterator[None]:
        """The environment's one-deploy-at-a-time lock, shared with `govnet deploy` and the Ansible module: it lives
        in build/<env>/, the directory that holds the backups. A push while another deploy runs fails naming it."""
        from govnet.deploy.audit import who
        from govnet.deploy.lock import DeployLocked, held_by_this_process

        if not props.get("backup_dir"):
            yield
            return
        try:
            with held_by_this_process(Path(props["backup_dir"]).parent, f"pulumi-{os.getpid()}", who()):
                yield
        except DeployLocked as exc:
            raise devices.DeviceError(f"{props['device']}: {exc.line()}") from None

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        """Validate, and for an existing stanza record the device's own diff as `pending_diff`.

        The engine shows changed inputs in `pulumi preview --diff`, so the router's pending config change (drift
        made by hand, or a new intent) appears there line by line. A new stanza is not looked up: its
        `intended` input already shows what will be pushed.
        """
        plain = _plain(news)
        failures = [dyn.CheckFailure(k, "must not be empty") for k in ("device", "host", "header") if not plain.get(k)]
        if not str(plain.get("intended", "")).startswith(f"{plain.get('header')}\n"):
            failures.append(dyn.CheckFailure("intended", f"must be the stanza {plain.get('header')!r}"))
        if failures or not olds:
            return dyn.CheckResult({**news, "pending_diff": ""}, failures)
        return dyn.CheckResult({**news, "pending_diff": self._drift(plain)}, [])

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        props = _plain(props)
        return dyn.CreateResult(f"{props['device']}:{props['header']}", self._push(props, props["intended"]))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        olds, news = _plain(olds), _plain(news)
        replaces = [k for k in IDENTITY if olds.get(k) != news.get(k)]
        if replaces:
            return dyn.DiffResult(changes=True, replaces=replaces, delete_before_replace=True)
        drift = news.get("pending_diff")
        if drift is None:  # not checked by this provider (an engine that skips check): ask the device now
            drift = self._drift(news)
        # A changed input the device already matches (govnet deploy got there first) still updates the state.
        inputs = (f.name for f in dataclasses.fields(RouterConfigArgs) if f.name not in IDENTITY)
        changed = bool(drift) or any(olds.get(k) != news.get(k) for k in inputs)
        return dyn.DiffResult(changes=changed, replaces=[], stables=list(IDENTITY))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        news = _plain(news)
        return dyn.UpdateResult(self._push(news, news["intended"]))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        props = _plain(props)
        _, used = _filled(props, props.get("intended", ""))
        with devices.session(self._target(props), self.connect) as driver:
            running = devices.read_stanza(driver, props["device"], props["header"], props.get("backup_dir") or "")
        return dyn.ReadResult(id_, {**props, "running": _masked(running, used), "pending_diff": ""})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """A link leaving the model leaves a bare interface behind (addresses and routing removed)."""
        props = _plain(props)
        self._push(props, sections.deconfigured(props["header"], props["platform"]))


class RouterConfig(dyn.Resource, module="govnet", name="RouterConfig"):
    """The stanza `header` of router `device`, kept equal to what govnet renders for it."""

    device: pulumi.Output[str]
    header: pulumi.Output[str]
    intended: pulumi.Output[str]
    running: pulumi.Output[str]
    last_diff: pulumi.Output[str]
    pending_diff: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: RouterConfigArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: RouterConfigProvider | None = None,
    ) -> None:
        props = {
            **args.props(),
            "password": pulumi.Output.secret(args.password),
            "running": None,
            "last_diff": None,
            "pending_diff": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(provider or RouterConfigProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))
