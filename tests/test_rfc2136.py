"""rfc2136: how changes are packed into update messages, and keys refused when the config loads.

The messages are built as the provider sends them and measured on the wire, TSIG included; the
end-to-end tests (``tests/e2e/test_rfc2136.py``) send them to a real named.
"""

from __future__ import annotations

import base64

import pytest
from octodns.record import Create, Delete, Record, Update
from octodns.zone import Zone

from octodns_rancher.rfc2136 import MAX_MESSAGE, Rfc2136Error, Rfc2136Provider

SECRET = base64.b64encode(b"k" * 32).decode()
ZONE = "example.com."


def provider(**kw) -> Rfc2136Provider:
    args = {"host": "127.0.0.1", "key_name": "octodns-rancher", "key_secret": SECRET, **kw}
    return Rfc2136Provider("rfc2136", **args)


def a_record(zone: Zone, name: str, hosts: int) -> Record:
    values = [f"198.51.{100 + i // 250}.{i % 250 + 1}" for i in range(hosts)]
    return Record.new(zone, name, {"type": "A", "ttl": 300, "values": values})


def mixed_changes(count: int, hosts: int) -> list:
    """Creates, updates and deletes of ``count`` records of ``hosts`` values, with markers."""
    zone = Zone(ZONE, [])
    changes = []
    for i in range(count):
        name = f"svc{i:04d}.shop.production"
        record = a_record(zone, name, hosts)
        marker = Record.new(
            zone, f"_owner.a.{name}", {"type": "TXT", "ttl": 300, "value": "octodns-rancher:p"}
        )
        if i % 3 == 0:
            changes += [Create(record), Create(marker)]
        elif i % 3 == 1:
            changes.append(Update(a_record(zone, name, 1), record))
        else:
            changes += [Delete(record), Delete(marker)]
    return changes


@pytest.mark.parametrize(("limit", "hosts"), [(MAX_MESSAGE, 8), (MAX_MESSAGE, 1), (1500, 3)])
def test_messages_hold_every_change_in_order_within_the_limit(limit, hosts):
    changes = mixed_changes(600, hosts)
    p = provider(max_message_bytes=limit)
    messages = list(p._messages(ZONE, changes))
    assert [c for _, batch in messages for c in batch] == changes
    sizes = [len(update.to_wire()) for update, _ in messages]  # signed: TSIG included
    assert max(sizes) <= limit
    # Filled: every message but the last holds at least 80 % of the limit.
    assert all(size > 0.8 * limit for size in sizes[:-1]), sizes


def test_update_batch_size_still_caps_the_changes_per_message():
    changes = mixed_changes(30, 1)
    messages = list(provider(update_batch_size=7)._messages(ZONE, changes))
    assert [len(batch) for _, batch in messages] == [7] * 7 + [1]
    assert len(changes) == 50


def test_a_change_larger_than_any_message_is_refused_before_anything_is_sent(caplog):
    zone = Zone(ZONE, [])
    big = a_record(zone, "big.shop.production", 200)
    small = a_record(zone, "small.shop.production", 1)
    with pytest.raises(
        Rfc2136Error,
        match=r"big.shop.production.example.com. A is larger than an update message may be \(1024 bytes\)",
    ):
        list(provider(max_message_bytes=1024)._messages(ZONE, [Create(big), Create(small)]))
    assert "nothing was sent" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key_secret": "not base64!"}, "is not valid base64"),
        ({"key_secret": ""}, "give both a TSIG key name and its secret"),
        ({"key_name": None}, "give both a TSIG key name and its secret"),
        ({"key_algorithm": "hmac-sha3"}, "unknown TSIG algorithm 'hmac-sha3'"),
        ({"max_message_bytes": 70000}, "max_message_bytes must be 512-65535"),
        ({"max_message_bytes": 100}, "max_message_bytes must be 512-65535"),
    ],
)
def test_unusable_settings_fail_when_the_config_loads(kwargs, message, caplog):
    with pytest.raises(Rfc2136Error, match=message):
        provider(**kwargs)
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert SECRET not in caplog.text


def test_no_key_at_all_is_allowed_for_servers_that_need_none():
    assert provider(key_name=None, key_secret=None).key_name is None


def test_numbers_from_the_environment_are_text():
    """octoDNS's env/NAME turns '1234' into an int; a key name stays a name."""
    p = provider(key_name=1234, port="5353")
    assert p.key_name == "1234" and p.port == 5353
    assert "1234" in str(p._auth_params()["keyring"])


def test_variables_set_but_empty_mean_the_defaults():
    """GitHub Actions passes an unset variable as ""."""
    p = provider(port="", key_algorithm="", timeout="")
    assert (p.port, p.key_algorithm, p.timeout) == (53, None, 15.0)
    assert "hmac-sha256" in p._key_text()
