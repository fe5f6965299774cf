"""The test servers fail loudly: a PowerDNS that cannot start is an error with its reason."""

from __future__ import annotations

import pytest

from tests.support import pdns as pdns_module
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
