"""Least privilege at BIND: a key granted only what ``octodns-rancher bind-policy`` prints.

named starts with that grant for the environment ``production`` and nothing more for the key
octoDNS signs with. Syncs of the environment, with either ownership model, work; dynamic updates
signed with the same key anywhere else in the zone (``www``, the apex, another environment, the
subtree's own name, other types) are refused by named and change nothing, and so is a sync of
another environment with that key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import run
from tests.e2e.conftest import OUTSIDE, ZONE, BindTarget, Site, ips, output, shop
from tests.support.bind import KEY, Bind
from tests.support.metadata_server import MetadataServer


def printed_grants(environment: str) -> list[str]:
    """The ``grant`` lines of the update-policy ``bind-policy`` prints."""
    cmd = ["octodns-rancher", "bind-policy", "--zone", ZONE, "--environment", environment]
    proc = run([*cmd, "--key-name", KEY], check=True)
    return [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("grant ")]


@pytest.fixture(scope="module")
def narrow() -> Iterator[Bind]:
    grants = printed_grants("Production")
    assert grants == [f"grant {KEY} wildcard *.production.{ZONE}. A AAAA TXT;"]
    with Bind(ZONE, grants=grants) as server:
        yield server


@pytest.fixture
def target(narrow: Bind) -> BindTarget:
    target = BindTarget(narrow)
    target.reset()
    return target


@pytest.mark.parametrize("ownership", ["record", "subtree"])
def test_the_environment_syncs_within_the_grant(
    tmp_path, metadata_server: MetadataServer, target: BindTarget, ownership: str
):
    site = Site(
        tmp_path / "site", metadata_server.url, target, init_args=("--ownership", ownership)
    )
    metadata_server.reload(shop({"web": ["h0", "h1"], "api": ["h2"]}))
    site.publish()
    assert target.answer("web.shop.production") == (300, ips("h0", "h1"))
    marker = "_owner.a.api.shop.production" if ownership == "record" else "_owner.production"
    assert target.answer(marker, "TXT").values == ['"octodns-rancher:production"']

    metadata_server.reload(shop({"web": ["h3"]}))  # an update and a deletion
    site.publish()
    assert target.answer("web.shop.production") == (300, ips("h3"))
    assert target.answer("api.shop.production") is None
    assert target.outside() == OUTSIDE


OUTSIDE_THE_GRANT = [
    ("www", "A", "192.0.2.1"),
    ("", "TXT", '"apex"'),
    ("", "NS", "ns2.example.net."),
    ("x.otherenv", "A", "192.0.2.2"),
    ("_owner.a.x.otherenv", "TXT", '"octodns-rancher:production"'),
    ("production", "A", "192.0.2.3"),  # the subtree's own name: not below it
    ("web.shop.production", "MX", "10 mail.example.net."),
    ("web.shop.production", "CNAME", "elsewhere.example.net."),
]


@pytest.mark.parametrize(("name", "rtype", "value"), OUTSIDE_THE_GRANT)
def test_the_key_cannot_write_outside_the_grant(
    target: BindTarget, narrow: Bind, name: str, rtype: str, value: str
):
    before = target.records()
    refused = narrow.counters().get("UpdateRej", 0)
    update = narrow.update(KEY)
    update.add(f"{name}.{ZONE}." if name else f"{ZONE}.", 300, rtype, value)
    assert narrow.send(update) == dns_rcode("REFUSED")
    assert narrow.counters()["UpdateRej"] == refused + 1
    assert target.records() == before


def test_the_key_cannot_delete_outside_the_grant(target: BindTarget, narrow: Bind):
    before = target.records()
    update = narrow.update(KEY)
    update.delete(f"www.{ZONE}.", "CNAME")
    update.delete(f"x.otherenv.{ZONE}.")
    assert narrow.send(update) == dns_rcode("REFUSED")
    assert target.records() == before
    assert target.answer("www", "CNAME") == OUTSIDE[("www", "CNAME")]


def test_the_key_writes_inside_the_grant(target: BindTarget, narrow: Bind):
    """The control: the same key, one level down, is accepted."""
    update = narrow.update(KEY)
    update.add(f"probe.production.{ZONE}.", 300, "A", "192.0.2.4")
    assert narrow.send(update) == dns_rcode("NOERROR")
    assert target.answer("probe.production") == (300, ["192.0.2.4"])


def test_another_environments_sync_with_the_key_is_refused_and_changes_nothing(
    tmp_path, metadata_server: MetadataServer, target: BindTarget
):
    site = Site(tmp_path / "site", metadata_server.url, target, environment="staging")
    metadata_server.reload(shop({"web": ["h0"]}, environment="Staging"))
    site.generate()
    before = target.records()
    proc = site.sync()
    assert proc.returncode != 0
    text = output(proc)
    assert "update 1 of 1 to example.com. at 127.0.0.1" in text
    assert "was refused (REFUSED) for _owner.a.web.shop.staging.example.com. TXT, " in text
    assert "web.shop.staging.example.com. A" in text
    assert "update-policy does not let the TSIG key 'octodns-rancher'" in text
    assert "nothing was changed" in text
    assert target.records() == before
    assert target.answer("web.shop.staging") is None


def dns_rcode(name: str) -> int:
    import dns.rcode

    return dns.rcode.from_text(name)
