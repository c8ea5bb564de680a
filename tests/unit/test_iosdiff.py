"""govnet.deploy.iosdiff: each rewrite IOS-XE makes is not drift; a real change is."""

from __future__ import annotations

import pytest

from govnet.deploy import iosdiff

HEADER = "Building configuration...\n\nCurrent configuration : 4242 bytes\n!\n! Last configuration change at x\n!\n"

#: (what it proves, intended as rendered, running as IOS-XE 17 shows it back): no remediation expected.
SAME = [
    ("show running-config header, version, end", "hostname r1\nend\n", HEADER + "version 17.12\nhostname r1\n!\nend\n"),
    ("comments and `!` separators", "! managed\nhostname r1\n!\n", "hostname r1\n"),
    (
        "no shutdown is hidden",
        "interface Gi0/0/0\n ip address 10.0.0.1 255.255.255.254\n no shutdown\n",
        "interface Gi0/0/0\n ip address 10.0.0.1 255.255.255.254\n",
    ),
    (
        "log-adjacency-changes is hidden",
        "router ospf 1\n router-id 1.1.1.1\n log-adjacency-changes\n",
        "router ospf 1\n router-id 1.1.1.1\n",
    ),
    ("ip routing is hidden", "ip routing\nhostname r1\n", "hostname r1\n"),
    ("default logging trap level", "logging trap informational\nlogging host 10.0.0.9\n", "logging host 10.0.0.9\n"),
    (
        "port numbers shown by name",
        "ip access-list extended A\n permit tcp any any eq 80\n permit udp any any eq 53\n"
        " permit udp any host 10.0.0.1 range 123 123\n",
        "ip access-list extended A\n 10 permit tcp any any eq www\n 20 permit udp any any eq domain\n"
        " 30 permit udp any host 10.0.0.1 range ntp ntp\n",
    ),
    (
        "ACL sequence numbers",
        "ip access-list standard V\n remark mgmt\n permit 10.0.0.0 0.0.0.255\n deny any log\n",
        "ip access-list standard V\n 10 remark mgmt\n 20 permit 10.0.0.0 0.0.0.255\n 1000 deny any log\n",
    ),
    (
        "standard ACL host form",
        "ip access-list standard S\n permit host 10.0.0.1\n",
        "ip access-list standard S\n 10 permit 10.0.0.1\n",
    ),
    (
        "extended ACL host form",
        "ip access-list extended E\n permit ip 10.0.0.1 0.0.0.0 any\n",
        "ip access-list extended E\n 10 permit ip host 10.0.0.1 any\n",
    ),
    (
        "vty 0 15 split at 4/5",
        "line vty 0 15\n transport input ssh\n",
        "line vty 0 4\n transport input ssh\nline vty 5 15\n transport input ssh\n",
    ),
    ("banner delimiter", "banner login #\nAuthorised only.\n#\n", "banner login ^C\nAuthorised only.\n^C\n"),
    ("one-line banner", "banner motd %Authorised only.%\n", "banner motd ^C\nAuthorised only.\n^C\n"),
    (
        "type 9 secret re-hashed",
        "username ops privilege 15 secret 9 $9$aaaa$bbbb\n",
        "username ops privilege 15 secret 9 $9$cccc$dddd\n",
    ),
    (
        "clear password shown type 7",
        "username ops password clear\nline con 0\n password clear\n",
        "username ops password 7 0822455D0A16\nline con 0\n password 7 13061E010803\n",
    ),
    (
        "TACACS+ key re-encrypted",
        "tacacs server ise1\n address ipv4 10.0.0.5\n key clear\n",
        "tacacs server ise1\n address ipv4 10.0.0.5\n key 7 0822455D0A16\n",
    ),
    ("NTP key re-encrypted", "ntp authentication-key 1 md5 clear\n", "ntp authentication-key 1 md5 104D000A0618 7\n"),
    (
        "SNMPv3 users are never shown",
        "snmp-server user nms GRP v3 auth sha x priv aes 128 y\nhostname r1\n",
        "hostname r1\n",
    ),
    ("file prompt quiet is NAPALM's", "hostname r1\n", "hostname r1\nfile prompt quiet\n"),
    ("an unconfigured physical port", "hostname r1\n", "hostname r1\ninterface Gi0/0/2\n no ip address\n shutdown\n"),
]


@pytest.mark.parametrize(("why", "intended", "running"), SAME, ids=[s[0] for s in SAME])
def test_rewrites_ios_makes_are_not_drift(why: str, intended: str, running: str) -> None:
    assert iosdiff.remediation(running, intended) == "", why


#: (what changed by hand, intended, running, a line the remediation must hold)
DIFFERENT = [
    (
        "an address",
        "interface Gi0/0/0\n ip address 10.0.0.1 255.255.255.254\n",
        "interface Gi0/0/0\n ip address 10.0.0.3 255.255.255.254\n",
        "ip address 10.0.0.1 255.255.255.254",
    ),
    ("a port shut", "interface Gi0/0/0\n no shutdown\n", "interface Gi0/0/0\n shutdown\n", "no shutdown"),
    (
        "an ACL entry's port",
        "ip access-list extended A\n permit tcp any any eq 80\n",
        "ip access-list extended A\n 10 permit tcp any any eq 443\n",
        "permit tcp any any eq www",
    ),
    ("an extra line", "hostname r1\n", "hostname r1\nip host printer 10.0.0.9\n", "no ip host printer 10.0.0.9"),
    (
        "a banner's text",
        "banner login ^C\nAuthorised only.\n^C\n",
        "banner login ^C\nWelcome!\n^C\n",
        "Authorised only.",
    ),
    (
        "a configured spare port",
        "hostname r1\n",
        "hostname r1\ninterface Gi0/0/2\n ip address 10.9.9.9 255.255.255.0\n",
        "no interface Gi0/0/2",
    ),
]


@pytest.mark.parametrize(("why", "intended", "running", "shown"), DIFFERENT, ids=[d[0] for d in DIFFERENT])
def test_a_change_by_hand_is_drift(why: str, intended: str, running: str, shown: str) -> None:
    assert shown in iosdiff.remediation(running, intended), why


def test_secrets_never_reach_the_diff() -> None:
    diff = iosdiff.remediation(
        "hostname r1\n", "hostname r1\nusername ops secret 9 $9$salt$hash\ntacacs server a\n key k\n"
    )
    assert "$9$" not in diff and " key k" not in diff and "secret <secret>" in diff


def test_every_table_row_is_one_rewrite() -> None:
    assert all(why for _, _, why in iosdiff.DROPPED)
    assert len({p for _, p, _ in iosdiff.SECRETS}) == len(iosdiff.SECRETS)


RUNNING = """\
hostname r1
boot system bootflash:packages.conf
license udi pid C8500-12X sn FXS1
crypto pki trustpoint TP-self-signed-1
 enrollment selfsigned
 rsakeypair TP-self-signed-1
!
crypto pki certificate chain TP-self-signed-1
 certificate self-signed 01
  3082032E 30820216
  \tquit
interface Loopback0
 ip address 10.255.0.1 255.255.255.255
end
"""

PRESERVE = ("^crypto pki trustpoint ", "^crypto pki certificate chain ", "^license udi ", "^boot system ")


def test_preserved_sections_join_the_candidate_before_end() -> None:
    candidate = iosdiff.with_preserved(
        "hostname r1\ninterface Loopback0\n ip address 10.255.0.1 255.255.255.255\nend\n", RUNNING, PRESERVE
    )
    lines = candidate.splitlines()
    assert lines[-1] == "end"
    for kept in (
        "boot system bootflash:packages.conf",
        "license udi pid C8500-12X sn FXS1",
        "crypto pki trustpoint TP-self-signed-1",
        " rsakeypair TP-self-signed-1",
        "  3082032E 30820216",
        "  \tquit",
    ):
        assert kept in lines
    assert iosdiff.remediation(RUNNING, candidate) == ""


def test_preserve_keeps_the_templates_sections_and_copes_with_nothing_to_keep() -> None:
    own = "boot system flash:other.bin\nhostname r1\nend\n"
    assert iosdiff.with_preserved(own, RUNNING, ("^boot system ",)) == own
    assert iosdiff.with_preserved("hostname r1\nend\n", "hostname r1\n", PRESERVE) == "hostname r1\nend\n"
    assert iosdiff.sections(RUNNING, ("^license udi ",)) == "license udi pid C8500-12X sn FXS1\n"
