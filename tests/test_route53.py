"""route53: change requests sized the way Route53 counts them, proven against moto.

``pack`` is checked as a pure function (every request within both limits, order and changes
kept, no request closed early); the provider is driven through octoDNS's own plan and apply
against the moto server, which refuses a request over 1,000 counted values (moto itself) or
32,000 counted characters (the harness, ``tests/support/moto_server.py``), exactly as Route53
does. Every figure asserted is derived from the records sent, never written down by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from octodns.record import Record
from octodns.zone import Zone
from octodns_route53 import Route53Provider as UpstreamRoute53Provider

from octodns_rancher.route53 import (
    ROUTE53_MAX_VALUE_CHARACTERS,
    ROUTE53_MAX_VALUES,
    BatchTooLarge,
    Route53Provider,
    mod_weight,
    pack,
    request_weight,
)
from tests.support.moto_server import MotoServer, counted

ZONE = "example.com."


# -- pack, as a pure function ----------------------------------------------------------------


def mod(action: str, values: list[str], name: str = "x.example.com.", rtype: str = "A") -> dict:
    return {
        "Action": action,
        "ResourceRecordSet": {
            "Name": name,
            "Type": rtype,
            "TTL": 300,
            "ResourceRecords": [{"Value": v} for v in values],
        },
    }


def test_an_upsert_counts_its_values_and_characters_twice():
    values = ["192.0.2.1", "192.0.2.22"]
    assert mod_weight(mod("CREATE", values)) == (2, 19)
    assert mod_weight(mod("DELETE", values)) == (2, 19)
    assert mod_weight(mod("UPSERT", values)) == (4, 38)
    alias = {"Action": "UPSERT", "ResourceRecordSet": {"Name": "a.", "Type": "A"}}
    assert mod_weight(alias) == (0, 0)


def test_requests_are_filled_to_route53s_limits():
    creates = [[mod("CREATE", ["192.0.2.1"], f"n{i}.example.com.")] for i in range(2500)]
    assert [len(b) for b in pack(creates)] == [1000, 1000, 500]
    upserts = [[mod("UPSERT", ["192.0.2.1"], f"n{i}.example.com.")] for i in range(1000)]
    assert [len(b) for b in pack(upserts)] == [500, 500]
    # 39-character IPv6 values: 410 UPSERTs are 820 counted values but 31,980 characters; 411
    # would be 32,058, so the characters close the request first.
    v6 = "2001:0db8:0000:0000:0000:0000:0000:0001"
    assert len(v6) == 39
    upserts6 = [[mod("UPSERT", [v6], f"n{i}.example.com.", "AAAA")] for i in range(450)]
    assert [len(b) for b in pack(upserts6)] == [410, 40]


def test_one_change_is_never_split_and_one_too_large_is_named():
    update = [mod("DELETE", ["192.0.2.1"] * 400), mod("CREATE", ["192.0.2.2"] * 400)]
    assert pack([update, update]) == [update, update]  # 800 each: two requests, not 1000 + 600
    with pytest.raises(BatchTooLarge, match=r"^big\.example\.com\. A: one change counts 1200"):
        pack([[mod("UPSERT", ["192.0.2.1"] * 600, "big.example.com.")]])


weights = st.lists(
    st.lists(
        st.tuples(st.sampled_from(["CREATE", "DELETE", "UPSERT"]), st.integers(0, 60)),
        min_size=0,
        max_size=3,
    ),
    max_size=60,
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(weights, st.integers(360, 1000), st.integers(4000, 32000))
def test_pack_keeps_order_and_changes_whole_within_both_limits_and_closes_no_request_early(
    shapes, max_values, max_characters
):
    groups = [
        [
            mod(action, ["2001:db8::1"] * n, f"g{i}m{j}.example.com.")
            for j, (action, n) in enumerate(g)
        ]
        for i, g in enumerate(shapes)
    ]
    batches = pack(groups, max_values, max_characters)

    assert [m for b in batches for m in b] == [m for g in groups for m in g]
    nonempty = [g for g in groups if g]
    boundaries = iter(nonempty)
    for i, batch in enumerate(batches):
        values, characters = request_weight(batch)
        assert batch and values <= max_values and characters <= max_characters
        # The batch is made of whole groups, and the next group would not have fitted.
        taken = []
        while len(taken) < len(batch):
            taken.extend(next(boundaries))
        assert taken == batch
        if i + 1 < len(batches):
            first_next = next(g for g in nonempty if g[0] is batches[i + 1][0])
            nv, nc = request_weight(first_next)
            assert values + nv > max_values or characters + nc > max_characters


def test_limits_are_checked_when_the_provider_is_made():
    with pytest.raises(ValueError, match="max_changes must be a whole number from 1 to 1000"):
        Route53Provider("r53", max_changes=1001, access_key_id="k", secret_access_key="s")
    with pytest.raises(ValueError, match=r"max_value_characters .* got 'x'"):
        Route53Provider("r53", max_value_characters="x", access_key_id="k", secret_access_key="s")


# -- the provider against Route53 on moto ----------------------------------------------------


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def moto(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    moto_server.reset()
    moto_server.create_zone("example.com")
    moto_server.clear_requests()
    for key, value in moto_server.env.items():
        monkeypatch.setenv(key, value)
    return moto_server


def provider(klass=Route53Provider, **kwargs) -> Route53Provider:
    return klass("route53", access_key_id="k", secret_access_key="s", **kwargs)


def zone_of(records: dict[str, list[str]], rtype: str = "A") -> Zone:
    zone = Zone(ZONE, [])
    for name, values in records.items():
        zone.add_record(Record.new(zone, name, {"type": rtype, "ttl": 300, "values": values}))
    return zone


def sync(target, desired: Zone) -> None:
    plan = target.plan(desired)
    assert plan is not None
    target.apply(plan)


def sent(moto: MotoServer) -> list[tuple[int, int, int]]:
    """(status, values, characters) of each change request received, as Route53 counts them."""
    return [(r["status"], *counted(r["body"])) for r in moto.change_requests()]


def held(moto: MotoServer, rtype: str) -> dict[str, list[str]]:
    zone_id = moto.client().list_hosted_zones()["HostedZones"][0]["Id"]
    return {
        r["Name"].removesuffix(".example.com."): sorted(v["Value"] for v in r["ResourceRecords"])
        for r in moto.record_sets(zone_id)
        if r["Type"] == rtype
    }


def addresses(prefix: str, count: int) -> list[str]:
    return sorted(f"{prefix}.{i}" for i in range(1, count + 1))


def test_creates_and_updates_take_the_fewest_requests_route53_accepts(moto: MotoServer):
    # 120 names of 10 values: 1,200 values to create, then 2,400 counted to update.
    first = {f"svc{i:03d}.shop.production": addresses("192.0.2", 10) for i in range(120)}
    sync(provider(), zone_of(first))
    requests = sent(moto)
    assert all(status == 200 for status, _, _ in requests)
    assert [v for _, v, _ in requests] == [1000, 200]
    assert held(moto, "A") == first

    moto.clear_requests()
    moved = {name: addresses("198.51.100", 10) for name in first}
    sync(provider(), zone_of(moved))
    requests = sent(moto)
    counted = sum(v for _, v, _ in requests)
    assert counted == 2 * 1200
    assert len(requests) == math.ceil(counted / ROUTE53_MAX_VALUES) == 3
    assert all(status == 200 and v <= ROUTE53_MAX_VALUES for status, v, _ in requests)
    assert held(moto, "A") == moved


def test_an_ipv6_update_is_split_by_characters_where_counting_values_is_not_enough(
    moto: MotoServer,
):
    def full(group: int, i: int) -> str:
        # No group with a leading zero, so that octoDNS's normal form keeps all 39 characters.
        return f"2a01:4f8c:{group:04x}:1111:2222:3333:4444:{0xB000 + i:04x}"

    first = {f"svc{i:02d}.shop.production": [full(0xA001, j) for j in range(10)] for i in range(45)}
    moved = {name: [full(0xA002, j) for j in range(10)] for name in first}
    sync(provider(), zone_of(first, "AAAA"))
    assert held(moto, "AAAA") == first

    # 450 values UPSERTed: 900 counted values, within octodns-route53's max_changes of 1000,
    # but 35,100 counted characters: Route53 refuses the single request it sends.
    moto.clear_requests()
    upstream = provider(UpstreamRoute53Provider, max_changes=1000)
    with pytest.raises(Exception, match="InvalidChangeBatch"):
        sync(upstream, zone_of(moved, "AAAA"))
    assert [(s, v, c) for s, v, c in sent(moto)] == [(400, 900, 35100)]
    assert held(moto, "AAAA") == first

    moto.clear_requests()
    sync(provider(), zone_of(moved, "AAAA"))
    requests = sent(moto)
    assert [s for s, _, _ in requests] == [200, 200]
    assert sum(c for _, _, c in requests) == 35100
    assert all(c <= ROUTE53_MAX_VALUE_CHARACTERS for _, _, c in requests)
    assert held(moto, "AAAA") == moved
