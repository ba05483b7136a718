from __future__ import annotations

import pytest

from alertstream.ingest.client_ip import TrustedProxies

PROXIES = TrustedProxies(["10.0.0.0/8", "fd00::/8", "192.0.2.10"])


def test_no_trusted_proxies_means_the_peer() -> None:
    assert TrustedProxies().client_ip("203.0.113.7", ["1.2.3.4"]) == "203.0.113.7"


def test_untrusted_peer_cannot_forge() -> None:
    assert PROXIES.client_ip("203.0.113.7", ["1.2.3.4"]) == "203.0.113.7"


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("10.1.1.1", ["198.51.100.5"], "198.51.100.5"),
        # the client prepended a fake; our proxies appended the truth on the right
        ("10.1.1.1", ["6.6.6.6, 198.51.100.5, 10.2.2.2"], "198.51.100.5"),
        ("10.1.1.1", ["6.6.6.6", "198.51.100.5, 192.0.2.10"], "198.51.100.5"),  # two headers, in order
        ("10.1.1.1", [], "10.1.1.1"),
        ("10.1.1.1", ["10.3.3.3, 10.2.2.2"], "10.3.3.3"),  # all trusted: the left-most
        ("10.1.1.1", ["6.6.6.6, not-an-ip, 10.2.2.2"], "10.2.2.2"),  # garbage: stop at the last trusted hop
        ("10.1.1.1", ["198.51.100.5:5123"], "198.51.100.5"),  # ports some proxies add
        ("fd00::5", ["[2001:db8::7]:443"], "2001:db8::7"),
        ("::ffff:10.1.1.1", ["198.51.100.5"], "198.51.100.5"),  # dual-stack socket form of a trusted peer
        ("192.0.2.10", [" 198.51.100.5 "], "198.51.100.5"),
    ],
)
def test_forwarded_for_from_trusted_proxy(peer: str, headers: list[str], expected: str) -> None:
    assert PROXIES.client_ip(peer, headers) == expected


def test_peer_normalised_and_unknown() -> None:
    assert PROXIES.client_ip("::ffff:203.0.113.7") == "203.0.113.7"
    assert PROXIES.client_ip(None, ["1.2.3.4"]) is None


def test_from_scope() -> None:
    scope = {
        "type": "http",
        "client": ("10.9.9.9", 5555),
        "headers": [(b"host", b"edge"), (b"x-forwarded-for", b"6.6.6.6, 198.51.100.5")],
    }
    assert PROXIES.from_scope(scope) == "198.51.100.5"
    assert PROXIES.from_scope({"type": "http", "client": None, "headers": []}) is None


def test_bad_cidr() -> None:
    with pytest.raises(ValueError, match="not-a-cidr"):
        TrustedProxies(["not-a-cidr"])
