"""The SSRF matrix: address forms that must be refused, each with the reason it must give.

Shared by the probe (which runs them inside the network namespace) and the tests (which check the
probe's results). Inside the namespace, `lo` carries the addresses in LISTENED_ADDRESSES and a
catch-all receiver listens on RECEIVER_PORT on all of them, so a guard that let one of these
through would reach a receiver, and the test would see the hit.
"""

from __future__ import annotations

from dataclasses import dataclass

RECEIVER_PORT = 8080
PINNED_PORT = 8081
LISTENED_ADDRESSES = ["10.0.0.5/32", "169.254.169.254/32", "192.168.1.1/32", "100.64.0.1/32"]
LISTENED_IPV6 = ["fd00::5/128"]

# name -> (A answers, AAAA answers) served by the namespace's DNS server on 127.0.0.1:53
DNS_RECORDS: dict[str, tuple[list[str], list[str]]] = {
    "private.test": (["10.0.0.5"], []),
    "metadata.test": (["169.254.169.254"], []),
    "loop.test": (["127.0.0.1"], []),
    "v6private.test": ([], ["fd00::5"]),
    "mapped.test": ([], ["::ffff:10.0.0.5"]),
    "mixed.test": (["93.184.216.34", "10.0.0.5"], []),
    "cgnat.test": (["100.64.0.1"], []),
}
# answers in turn for each A query of this name: checked first, then what a second lookup would get
FLIP_NAME = "flip.test"
FLIP_ANSWERS = ["127.0.0.1", "127.0.0.2"]


@dataclass(frozen=True)
class Case:
    id: str
    host: str
    reason: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{RECEIVER_PORT}/case/{self.id}"


CASES = [
    Case("private-10", "10.0.0.5", "10.0.0.5 is a private address"),
    Case("private-172", "172.16.0.1", "172.16.0.1 is a private address"),
    Case("private-192", "192.168.1.1", "192.168.1.1 is a private address"),
    Case("loopback", "127.0.0.1", "127.0.0.1 is a loopback address"),
    Case("loopback-high", "127.255.255.254", "is a loopback address"),
    Case("metadata", "169.254.169.254", "169.254.169.254 is the cloud metadata address"),
    Case("link-local", "169.254.1.1", "is a link-local address"),
    Case("cgnat", "100.64.0.1", "is a carrier-grade NAT (shared) address"),
    Case("unspecified", "0.0.0.0", "is an unspecified ('this network') address"),
    Case("ietf", "192.0.0.8", "is an IETF protocol assignment address"),
    Case("doc-192", "192.0.2.1", "is a documentation address"),
    Case("doc-198", "198.51.100.7", "is a documentation address"),
    Case("doc-203", "203.0.113.9", "is a documentation address"),
    Case("benchmarking", "198.18.0.1", "is a benchmarking address"),
    Case("multicast", "224.0.0.1", "is a multicast address"),
    Case("reserved", "240.0.0.1", "is a reserved address"),
    Case("broadcast", "255.255.255.255", "is the broadcast address"),
    Case("v6-loopback", "[::1]", "::1 is a loopback address"),
    Case("v6-unspecified", "[::]", ":: is the unspecified address"),
    Case("v6-unique-local", "[fd00::5]", "is a unique-local address"),
    Case("v6-link-local", "[fe80::1]", "is a link-local address"),
    Case("v6-site-local", "[fec0::1]", "is a site-local address"),
    Case("v6-multicast", "[ff02::1]", "is a multicast address"),
    Case("v6-doc", "[2001:db8::1]", "is a documentation address"),
    Case("mapped-private", "[::ffff:10.0.0.5]", "IPv4-mapped IPv6 address (of 10.0.0.5)"),
    Case("mapped-loopback", "[::ffff:127.0.0.1]", "IPv4-mapped IPv6 address (of 127.0.0.1)"),
    Case("mapped-metadata-hex", "[::ffff:a9fe:a9fe]", "(of 169.254.169.254)"),
    Case("compatible", "[::10.0.0.5]", "IPv4-compatible IPv6 address (of 10.0.0.5)"),
    Case("6to4-private", "[2002:a00:5::1]", "6to4 address embedding 10.0.0.5, a private"),
    Case("6to4-metadata", "[2002:a9fe:a9fe::]", "6to4 address embedding 169.254.169.254"),
    Case("nat64-private", "[64:ff9b::10.0.0.5]", "NAT64 address embedding 10.0.0.5, a private"),
    Case("nat64-metadata", "[64:ff9b::a9fe:a9fe]", "NAT64 address embedding 169.254.169.254"),
    Case("nat64-local-use", "[64:ff9b:1::a00:5]", "is a local-use NAT64 address"),
    Case("teredo", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "is a Teredo address"),
    Case("decimal-loopback", "2130706433", "2130706433 (127.0.0.1) is a loopback address"),
    Case("decimal-private", "167772165", "167772165 (10.0.0.5) is a private address"),
    Case("decimal-metadata", "2852039166", "(169.254.169.254) is the cloud metadata address"),
    Case("octal-loopback", "0177.0.0.1", "0177.0.0.1 (127.0.0.1) is a loopback address"),
    Case("octal-private", "012.0.0.05", "012.0.0.05 (10.0.0.5) is a private address"),
    Case("octal-single", "017700000001", "(127.0.0.1) is a loopback address"),
    Case("hex-loopback", "0x7f.0.0.1", "0x7f.0.0.1 (127.0.0.1) is a loopback address"),
    Case("hex-single", "0xa9fea9fe", "0xa9fea9fe (169.254.169.254) is the cloud metadata"),
    Case("hex-dotted", "0x0a.0x00.0x00.0x05", "(10.0.0.5) is a private address"),
    Case("short-loopback", "127.1", "127.1 (127.0.0.1) is a loopback address"),
    Case("short-private", "10.5", "10.5 (10.0.0.5) is a private address"),
    Case("short-metadata", "169.254.43518", "(169.254.169.254) is the cloud metadata address"),
    Case("mixed-hex-short", "0x7f.1", "0x7f.1 (127.0.0.1) is a loopback address"),
    Case("mixed-bases", "127.0x0.01", "127.0x0.01 (127.0.0.1) is a loopback address"),
    Case("trailing-dot", "127.0.0.1.", "(127.0.0.1) is a loopback address"),
    Case("zero", "0", "0 (0.0.0.0) is an unspecified"),
    Case("fullwidth-digits", "\uff11\uff12\uff17.0.0.1", "127.0.0.1 is a loopback address"),
    Case("dns-localhost", "localhost", "localhost resolves to"),
    Case("dns-private", "private.test", "private.test resolves to 10.0.0.5, which is a private"),
    Case(
        "dns-metadata", "metadata.test", "resolves to 169.254.169.254, which is the cloud metadata"
    ),
    Case("dns-loopback", "loop.test", "loop.test resolves to 127.0.0.1, which is a loopback"),
    Case("dns-cgnat", "cgnat.test", "resolves to 100.64.0.1, which is a carrier-grade NAT"),
    Case("dns-v6-private", "v6private.test", "resolves to fd00::5, which is a unique-local"),
    Case("dns-mapped", "mapped.test", "resolves to ::ffff:a00:5, which is an IPv4-mapped"),
    Case("dns-mixed", "mixed.test", "mixed.test resolves to 10.0.0.5, which is a private"),
]
