"""iam: the policies from ``octodns-rancher iam-policy`` cover every Route53 call of a real sync,
and grant nothing that is not used: the apply role's for plans and applies, the plan role's
(``--mode plan``) for plans only, with no change permission at all. The OIDC trust policies
(``--trust``) are checked for their exact shape.

The real ``octodns-sync`` (octodns-route53 over boto3) plans and applies our zone against a moto
Route53 server; the server's request log is the record of what was called. Each call is then
checked against the generated policy with a small evaluator of the parts of IAM the policy uses
(actions, resources, ``ForAllValues`` string conditions). moto does not enforce IAM, so the
evaluator is what decides; it is checked in both directions (it denies what the policy must
deny).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from octodns_rancher.errors import ConfigError
from octodns_rancher.iam import normalize_zone_id, policy
from tests.conftest import generate_args, run
from tests.support import scenario as sc
from tests.support.moto_server import MotoServer

R53 = "{https://route53.amazonaws.com/doc/2013-04-01/}"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


# -- a small IAM evaluator ---------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(value: str, pattern: str) -> bool:
    """IAM's StringLike: ``*`` and ``?`` are the only wildcards."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _conditions_hold(conditions: dict[str, Any], context: dict[str, list[str]]) -> bool:
    for operator, keys in conditions.items():
        for key, patterns in keys.items():
            values = context.get(key, [])
            if operator == "ForAllValues:StringLike":
                ok = all(any(_like(v, p) for p in _list(patterns)) for v in values)
            elif operator == "ForAllValues:StringEquals":
                ok = all(v in _list(patterns) for v in values)
            else:
                raise AssertionError(f"the evaluator does not know {operator}")
            if not ok:
                return False
    return True


def allowed(doc: dict[str, Any], action: str, resource: str, context: dict[str, list[str]]) -> bool:
    """Whether an Allow statement matches (the policy has no Deny and no NotAction)."""
    for statement in doc["Statement"]:
        assert statement["Effect"] == "Allow" and set(statement) <= {
            "Sid",
            "Effect",
            "Action",
            "Resource",
            "Condition",
        }
        if not any(_like(action, a) for a in _list(statement["Action"])):
            continue
        if not any(_like(resource, r) for r in _list(statement["Resource"])):
            continue
        if _conditions_hold(statement.get("Condition", {}), context):
            return True
    return False


# -- what a request asks for -------------------------------------------------------------------


def action_resource_context(request: dict[str, Any]) -> tuple[str, str, dict[str, list[str]]]:
    """The IAM action, resource ARN and condition keys of one logged Route53 request."""
    action = f"route53:{request['operation']}"
    m = re.search(r"/hostedzone/([A-Z0-9]+)", request["path"])
    resource = f"arn:aws:route53:::hostedzone/{m.group(1)}" if m else "*"
    context: dict[str, list[str]] = {}
    if request["operation"] == "ChangeResourceRecordSets":
        changes = ET.fromstring(request["body"]).iter(f"{R53}Change")
        names, types, actions = set(), set(), set()
        for change in changes:
            rrset = change.find(f"{R53}ResourceRecordSet")
            names.add(rrset.findtext(f"{R53}Name").rstrip(".").lower())
            types.add(rrset.findtext(f"{R53}Type"))
            actions.add(change.findtext(f"{R53}Action"))
        context = {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": sorted(names),
            "route53:ChangeResourceRecordSetsRecordTypes": sorted(types),
            "route53:ChangeResourceRecordSetsActions": sorted(actions),
        }
    return action, resource, context


# -- a real plan and apply ---------------------------------------------------------------------


def _shop(web_ips: list[str], extra: bool) -> dict[str, Any]:
    hosts = [sc.host(f"h{i}", ip) for i, ip in enumerate(web_ips)]
    services = [
        sc.service(
            "shop",
            "web",
            [sc.container("shop", "web", i, f"h{i}", ["80:80/tcp"]) for i in range(len(web_ips))],
        ),
        sc.service("shop", "api", [sc.container("shop", "api", 9, "h0", ["8080:8080/tcp"])]),
    ]
    if extra:
        services.append(
            sc.service("shop", "admin", [sc.container("shop", "admin", 8, "h0", ["81:81/tcp"])])
        )
    return {"2016-07-29": sc.tree(services, hosts, "Production")}


def _generate(metadata, zones: Path) -> None:
    run(["octodns-rancher", *generate_args(metadata.url, zones, "--force")], check=True)


def _sync(config: Path, moto: MotoServer, *extra: str) -> list[dict[str, Any]]:
    moto.clear_requests()
    proc = run(["octodns-sync", "--config-file", str(config), *extra], env=moto.env)
    assert proc.returncode == 0, proc.stderr
    return moto.requests()


@pytest.fixture(scope="module", params=["record", "subtree"])
def recorded(moto, tmp_path_factory, request) -> dict[str, Any]:
    """Every Route53 request of: plan, apply (create), and apply of updates and deletions,
    with each ownership model (``init --ownership``): their markers are named differently."""
    from tests.support.metadata_server import MetadataServer

    moto.reset()
    tmp = tmp_path_factory.mktemp("iam")
    zones, config = tmp / "zones", tmp / "octodns.yaml"
    zone_id = moto.create_zone("example.com")
    # Records outside the subtree that a sync must never touch (and the policy must not allow).
    moto.client().change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "www.example.com.",
                        "Type": "A",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": "192.0.2.80"}],
                    },
                }
            ]
        },
    )
    run(
        [
            "octodns-rancher",
            "init",
            "--zone",
            "example.com",
            "--environment",
            "Production",
            "--provider",
            "route53",
            "--zones-dir",
            str(zones),
            "--ownership",
            request.param,
            "-o",
            str(config),
        ],
        check=True,
    )
    phases: dict[str, list[dict[str, Any]]] = {}
    with MetadataServer(_shop(["198.51.100.1", "198.51.100.2"], extra=True)) as metadata:
        _generate(metadata, zones)
        phases["plan"] = _sync(config, moto)
        phases["create"] = _sync(config, moto, "--doit")
        metadata.reload(_shop(["198.51.100.1", "198.51.100.3"], extra=False))
        _generate(metadata, zones)
        # A pull request's plan of updates and deletions, against a zone holding our records.
        phases["plan-changes"] = _sync(config, moto)
        phases["update-delete"] = _sync(config, moto, "--doit")
    printed = {}
    for mode in ("apply", "plan"):
        args = ["--hosted-zone-id", zone_id, "--zone", "example.com", "--environment", "Production"]
        proc = run(["octodns-rancher", "iam-policy", "--mode", mode, *args], check=True)
        printed[mode] = json.loads(proc.stdout)
    return {
        "ownership": request.param,
        "zone_id": zone_id,
        "phases": phases,
        "policy": printed["apply"],
        "plan_policy": printed["plan"],
        "record_sets": moto.record_sets(zone_id),
    }


def test_the_syncs_did_what_they_should(recorded):
    """The recording is of real work: records created, then updated and deleted."""
    phases = recorded["phases"]
    assert all(200 <= r["status"] < 300 for p in phases.values() for r in p)
    change = "ChangeResourceRecordSets"
    assert not any(r["operation"] == change for p in PLANS for r in phases[p])
    plan_changes = " ".join(r["body"] for r in phases["plan-changes"])
    assert plan_changes == "" or "<Action>" not in plan_changes
    bodies = {
        name: " ".join(r["body"] for r in p if r["operation"] == change)
        for name, p in phases.items()
    }
    assert "<Action>CREATE</Action>" in bodies["create"]
    assert "admin.shop.production.example.com." in bodies["create"]
    assert "<Action>DELETE</Action>" in bodies["update-delete"]
    assert "<Action>UPSERT</Action>" in bodies["update-delete"]
    names = {rs["Name"] for rs in recorded["record_sets"]}
    assert "web.shop.production.example.com." in names
    assert "admin.shop.production.example.com." not in names
    assert "www.example.com." in names  # outside the subtree: untouched
    marker = {
        "record": "_owner.a.web.shop.production.example.com.",
        "subtree": "_owner.production.example.com.",
    }[recorded["ownership"]]
    assert marker in names and marker in bodies["create"]


PLANS = ("plan", "plan-changes")  # the phases a pull request's plan job runs


def test_every_call_is_allowed_by_the_policy(recorded):
    doc = recorded["policy"]
    for phase, requests in recorded["phases"].items():
        for request in requests:
            assert request["service"] == "route53", request
            action, resource, context = action_resource_context(request)
            assert allowed(doc, action, resource, context), (phase, action, resource, context)


def test_the_policy_grants_nothing_unused(recorded):
    doc = recorded["policy"]
    calls = [action_resource_context(r) for p in recorded["phases"].values() for r in p]
    used_actions = {a for a, _, _ in calls}
    granted = {a for s in doc["Statement"] for a in _list(s["Action"])}
    assert granted == used_actions
    arn = f"arn:aws:route53:::hostedzone/{normalize_zone_id(recorded['zone_id'])}"
    for statement in doc["Statement"]:
        for action in _list(statement["Action"]):
            resources = {r for a, r, _ in calls if a == action}
            # A "*" resource only where the call names no zone (IAM cannot narrow it then);
            # everything that names our zone is granted on our zone only.
            assert _list(statement["Resource"]) == (["*"] if resources == {"*"} else [arn])
            assert resources <= {"*"} or resources == {arn}


def test_the_policy_denies_what_must_be_denied(recorded):
    doc = recorded["policy"]
    arn = f"arn:aws:route53:::hostedzone/{normalize_zone_id(recorded['zone_id'])}"
    change = "route53:ChangeResourceRecordSets"

    def ctx(names: list[str], types: list[str]) -> dict[str, list[str]]:
        return {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
            "route53:ChangeResourceRecordSetsRecordTypes": types,
        }

    ours = ctx(
        ["web.shop.production.example.com", "_owner.a.web.shop.production.example.com"],
        ["A", "TXT"],
    )
    assert allowed(doc, change, arn, ours)
    assert not allowed(doc, change, "arn:aws:route53:::hostedzone/ZOTHERZONE1", ours)
    assert not allowed(doc, change, arn, ctx(["example.com"], ["NS"]))
    assert not allowed(doc, change, arn, ctx(["www.example.com"], ["A"]))
    assert not allowed(doc, change, arn, ctx(["production.example.com"], ["A"]))
    assert not allowed(doc, change, arn, ctx(["web.shop.staging.example.com"], ["A"]))
    assert not allowed(doc, change, arn, ctx(["web.shop.production.example.com"], ["CNAME"]))
    mixed = ctx(["web.shop.production.example.com", "www.example.com"], ["A"])
    assert not allowed(doc, change, arn, mixed)
    for action in ("route53:CreateHostedZone", "route53:DeleteHostedZone", "route53:GetChange"):
        assert not allowed(doc, action, "*", {}) and not allowed(doc, action, arn, {})


def test_the_plan_policy_covers_every_call_of_a_plan(recorded):
    doc = recorded["plan_policy"]
    calls = [action_resource_context(r) for p in PLANS for r in recorded["phases"][p]]
    assert calls
    for action, resource, context in calls:
        assert allowed(doc, action, resource, context), (action, resource, context)


def test_the_plan_policy_grants_only_what_a_plan_uses(recorded):
    doc = recorded["plan_policy"]
    calls = [action_resource_context(r) for p in PLANS for r in recorded["phases"][p]]
    granted = {a for s in doc["Statement"] for a in _list(s["Action"])}
    assert granted == {a for a, _, _ in calls}
    assert not any(a.split(":", 1)[1].startswith(("Change", "Create", "Delete")) for a in granted)
    arn = f"arn:aws:route53:::hostedzone/{normalize_zone_id(recorded['zone_id'])}"
    for statement in doc["Statement"]:
        for action in _list(statement["Action"]):
            resources = {r for a, r, _ in calls if a == action}
            assert _list(statement["Resource"]) == (["*"] if resources == {"*"} else [arn])


def test_the_plan_policy_denies_every_change_the_applies_made(recorded):
    """Each change request of the real applies, replayed against the plan policy: all denied,
    while the apply policy allows each (the positive control)."""
    changes = [
        action_resource_context(r)
        for p in ("create", "update-delete")
        for r in recorded["phases"][p]
        if r["operation"] == "ChangeResourceRecordSets"
    ]
    assert changes
    for action, resource, context in changes:
        assert allowed(recorded["policy"], action, resource, context)
        assert not allowed(recorded["plan_policy"], action, resource, context)
    for action in ("route53:ChangeResourceRecordSets", "route53:CreateHostedZone"):
        assert not allowed(recorded["plan_policy"], action, "*", {})


def test_the_plan_policy_is_the_apply_policy_without_its_change_statement():
    apply, plan = (
        policy("Z1", "example.com", "Production"),
        policy("Z1", "example.com", "Production", mode="plan"),
    )
    sids = [s["Sid"] for s in apply["Statement"]]
    assert "ChangeOurRecords" in sids
    kept = [s for s in apply["Statement"] if s["Sid"] != "ChangeOurRecords"]
    assert len(plan["Statement"]) == len(kept) == 2
    assert all(
        set(_list(s["Action"])) <= set(_list(k["Action"]))
        for s, k in zip(plan["Statement"], kept, strict=True)
    )


def _trust(mode: str, *extra: str, env: dict[str, str] | None = None):
    return run(["octodns-rancher", "iam-policy", "--trust", "--mode", mode, *extra], env=env or {})


@pytest.mark.parametrize(
    ("mode", "subject", "sid"),
    [
        ("plan", "repo:example-org/dns.zones:pull_request", "GitHubActionsPullRequests"),
        ("apply", "repo:example-org/dns.zones:environment:dns", "GitHubActionsDnsEnvironment"),
    ],
)
def test_trust_policies_admit_only_their_jobs(mode, subject, sid):
    proc = _trust(mode, "--repository", "example-org/dns.zones", "--aws-account-id", "123456789012")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {
                    "Federated": "arn:aws:iam::123456789012:oidc-provider/"
                    "token.actions.githubusercontent.com"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": subject,
                    }
                },
            }
        ],
    }
    assert "*" not in proc.stdout and "StringLike" not in proc.stdout  # no wildcard anywhere


def test_trust_policy_from_the_environment():
    env = {"GITHUB_REPOSITORY": "o/r", "AWS_ACCOUNT_ID": "000000000001", "IAM_POLICY_MODE": "plan"}
    proc = run(["octodns-rancher", "iam-policy"], env={**env, "IAM_POLICY_TRUST": "1"})
    assert proc.returncode == 0, proc.stderr
    assert '"repo:o/r:pull_request"' in proc.stdout
    assert "arn:aws:iam::000000000001:oidc-provider/" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aws-account-id", "123456789012"], "no repository given: pass --repository"),
        (["--repository", "o/r"], "no AWS account given: pass --aws-account-id"),
        (["--repository", "o/*", "--aws-account-id", "123456789012"], "invalid repository 'o/*'"),
        (["--repository", "o", "--aws-account-id", "123456789012"], "invalid repository 'o'"),
        (
            ["--repository", "o/r:environment:dns", "--aws-account-id", "123456789012"],
            "invalid repository 'o/r:environment:dns'",
        ),
        (["--repository", "o/r\n", "--aws-account-id", "123456789012"], "invalid repository"),
        (["--repository=-o/r", "--aws-account-id", "123456789012"], "invalid repository"),
        (["--repository", "o/..", "--aws-account-id", "123456789012"], "invalid repository"),
        (["--repository", "o/r", "--aws-account-id", "1234"], "invalid AWS account id '1234'"),
        (["--repository", "o/r", "--aws-account-id", "123456789012\n"], "invalid AWS account id"),
        (["--repository", "o/r", "--aws-account-id", "12345678901*"], "invalid AWS account id"),
    ],
)
def test_bad_trust_arguments_are_one_line_errors(args, message):
    proc = _trust("plan", *args)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1


def test_an_unknown_mode_from_the_environment_is_refused():
    proc = run(
        ["octodns-rancher", "iam-policy", "--hosted-zone-id", "Z1"],
        env={"IAM_POLICY_MODE": "admin"},
    )
    assert proc.returncode == 2 and "unknown policy mode 'admin'" in proc.stderr


def test_cli_prints_the_policy_for_the_zone_only():
    proc = run(["octodns-rancher", "iam-policy", "--hosted-zone-id", "/hostedzone/Z0123ABC"])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc == policy("Z0123ABC")
    change = [s for s in doc["Statement"] if "route53:ChangeResourceRecordSets" in s["Action"]]
    assert change == [
        {
            "Sid": "ChangeOurRecords",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": "arn:aws:route53:::hostedzone/Z0123ABC",
        }
    ]


def test_zone_id_from_the_environment():
    proc = run(["octodns-rancher", "iam-policy"], env={"HOSTED_ZONE_ID": "Z9"})
    assert proc.returncode == 0, proc.stderr
    assert "arn:aws:route53:::hostedzone/Z9" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no hosted zone given: pass --hosted-zone-id or set HOSTED_ZONE_ID"),
        (["--hosted-zone-id", "Z1/../*"], "invalid hosted zone id 'Z1/../*'"),
        (["--hosted-zone-id", "*"], "invalid hosted zone id '*'"),
        (["--hosted-zone-id", "Z1", "--zone", "example.com"], "give both --zone and --environment"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    proc = run(["octodns-rancher", "iam-policy", *args])
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stdout == ""


def test_zone_ids_are_normalised():
    assert normalize_zone_id("/hostedzone/Z12") == normalize_zone_id("Z12") == "Z12"
    with pytest.raises(ConfigError):
        normalize_zone_id("/change/C12")
