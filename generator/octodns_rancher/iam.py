"""The least-privilege IAM policies for ``octodns-sync`` to Route53, and the roles' trust.

Two roles, because a pull request's plan runs the pull request's own code: whatever its
credentials allow, an unreviewed branch can do.

- The **apply** role (``mode="apply"``): exactly the calls octodns-route53 makes to plan and
  apply A/AAAA records in an existing hosted zone, and nothing else.
- The **plan** role (``mode="plan"``): exactly the calls of a plan, which reads and never
  changes; no ``Change*`` action at all.

``tests/test_iam.py`` records the calls of real syncs against a Route53 server and checks both
directions for each. The apply role needs:

- ``ListHostedZones`` to find the zone's id by name, and ``ListHealthChecks``, which the
  provider reads before every change to clean up health checks of its own (we create none).
  Neither can be limited to one zone in IAM: their resource is ``*``. The plan role has no
  ``ListHealthChecks``: a plan reads health checks only for octoDNS's own "dynamic" record
  sets (``_octodns-*``), which we never publish.
- ``ListResourceRecordSets`` and ``ChangeResourceRecordSets`` on the one hosted zone only.

Given the zone and environment, the change permission is narrowed further with Route53's
condition keys: only the record types we publish (A/AAAA, and the TXT ownership markers
``_owner.<type>.<name>`` or ``_owner.<environment>``), only names strictly below
``<environment>.<zone>``. Then even stolen
credentials cannot touch the apex, its NS/SOA/MX records or another environment's names.

Each role is assumed through GitHub's OIDC provider (``token.actions.githubusercontent.com``),
and its trust policy decides which jobs may: the plan role only this repository's pull requests
(subject ``repo:OWNER/REPO:pull_request``), the apply role only jobs in the ``dns`` environment
(``repo:OWNER/REPO:environment:dns``), which GitHub admits only from the branches the
environment's deployment rule allows. A pull request that edits a workflow to assume the apply
role gets a token with the pull-request subject, which the apply role does not trust.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import ConfigError
from .records import Settings, subtree

_ZONE_ID = re.compile(r"^[A-Z0-9]{1,32}$")
# GitHub's rules: an owner is 1-39 letters, digits or inner hyphens; a repository name is up to
# 100 letters, digits, '.', '_' or '-'. Nothing that IAM could read as a wildcard or separator.
# Matched with fullmatch: ``$`` would let a trailing newline through.
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?")
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
_ACCOUNT = re.compile(r"[0-9]{12}")

MODES = ("apply", "plan")
OIDC_ISSUER = "token.actions.githubusercontent.com"
OIDC_AUDIENCE = "sts.amazonaws.com"
DEPLOY_ENVIRONMENT = "dns"  # the GitHub environment the apply and reconcile jobs run in

GLOBAL_READ = ("route53:ListHealthChecks", "route53:ListHostedZones")
# A plan reads health checks only for octoDNS "dynamic" records (``_octodns-*`` record sets),
# which we never publish: it finds the zone and reads its record sets, nothing more.
PLAN_GLOBAL_READ = ("route53:ListHostedZones",)
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
    hosted_zone_id: str,
    zone: str | None = None,
    environment: str | None = None,
    mode: str = "apply",
) -> dict[str, Any]:
    """The policy document; with ``zone`` and ``environment``, changes are limited to the subtree.

    ``mode="plan"`` leaves the change statement out: what remains only lists and reads.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown policy mode {mode!r}: expected one of {', '.join(MODES)}")
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
                "Sid": "FindZoneAndHealthChecks" if mode == "apply" else "FindZone",
                "Effect": "Allow",
                "Action": list(GLOBAL_READ if mode == "apply" else PLAN_GLOBAL_READ),
                "Resource": "*",
            },
            {
                "Sid": "ReadOurZone",
                "Effect": "Allow",
                "Action": list(ZONE_READ),
                "Resource": arn,
            },
        ]
        + ([change] if mode == "apply" else []),
    }


def policy_json(
    hosted_zone_id: str,
    zone: str | None = None,
    environment: str | None = None,
    mode: str = "apply",
) -> str:
    return json.dumps(policy(hosted_zone_id, zone, environment, mode), indent=2) + "\n"


def oidc_subject(repository: str, mode: str) -> str:
    """The ``sub`` claim of the jobs a role trusts: pull requests (plan) or the environment."""
    owner, _, name = repository.partition("/")
    if not (_OWNER.fullmatch(owner) and _REPO.fullmatch(name) and name not in (".", "..")):
        raise ConfigError(
            f"invalid repository {repository!r}: expected OWNER/NAME as GitHub spells it, "
            "e.g. example/dns"
        )
    if mode == "plan":
        return f"repo:{owner}/{name}:pull_request"
    if mode == "apply":
        return f"repo:{owner}/{name}:environment:{DEPLOY_ENVIRONMENT}"
    raise ConfigError(f"unknown policy mode {mode!r}: expected one of {', '.join(MODES)}")


def trust_policy(repository: str, account_id: str, mode: str) -> dict[str, Any]:
    """The role's trust policy: GitHub's OIDC tokens for this repository and ``mode``'s jobs.

    Both the audience and the subject are matched exactly (``StringEquals``, no wildcard).
    """
    subject = oidc_subject(repository, mode)
    if not _ACCOUNT.fullmatch(account_id):
        raise ConfigError(f"invalid AWS account id {account_id!r}: expected 12 digits")
    provider = f"arn:aws:iam::{account_id}:oidc-provider/{OIDC_ISSUER}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsPullRequests"
                if mode == "plan"
                else "GitHubActionsDnsEnvironment",
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{OIDC_ISSUER}:aud": OIDC_AUDIENCE,
                        f"{OIDC_ISSUER}:sub": subject,
                    }
                },
            }
        ],
    }


def trust_policy_json(repository: str, account_id: str, mode: str) -> str:
    return json.dumps(trust_policy(repository, account_id, mode), indent=2) + "\n"
