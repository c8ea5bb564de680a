"""The on-box helper of the FRR driver: what FRR lacks for NAPALM, run on the router itself.

FRR has no candidate datastore and no "commit confirmed". A controller that pushes a config and then dies
would leave the box in whatever state it reached. The helper runs *on the device* (the login hands it
``napalm-frr-helper ...`` requests) and gives the driver Junos-like guarantees:

* ``replace`` checks the whole candidate with ``vtysh --dryrun`` first and changes nothing if any line is
  bad; otherwise it saves a checkpoint of the running config and applies the candidate with frr-reload's
  own diff (only the differing lines are sent, so adjacencies do not flap);
* with ``--revert-in SECONDS`` it also arms a detached timer process that restores the checkpoint unless
  ``confirm`` arrives in time; the timer survives the SSH session and the controller;
* ``status`` says whether a commit is pending; ``rollback`` restores the checkpoint now;
* an nftables policy table is part of the same commit (``replace --with-nft``, ``nft-apply``,
  ``nft-diff``), checked with ``nft -c`` first and kept in the same checkpoint.

Every verb prints one JSON object. Exit codes: 0 ok, 1 the operation failed, 2 bad usage.

Modules: :mod:`~.protocol` (the verbs' syntax), :mod:`~.box` (an instance's state directory),
:mod:`~.frr` (vtysh and frr-reload), :mod:`~.nft` (the policy table), :mod:`~.commit` (checkpoint, apply,
revert timer), :mod:`~.service` (the verbs, one request or a session), :mod:`~.server` (the resident
helper), :mod:`~.relay` (a login's session handed to the resident helper). The standard library only: it
must run on a router with nothing but FRR and python3. Nothing here imports the driver.
"""

#: The helper's version; the driver and an installed helper compare it.
VERSION = "0.1.0"
#: The command a login runs it by.
COMMAND = "napalm-frr-helper"


def source_digest(directory: str | None = None) -> str:
    """sha256 over the helper's own modules (names and bytes, sorted): what the driver compares with its copy, so
    an installed helper is used only when it is exactly the driver's."""
    import hashlib
    import os

    where = directory or os.path.dirname(os.path.abspath(__file__))
    if not os.path.isdir(where):  # run from an archive: the archive's own hash names it (napalm_frr.shipping)
        return ""
    digest = hashlib.sha256()
    for name in sorted(n for n in os.listdir(where) if n.endswith(".py")):
        with open(os.path.join(where, name), "rb") as fh:
            data = fh.read()
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()
