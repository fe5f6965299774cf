"""update_policy: the BIND grant ``octodns-rancher bind-policy`` prints, checked by BIND's own
``named-checkconf``; that named enforces it is shown in ``tests/e2e/test_update_policy.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from octodns_rancher.errors import ConfigError
from octodns_rancher.update_policy import check_key_name, grant, zone_statement
from tests.conftest import run


def test_the_grant_covers_our_types_strictly_below_the_environment():
    assert grant("octodns-rancher", "Example.COM.", "My Env") == (
        "grant octodns-rancher wildcard *.my-env.example.com. A AAAA TXT;"
    )


@pytest.mark.parametrize(
    "key", ['a"; };', "key name", "a\nb", "", "-x", "a..b", "x" * 64, "ke;y", "k{ey"]
)
def test_key_names_that_could_break_named_conf_are_refused(key):
    with pytest.raises(ConfigError, match="invalid TSIG key name"):
        check_key_name(key)


@pytest.mark.parametrize("key", ["octodns-rancher", "ddns_key", "k1.example.com.", "_x"])
def test_key_names_as_bind_writes_them_are_accepted(key):
    assert check_key_name(key) == key


def test_named_checkconf_accepts_the_printed_statement(tmp_path: Path):
    checkconf = shutil.which("named-checkconf") or shutil.which(
        "named-checkconf", path="/usr/sbin:/usr/bin"
    )
    assert checkconf, "named-checkconf not found: install bind9 (scripts/setup.sh does)"
    printed = zone_statement("octodns-rancher", "example.com", "production")
    # The operator's zone statement: the printed lines merged with the zone's type and file.
    merged = printed.replace(
        'zone "example.com" {\n',
        f'zone "example.com" {{\n    type primary;\n    file "{tmp_path}/example.com.zone";\n',
    )
    conf = tmp_path / "named.conf"
    conf.write_text(
        'key "octodns-rancher" { algorithm hmac-sha256; secret "'
        + "a2V5LWZvci1uYW1lZC1jaGVja2NvbmYtMzItYnl0ZXMhISE="
        + '"; };\n'
        + merged
    )
    proc = run([checkconf, str(conf)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The check is real: a grant with a type BIND does not know is refused.
    conf.write_text(conf.read_text().replace("AAAA TXT;", "AAAA NOTATYPE;"))
    assert run([checkconf, str(conf)]).returncode != 0


def test_cli_prints_the_statement_from_the_environment():
    env = {
        "ROOT_DOMAIN": "example.com",
        "RANCHER_ENVIRONMENT": "Staging",
        "RFC2136_TSIG_KEYNAME": "staging-key",
    }
    proc = run(["octodns-rancher", "bind-policy"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert "grant staging-key wildcard *.staging.example.com. A AAAA TXT;" in proc.stdout
    assert "allow-transfer { key staging-key; };" in proc.stdout


def test_cli_without_a_zone_is_one_error_line():
    proc = run(["octodns-rancher", "bind-policy", "--environment", "x"])
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "ERROR octodns_rancher: no zone given: pass --zone or set ROOT_DOMAIN"
    ]
