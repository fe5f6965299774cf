"""A large zone reaches a PowerDNS with default settings: requests fit its body limit.

PowerDNS refuses a request body over ``webserver-max-bodysize`` (2 MB by default). The initial
sync of 10,000 records of 4 addresses (about 3 MB of JSON; 5 MB with a marker per record)
goes through the real ``octodns-sync`` with the config ``init --provider powerdns`` renders, into the test server, which runs with PowerDNS's default body limit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from octodns_rancher.powerdns import (
    DEFAULT_MAX_REQUEST_BYTES,
    MIN_REQUEST_BYTES,
    POWERDNS_DEFAULT_MAX_BODY,
    PowerDnsProvider,
)
from octodns_rancher.records import DesiredRecord, ServiceRef
from octodns_rancher.render import render_octodns
from tests.e2e.conftest import OUTSIDE, ZONE, PowerDnsTarget, Site, output

RECORDS = 10_000


def big_zone(root: Path, count: int = RECORDS) -> dict[tuple[str, str], list[str]]:
    """Write ``zones/example.com.yaml`` with ``count`` A records of 4 addresses; the records."""
    records = []
    for i in range(count):
        stack, name = f"stack-{i // 20:04d}", f"svc-{i:05d}"
        values = tuple(sorted(f"10.{i // 250 % 250}.{i % 250}.{10 + k}" for k in range(4)))
        records.append(
            DesiredRecord(
                f"{name}.{stack}.production",
                "A",
                300,
                values,
                ServiceRef(stack, name, f"uuid-{i}"),
            )
        )
    zones = root / "zones"
    zones.mkdir(parents=True, exist_ok=True)
    (zones / f"{ZONE}.yaml").write_text(render_octodns(records, ZONE))
    return {(r.name, r.type): list(r.values) for r in records}


def test_the_server_runs_with_the_default_body_limit(powerdns: PowerDnsTarget) -> None:
    args = powerdns.pdns._args(Path("/nonexistent"))
    assert not any(a.startswith("--webserver-max-bodysize") for a in args)


def test_initial_sync_of_10000_records_fits_the_default_body_limit(
    tmp_path: Path, powerdns: PowerDnsTarget
) -> None:
    # Subtree ownership (one marker) keeps the test fast: 10,000 record sets are still about
    # 3 MB of JSON, well over the 2 MB limit (with a marker per record it is about 5 MB).
    site = Site(
        tmp_path / "site", "http://127.0.0.1:9", powerdns, init_args=("--ownership", "subtree")
    )
    expected = big_zone(site.root)
    proc = site.sync()
    assert proc.returncode == 0, output(proc)[-3000:]
    sizes = [
        int(b)
        for b in re.findall(r"PATCH request \d+ of \d+: \d+ record sets, (\d+) bytes", output(proc))
    ]
    assert len(sizes) >= 2 and sum(sizes) > POWERDNS_DEFAULT_MAX_BODY
    assert max(sizes) <= DEFAULT_MAX_REQUEST_BYTES
    got = powerdns.records()
    ours = {k: v.values for k, v in got.items() if k[1] == "A" and k not in OUTSIDE}
    assert ours == expected
    assert got[("_owner.production", "TXT")].values == ['"octodns-rancher:production"']
    assert powerdns.outside() == OUTSIDE
    # A spot check through the DNS port, as a resolver sees it.
    name = "svc-09999.stack-0499.production"
    assert powerdns.answer(name).values == expected[(name, "A")]


def test_a_zone_created_by_the_sync_is_sent_in_requests_too(powerdns: PowerDnsTarget) -> None:
    """No zone yet: the zone is created with the first request, the rest patched into it."""
    from octodns.provider.plan import Plan
    from octodns.record import Create, Record
    from octodns.zone import Zone

    powerdns.pdns.delete_zones()
    provider = PowerDnsProvider(
        "powerdns",
        host="127.0.0.1",
        port=powerdns.pdns.api_port,
        api_key=powerdns.env["PDNS_API_KEY"],
        max_request_bytes=MIN_REQUEST_BYTES,
    )
    desired = Zone(f"{ZONE}.", [])
    for i in range(200):
        desired.add_record(
            Record.new(
                desired, f"r{i}.production", {"type": "A", "ttl": 300, "value": f"10.0.0.{i}"}
            )
        )
    existing = Zone(f"{ZONE}.", [])
    changes = [Create(r) for r in sorted(desired.records)]
    sent: list[int] = []
    real = provider._request

    def counting(method, path, data=None):  # type: ignore[no-untyped-def]
        if data is not None:
            sent.append(len(json.dumps(data).encode()))
        return real(method, path, data=data)

    provider._request = counting  # type: ignore[method-assign]
    provider.apply(Plan(existing, desired, changes, exists=False))
    assert len(sent) > 3 and max(sent) <= MIN_REQUEST_BYTES
    assert {(n, t) for n, t in powerdns.records()} >= {
        (f"r{i}.production", "A") for i in range(200)
    }
    assert powerdns.answer("r199.production") == (300, ["10.0.0.199"])
