"""The device shell's argument checks: what an SSH client may make a lab device run (no root needed)."""

from __future__ import annotations

import pytest

from govnet.lab.device_shell import PING, TRACEROUTE, ShellError, probe_argv, vtysh_argv


def test_ping_defaults_to_five_probes() -> None:
    assert probe_argv("ping", ["198.18.8.66"]) == [PING, "-c", "5", "198.18.8.66"]


def test_ping_with_allowed_options() -> None:
    argv = probe_argv("ping", ["-c", "2", "-W", "1", "-i", "0.2", "-s", "100", "-I", "eth1", "198.19.0.2"])
    assert argv == [PING, "-c", "2", "-W", "1", "-i", "0.2", "-s", "100", "-I", "eth1", "198.19.0.2"]


def test_traceroute_options_are_translated() -> None:
    argv = probe_argv("traceroute", ["-c", "1", "-W", "2", "-I", "198.18.1.0", "198.18.0.3"])
    assert argv == [TRACEROUTE, "-q", "1", "-w", "2", "-s", "198.18.1.0", "198.18.0.3"]
    assert probe_argv("traceroute", ["-I", "eth2", "198.18.0.3"]) == [TRACEROUTE, "-i", "eth2", "198.18.0.3"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["8.8.8.8"], "outside the lab range"),
        (["10.0.0.1"], "outside the lab range"),
        (["-f", "198.18.0.1"], "option -f is not allowed"),
        (["-c", "1;reboot", "198.18.0.1"], "bad value"),
        (["-c"], "needs a value"),
        (["$(id)"], "not an IPv4 address"),
        (["198.18.0.1", "198.18.0.2"], "unexpected argument"),
        ([], "missing destination"),
        (["-I", "198.51.100.1", "198.18.0.1"], "outside the lab range"),
        (["-I", "eth1;id", "198.18.0.1"], "not an IPv4 address"),
    ],
)
def test_ping_refuses(args: list[str], message: str) -> None:
    with pytest.raises(ShellError, match=message.replace("$", r"\$")):
        probe_argv("ping", args)


def test_traceroute_refuses_ping_only_options() -> None:
    with pytest.raises(ShellError, match="not allowed"):
        probe_argv("traceroute", ["-i", "1", "198.18.0.1"])


def test_multiline_command_becomes_one_c_per_line() -> None:
    argv = vtysh_argv("core1", "configure terminal\n interface eth1\n\n description x\nend\n")
    assert argv[:3] == ["/usr/bin/vtysh", "-N", "core1"]
    assert argv[3:] == ["-c", "configure terminal", "-c", "interface eth1", "-c", "description x", "-c", "end"]
