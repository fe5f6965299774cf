"""The least-privilege IAM policy for pushing our zone to Route53 with ``octodns-sync``.

Exactly the calls octodns-route53 makes to plan and apply A/AAAA records in an existing hosted
zone, and nothing else (``tests/test_iam.py`` records them against a Route53 server and checks
both directions):

- ``ListHostedZones`` to find the zone's id by name, and ``ListHealthChecks``, which the
  provider reads before every change to clean up health checks of its own (we create none).
  Neither can be limited to one zone in IAM: their resource is ``*``.
- ``ListResourceRecordSets`` and ``ChangeResourceRecordSets`` on the one hosted zone only.

Given the zone and environment, the change permission is narrowed further with Route53's
condition keys: only the record types we publish (A/AAAA, and the TXT ownership markers
``_owner.<type>.<name>`` or ``_owner.<environment>``), only names strictly below
``<environment>.<zone>``. Then even stolen
credentials cannot touch the apex, its NS/SOA/MX records or another environment's names.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import ConfigError
from .records import Settings, subtree

_ZONE_ID = re.compile(r"^[A-Z0-9]{1,32}$")

GLOBAL_READ = ("route53:ListHealthChecks", "route53:ListHostedZones")
ZONE_READ = ("route53:ListResourceRecordSets",)
ZONE_WRITE = ("route53:ChangeResourceRecordSets",)
RECORD_TYPES = ("A", "AAAA", "TXT")  # TXT: the ownership markers


def zone_arn(hosted_zone_id: str) -> str:
    return f"arn:aws:route53:::hostedzone/{normalize_zone_id(hosted_zone_id)}"


def normalize_zone_id(hosted_zone_id: str) -> str:
    """``Z123``, ``/hostedzone/Z123`` or ``hostedzone/Z123`` → ``Z123``; reject anything else."""
    raw = hosted_zone_id.strip()
    zone_id = raw.rsplit("/", 1)[-1]
    if "/" in raw and not raw.strip("/").startswith("hostedzone/"):
        zone_id = ""
    if not _ZONE_ID.match(zone_id):
        raise ConfigError(
            f"invalid hosted zone id {hosted_zone_id!r}: expected the Route53 id, e.g. Z0123456789ABC"
        )
    return zone_id


def policy(
    hosted_zone_id: str, zone: str | None = None, environment: str | None = None
) -> dict[str, Any]:
    """The policy document; with ``zone`` and ``environment``, changes are limited to the subtree."""
    arn = zone_arn(hosted_zone_id)
    change: dict[str, Any] = {
        "Sid": "ChangeOurRecords",
        "Effect": "Allow",
        "Action": list(ZONE_WRITE),
        "Resource": arn,
    }
    if zone or environment:
        if not (zone and environment):
            raise ConfigError("give both --zone and --environment to limit names, or neither")
        allowed = subtree(environment, Settings(zone=zone).zone)
        change["Condition"] = {
            "ForAllValues:StringEquals": {
                "route53:ChangeResourceRecordSetsRecordTypes": list(RECORD_TYPES)
            },
            "ForAllValues:StringLike": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": [f"*.{allowed}"]
            },
        }
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FindZoneAndHealthChecks",
                "Effect": "Allow",
                "Action": list(GLOBAL_READ),
                "Resource": "*",
            },
            {
                "Sid": "ReadOurZone",
                "Effect": "Allow",
                "Action": list(ZONE_READ),
                "Resource": arn,
            },
            change,
        ],
    }


def policy_json(
    hosted_zone_id: str, zone: str | None = None, environment: str | None = None
) -> str:
    return json.dumps(policy(hosted_zone_id, zone, environment), indent=2) + "\n"
