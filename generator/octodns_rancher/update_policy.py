"""The least-privilege BIND ``update-policy`` for pushing our zone with RFC 2136 dynamic updates.

The counterpart of ``iam.py`` for BIND 9. A TSIG key granted this can write the record types we
publish, A and AAAA plus the TXT ownership markers, at names strictly below
``<environment>.<zone>``, and nothing else: both kinds of marker lie there (per record
``_owner.<type>.<name>``, e.g. ``_owner.a.web.shop.production.example.com``; per subtree
``_owner.<environment>``, i.e. ``_owner.production.example.com``). BIND refuses the whole update
message for anything else: the apex and its SOA/NS, ``www``, ``<environment>.<zone>`` itself,
another environment's names, other types (``tests/e2e/test_update_policy.py`` proves it
against named).

BIND's ``wildcard`` rule matches names below ``*.<environment>.<zone>.`` at any depth, not the
name ``<environment>.<zone>`` itself, exactly the ``NameAllowlistFilter`` of the rendered
octoDNS config. Reading is a zone transfer, which BIND allows per zone (``allow-transfer``):
the key reads the whole zone, as Route53's ``ListResourceRecordSets`` does.
"""

from __future__ import annotations

import re

from .errors import ConfigError
from .records import Settings, subtree

RECORD_TYPES = ("A", "AAAA", "TXT")  # TXT: the ownership markers
# A TSIG key name is a domain name; anything else could break out of named.conf's syntax.
_KEY_NAME = re.compile(
    r"(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?"
)


def check_key_name(key_name: str) -> str:
    if not _KEY_NAME.fullmatch(key_name):
        raise ConfigError(
            f"invalid TSIG key name {key_name!r}: use a domain name (letters, digits, - and _ "
            "in dot-separated labels), as in the key statement of named.conf"
        )
    return key_name


def grant(key_name: str, zone: str, environment: str) -> str:
    """The ``update-policy`` rule, e.g.
    ``grant octodns-rancher wildcard *.production.example.com. A AAAA TXT;``."""
    names = subtree(environment, Settings(zone=zone).zone)
    return f"grant {check_key_name(key_name)} wildcard *.{names}. {' '.join(RECORD_TYPES)};"


def zone_statement(key_name: str, zone: str, environment: str) -> str:
    """The parts of the zone's statement in named.conf that the key needs, with comments."""
    zone = Settings(zone=zone).zone
    rule = grant(key_name, zone, environment)
    names = subtree(environment, zone)
    return (
        f"// Least privilege for octodns-sync with TSIG key {key_name} in zone {zone}:\n"
        f"// A, AAAA and the TXT ownership markers strictly below {names}, nothing else.\n"
        "// Merge into the zone's statement (update-policy replaces allow-update; keep the\n"
        "// grants of other keys), then run `rndc reconfig`. The transfer (octoDNS reads the\n"
        "// zone with it) cannot be narrowed below the zone.\n"
        f'zone "{zone}" {{\n'
        f"    allow-transfer {{ key {key_name}; }};\n"
        "    update-policy {\n"
        f"        {rule}\n"
        "    };\n"
        "};\n"
    )
