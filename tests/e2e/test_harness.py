"""The test servers fail loudly: a PowerDNS or named that cannot start is an error with its
reason."""

from __future__ import annotations

import pytest

from tests.support import bind as bind_module
from tests.support import pdns as pdns_module
from tests.support.bind import Bind, BindError
from tests.support.pdns import PowerDns, PowerDnsError


def test_missing_pdns_server_binary_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pdns_module, "PDNS_SERVER", "pdns_server-not-installed")
    with pytest.raises(PowerDnsError, match="pdns_server not found: install pdns-server"):
        PowerDns().start()


def test_pdns_server_that_exits_reports_its_log():
    class Broken(PowerDns):
        def _args(self, db):
            return [*super()._args(db), "--launch=no-such-backend"]

    with pytest.raises(PowerDnsError) as err:
        Broken(startup_timeout=10).start()
    message = str(err.value)
    assert "pdns_server did not start: pdns_server exited with status" in message
    assert "no-such-backend" in message  # from the server's own log


def test_missing_named_binary_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(bind_module, "NAMED", "named-not-installed")
    with pytest.raises(BindError, match="named not found: install bind9"):
        Bind("example.com").start()


def test_named_that_exits_reports_its_log():
    broken = Bind("example.com", grants=["grant nobody no-such-rule ANY;"], startup_timeout=10)
    with pytest.raises(BindError) as err:
        broken.start()
    message = str(err.value)
    assert "named did not start: named exited with status" in message
    assert "no-such-rule" in message  # from named's own log
    assert broken.workdir is None  # cleaned up


def test_moto_server_logs_operations_and_answers_like_route53(moto):
    moto.reset()
    zone_id = moto.create_zone("example.org")
    client = moto.client()
    # The harness supplies what moto 5.2.5 leaves out and octodns-route53 reads.
    assert client.list_health_checks()["IsTruncated"] is False
    change = {
        "Action": "CREATE",
        "ResourceRecordSet": {
            "Name": "a.example.org.",
            "Type": "A",
            "TTL": 300,
            "ResourceRecords": [{"Value": "192.0.2.1"}],
        },
    }
    client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [change]})
    delete = {**change, "Action": "DELETE"}
    client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [delete]})
    # Re-creating a deleted record set works, as on Route53; creating a present one does not.
    client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [change]})
    with pytest.raises(client.exceptions.InvalidChangeBatch):
        client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [change]})
    names = {r["Name"] for r in moto.record_sets(zone_id)}
    assert "a.example.org." in names
    assert moto.operations() == [
        "route53:CreateHostedZone",
        "route53:ListHealthChecks",
        *["route53:ChangeResourceRecordSets"] * 4,
        "route53:ListResourceRecordSets",
    ]
    assert [r["status"] for r in moto.requests()][-2:] == [400, 200]
    moto.reset()
    assert moto.requests() == [] and moto.client().list_hosted_zones()["HostedZones"] == []
