"""The DNS reader of the services checks: names with compression pointers, as bind9 answers them."""

from __future__ import annotations

import struct

import pytest

from govnet.verify.eservices import _qname, _read_name, _reverse


def test_plain_and_compressed_names() -> None:
    header = b"\0" * 12
    portal = _qname("portal.karbala.gov.iq")
    msg = header + portal + b"\x05app1a" + struct.pack(">H", 0xC000 | (12 + 7))  # "app1a" + pointer to karbala...
    name, end = _read_name(msg, 12)
    assert (name, end) == ("portal.karbala.gov.iq", 12 + len(portal))
    name, end = _read_name(msg, 12 + len(portal))
    assert name == "app1a.karbala.gov.iq"
    assert end == len(msg)


def test_a_pointer_loop_is_refused() -> None:
    msg = b"\0" * 12 + struct.pack(">H", 0xC000 | 12)
    with pytest.raises(ValueError, match="too long"):
        _read_name(msg, 12)


def test_reverse_name() -> None:
    assert _reverse("198.18.8.2") == "2.8.18.198.in-addr.arpa"
