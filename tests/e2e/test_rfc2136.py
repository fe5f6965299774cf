"""What is particular to RFC 2136 at a real named: the TSIG key, and the size of update messages.

The lifecycle, ownership, two-environment and drift tests run against named through the
``target`` fixture like every provider; least privilege is in ``test_update_policy.py``. Here:

- a wrong or missing key stops the sync with one ERROR line saying what to check, before
  anything is written (the zone is read back by transfer and over DNS unchanged);
- update messages are filled up to 65,535 bytes, where octodns-bind's fixed 1000 changes per
  message make a message too large to send once records have several values.
"""

from __future__ import annotations

import base64

import pytest

from tests.conftest import run
from tests.e2e.conftest import HOSTS, ZONE, BindTarget, Site, ips, output, shop
from tests.support.bind import ADMIN, Bind
from tests.support.metadata_server import MetadataServer

OTHER_SECRET = base64.b64encode(b"not the key's secret, 32 bytes!!").decode()


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if " ERROR " in line]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"RFC2136_TSIG_SECRET": OTHER_SECRET}, "(BADSIG): the secret is not the key's"),
        ({"RFC2136_TSIG_KEYNAME": "nobody"}, "does not know the TSIG key 'nobody'"),
        ({"RFC2136_TSIG_ALGORITHM": "hmac-sha512"}, "(hmac-sha512) (BADKEY)"),
        ({"RFC2136_TSIG_SECRET": "not base64!"}, "is not valid base64"),
        ({"RFC2136_PORT": "1"}, "zone transfer of example.com. from 127.0.0.1:1 failed"),
    ],
    ids=["secret", "key-name", "algorithm", "base64", "no-server"],
)
def test_a_wrong_key_is_one_clear_error_and_changes_nothing(
    tmp_path, metadata_server: MetadataServer, bind: BindTarget, env: dict[str, str], says: str
):
    site = Site(tmp_path / "site", metadata_server.url, bind)
    metadata_server.reload(shop({"web": ["h0"]}))
    site.generate()
    before = bind.records()
    proc = site.sync(env=env)
    assert proc.returncode != 0
    errors = error_lines(output(proc))
    assert len(errors) == 1 and "Rfc2136Provider[rfc2136]" in errors[0], output(proc)[-3000:]
    assert says in errors[0]
    assert bind.records() == before
    assert bind.answer("web.shop.production") is None


def test_a_key_the_zone_does_not_let_transfer_is_named(tmp_path, metadata_server: MetadataServer):
    with Bind(ZONE, transfer_keys=[ADMIN]) as server:
        target = BindTarget(server)
        site = Site(tmp_path / "site", metadata_server.url, target)
        metadata_server.reload(shop({"web": ["h0"]}))
        site.generate()
        proc = site.sync()
        assert proc.returncode != 0
        errors = error_lines(output(proc))
        assert len(errors) == 1, output(proc)[-3000:]
        assert "the server refused the zone transfer (REFUSED) to the TSIG key" in errors[0]
        assert "allow-transfer must name key octodns-rancher" in errors[0]
        assert target.answer("web.shop.production") is None


def test_the_secret_is_never_printed_even_at_debug(
    tmp_path, metadata_server: MetadataServer, bind: BindTarget
):
    site = Site(tmp_path / "site", metadata_server.url, bind)
    metadata_server.reload(shop({"web": ["h0"]}))
    site.generate()
    wrong = site.sync("--debug", env={"RFC2136_TSIG_SECRET": OTHER_SECRET})
    right = site.sync("--debug")
    assert wrong.returncode != 0 and right.returncode == 0, output(right)[-2000:]
    assert bind.answer("web.shop.production") == (300, ips("h0"))
    for secret in (bind.env["RFC2136_TSIG_SECRET"], OTHER_SECRET):
        assert secret not in output(wrong) + output(right)
        assert secret not in site.config.read_text()


def test_a_missing_secret_is_named_by_octodns(
    tmp_path, metadata_server: MetadataServer, bind: BindTarget
):
    site = Site(tmp_path / "site", metadata_server.url, bind)
    metadata_server.reload(shop({"web": ["h0"]}))
    site.generate()
    env = {k: v for k, v in bind.env.items() if k != "RFC2136_TSIG_SECRET"}
    before = bind.records()
    proc = run(["octodns-sync", "--config-file", str(site.config), "--doit"], site.root, env)
    assert proc.returncode != 0
    assert "missing env var RFC2136_TSIG_SECRET" in output(proc)
    assert bind.records() == before


def test_update_messages_are_filled_up_to_the_dns_message_limit(
    tmp_path, metadata_server: MetadataServer, bind: BindTarget
):
    # 500 services on all 8 hosts: 500 A records of 8 values and their markers, 1000 changes.
    metadata_server.reload(shop({f"svc{i:03d}": list(HOSTS) for i in range(500)}))
    site = Site(tmp_path / "site", metadata_server.url, bind)
    site.generate()

    # octodns-bind's own provider puts all 1000 changes in one message, over 65,535 bytes:
    # dnspython refuses to send it.
    upstream = site.root / "octodns-upstream-provider.yaml"
    text = site.config.read_text()
    upstream.write_text(
        text.replace(
            "octodns_rancher.rfc2136.Rfc2136Provider", "octodns_bind.Rfc2136Provider"
        ).replace("    max_message_bytes: 65535\n", "")
    )
    before = bind.bind.counters().get("UpdateDone", 0)
    proc = site.sync(config=upstream)
    assert proc.returncode != 0 and "TooBig" in output(proc), output(proc)[-2000:]
    assert bind.ours() == {}

    # The shipped provider: two messages, each within the limit, everything applied.
    proc = site.sync()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "update 2 of 2 to example.com." in output(proc)
    assert bind.bind.counters()["UpdateDone"] == before + 2
    assert len(bind.ours()) == 1000
    assert bind.answer("svc499.shop.production") == (300, ips(*HOSTS))
