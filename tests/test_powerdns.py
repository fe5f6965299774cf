"""powerdns: requests split to fit a body limit, in order, each record set whole."""

from __future__ import annotations

import itertools
import json

import pytest

from octodns_rancher.powerdns import (
    DEFAULT_MAX_REQUEST_BYTES,
    POWERDNS_DEFAULT_MAX_BODY,
    PowerDnsProvider,
    RequestTooLarge,
    body_size,
    split,
)


def rrset(i: int, values: int = 4, changetype: str = "REPLACE") -> dict:
    return {
        "name": f"svc-{i:05d}.stack.production.example.com.",
        "type": "A",
        "ttl": 300,
        "changetype": changetype,
        "records": [{"content": f"10.0.{i % 250}.{k}", "disabled": False} for k in range(values)],
    }


def test_body_size_is_the_serialised_json_requests_sends() -> None:
    sets = [rrset(1), rrset(2)]
    assert body_size(sets) == len(json.dumps({"rrsets": sets}).encode())


def test_split_keeps_order_and_every_request_within_the_limit() -> None:
    sets = [
        rrset(i, values=1 + i % 7, changetype="DELETE" if i < 40 else "REPLACE") for i in range(500)
    ]
    limit = 9000
    requests = split(sets, limit)
    assert len(requests) > 1
    assert [s for r in requests for s in r] == sets  # same record sets, same order
    assert all(body_size(r) <= limit for r in requests)
    # The fewest requests: each one but the last is full (the next record set would not fit).
    for request, following in itertools.pairwise(requests):
        assert body_size([*request, following[0]]) > limit


def test_split_fills_a_request_exactly_to_the_limit() -> None:
    sets = [rrset(i) for i in range(3)]
    assert split(sets, body_size(sets)) == [sets]
    assert split(sets, body_size(sets) - 1) == [sets[:2], sets[2:]]


def test_a_record_set_larger_than_a_request_is_refused_naming_it() -> None:
    big = rrset(7, values=400)
    with pytest.raises(RequestTooLarge, match=r"svc-00007\.stack\.production\.example\.com\. A"):
        split([rrset(1), big], 5000)


def test_the_default_is_below_powerdns_default_body_limit() -> None:
    assert DEFAULT_MAX_REQUEST_BYTES < POWERDNS_DEFAULT_MAX_BODY


@pytest.mark.parametrize("bad", [0, 100, -5, "lots", 1.5e6, True, None])
def test_max_request_bytes_is_checked_when_the_config_is_loaded(bad: object) -> None:
    with pytest.raises(ValueError, match="max_request_bytes"):
        PowerDnsProvider("powerdns", host="127.0.0.1", api_key="k", max_request_bytes=bad)


def test_max_request_bytes_from_the_environment_is_a_number() -> None:
    provider = PowerDnsProvider("p", host="127.0.0.1", api_key="k", max_request_bytes="900000")
    assert provider.max_request_bytes == 900_000
