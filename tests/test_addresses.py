"""addresses: what is never reachable from outside is refused, wherever the address comes from.

The addresses reach the generator as a host's agent IP, its ``io.rancher.host.external_dns_ip``
label, or a port's bind IP; each path is driven through the real ``octodns-rancher generate``
with a snapshot file, and the classes are checked one by one.
"""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from octodns_rancher.addresses import refusal, refusal_of_text
from octodns_rancher.records import LABEL_HOST_IP
from tests.conftest import run, write_snapshot
from tests.support import scenario as sc

RECORD = {
    "type": "A",
    "ttl": 300,
    "octodns": {
        "rancher": {"service": "web", "stack": "shop", "uuid": sc.uid("service", "shop", "web")}
    },
}
REFUSED = {
    "127.0.0.1": "loopback",
    "127.1.2.3": "loopback",
    "::1": "loopback",
    "169.254.1.1": "link-local",
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "239.1.2.3": "multicast",
    "ff02::1": "multicast",
    "255.255.255.255": "broadcast",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "::": "unspecified",
    "::ffff:1.2.3.4": "IPv4-mapped",
    "::ffff:0:1.2.3.4": "IPv4-translated",
    "::1.2.3.4": "IPv4-compatible",
    "64:ff9b::1.2.3.4": "NAT64",
    "64:ff9b:1::1": "NAT64",
    "fec0::1": "site-local",
    "240.0.0.1": "reserved",
}
ALLOWED = [
    "203.0.113.7",
    "8.8.8.8",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "2001:db8::7",
    "2a00:1450::1",
    "fd00::1",
    "2002:c000:204::1",  # 6to4: a real, routed (if deprecated) address
]


@pytest.mark.parametrize(("text", "why"), REFUSED.items())
def test_refused_classes(text, why):
    assert why in refusal(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", ALLOWED)
def test_private_and_public_addresses_are_allowed(text):
    assert refusal(ipaddress.ip_address(text)) == ""


def test_refusal_of_text():
    assert refusal_of_text("nope") is None
    assert "scoped" in refusal_of_text("fe80::1%eth0")
    assert refusal_of_text("192.0.2.1") == ""


def _generate(tmp_path, services, hosts):
    snap = write_snapshot(tmp_path / "snap.json", sc.snapshot(services, hosts, "Production"))
    proc = run(
        [
            "octodns-rancher",
            "generate",
            "--metadata-file",
            str(snap),
            "--zone",
            "example.com",
            "--zones-dir",
            str(tmp_path / "zones"),
            "--format",
            "all",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc, (tmp_path / "zones" / "example.com.yaml").read_text()


@pytest.mark.parametrize("bad", sorted(REFUSED))
def test_a_refused_agent_ip_is_a_warning_and_the_service_keeps_its_other_addresses(tmp_path, bad):
    hosts = [sc.host("good", "203.0.113.1"), sc.host("bad", bad)]
    containers = [
        sc.container("shop", "web", 1, "good", ["80:80/tcp"]),
        sc.container("shop", "web", 2, "bad", ["80:80/tcp"]),
    ]
    proc, text = _generate(tmp_path, [sc.service("shop", "web", containers)], hosts)
    assert yaml.safe_load(text) == {
        "web.shop.production": {**RECORD, "value": "203.0.113.1"},
    }
    tf = (tmp_path / "zones" / "example.com.tf.json").read_text()
    assert '"203.0.113.1"' in tf and "AAAA" not in tf
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, proc.stderr
    assert "shop/web" in warnings[0] and "host bad" in warnings[0]
    assert str(ipaddress.ip_address(bad)) in warnings[0] and REFUSED[bad] in warnings[0]


def test_a_refused_host_label_or_bind_ip_is_refused_too(tmp_path):
    hosts = [
        sc.host("h1", "203.0.113.1"),
        sc.host("h2", "203.0.113.2", {LABEL_HOST_IP: "127.0.0.1"}),
        sc.host("h3", "203.0.113.3"),
    ]
    containers = [
        sc.container("shop", "web", 1, "h1", ["80:80/tcp"]),
        sc.container("shop", "web", 2, "h2", ["80:80/tcp"]),
        # Bound to the host's loopback: not reachable from another machine, whatever the
        # host's agent IP; it is not replaced by the agent IP.
        sc.container("shop", "web", 3, "h3", ["127.0.0.1:80:80/tcp"]),
    ]
    proc, text = _generate(tmp_path, [sc.service("shop", "web", containers)], hosts)
    assert "value: 203.0.113.1" in text
    assert "203.0.113.2" not in text and "203.0.113.3" not in text
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 2, proc.stderr
    assert all("127.0.0.1" in w and "loopback" in w and "shop/web" in w for w in warnings)
    assert "host h2" in warnings[0] and "host h3" in warnings[1]


def test_an_ipv4_mapped_address_is_never_written_as_aaaa(tmp_path):
    hosts = [sc.host("h1", "::ffff:1.2.3.4"), sc.host("h2", "2001:db8::2")]
    containers = [
        sc.container("shop", "web", 1, "h1", ["80:80/tcp"]),
        sc.container("shop", "web", 2, "h2", ["80:80/tcp"]),
    ]
    proc, text = _generate(tmp_path, [sc.service("shop", "web", containers)], hosts)
    assert "::ffff" not in text and "102:304" not in text and "1.2.3.4" not in text
    assert "value: 2001:db8::2" in text
    assert "IPv4-mapped" in proc.stderr
