"""processors: the ownership rules on octoDNS's own Zone, Record and Plan objects.

The end-to-end behaviour at PowerDNS and Route53 is in ``tests/e2e/test_ownership.py``; here the
edge cases that are cheaper to state on a plan: what counts as a takeover, what is only kept.
"""

from __future__ import annotations

import pytest
import yaml
from octodns.processor.ownership import OwnershipException
from octodns.provider.yaml import YamlProvider
from octodns.record import Record
from octodns.zone import Zone

from octodns_rancher.config import default_owner_id, render_octodns_config
from octodns_rancher.errors import ConfigError
from octodns_rancher.processors import RancherOwnership, SubtreeOwnership
from tests.conftest import run

OWNER = "octodns-rancher:production"


def zone(records: dict[str, dict]) -> Zone:
    z = Zone("example.com.", [])
    for name, data in records.items():
        z.add_record(Record.new(z, name, data))
    return z


def a(*values: str) -> dict:
    return {"type": "A", "ttl": 300, "values": list(values)}


def marker(value: str = OWNER) -> dict:
    return {"type": "TXT", "ttl": 300, "value": value}


def target() -> YamlProvider:
    """A real octoDNS provider to plan against (it is never applied)."""
    return YamlProvider(
        "target", ".", default_ttl=300, enforce_order=False, escaped_semicolons=False
    )


def plan_for(proc: RancherOwnership, desired: dict, existing: dict):
    from octodns.provider.plan import Plan

    want = proc.process_source_zone(zone(desired), sources=[])
    have = zone(existing)
    changes = have.changes(want, target())
    plan = Plan(have, want, changes, True) if changes else None
    return proc.process_plan(plan, sources=[], target=target())


def summary(plan) -> set[tuple[str, str, str]]:
    return (
        {(type(c).__name__, c.record.name, c.record._type) for c in plan.changes} if plan else set()
    )


def test_records_of_ours_are_created_updated_and_deleted_with_their_markers():
    proc = RancherOwnership("ownership", txt_value=OWNER, txt_ttl=300)
    existing = {
        "web.shop.production": a("192.0.2.1"),
        "_owner.a.web.shop.production": marker(),
        "old.shop.production": a("192.0.2.2"),
        "_owner.a.old.shop.production": marker(),
    }
    desired = {"web.shop.production": a("192.0.2.3"), "api.shop.production": a("192.0.2.4")}
    assert summary(plan_for(proc, desired, existing)) == {
        ("Update", "web.shop.production", "A"),
        ("Delete", "old.shop.production", "A"),
        ("Delete", "_owner.a.old.shop.production", "TXT"),
        ("Create", "api.shop.production", "A"),
        ("Create", "_owner.a.api.shop.production", "TXT"),
    }


def test_unmarked_records_are_kept_and_not_listed_as_takeovers(caplog):
    proc = RancherOwnership("ownership", txt_value=OWNER, txt_ttl=300)
    existing = {"manual.shop.production": a("192.0.2.9")}
    caplog.set_level("INFO")
    plan = plan_for(proc, {"web.shop.production": a("192.0.2.3")}, existing)
    assert ("Delete", "manual.shop.production", "A") not in summary(plan)
    assert "keeping manual.shop.production.example.com. A" in caplog.text


@pytest.mark.parametrize(
    "existing",
    [
        {"web.shop.production": a("192.0.2.99")},  # would be overwritten
        {"web.shop.production": a("192.0.2.3")},  # identical: would be adopted by the marker
    ],
)
def test_unmarked_record_with_a_wanted_name_is_a_takeover(existing):
    desired = {"web.shop.production": a("192.0.2.3")}
    with pytest.raises(OwnershipException, match=r"refusing to take over 1 record\(s\)"):
        plan_for(RancherOwnership("ownership", txt_value=OWNER, txt_ttl=300), desired, existing)
    allowed = RancherOwnership("ownership", txt_value=OWNER, txt_ttl=300, allow_takeover="1")
    assert ("Create", "_owner.a.web.shop.production", "TXT") in summary(
        plan_for(allowed, desired, existing)
    )


def test_marker_of_another_owner_is_refused_naming_it():
    existing = {
        "web.shop.production": a("192.0.2.1"),
        "_owner.a.web.shop.production": marker("cluster-b:production"),
    }
    with pytest.raises(OwnershipException, match=r"owned by \['cluster-b:production'\]"):
        plan_for(
            RancherOwnership("ownership", txt_value=OWNER, txt_ttl=300),
            {"web.shop.production": a("192.0.2.3")},
            existing,
        )


@pytest.mark.parametrize(("raw", "allowed"), [(0, False), (1, True), ("true", True), ("no", False)])
def test_allow_takeover_accepts_octodns_env_values(raw, allowed):
    assert RancherOwnership("ownership", allow_takeover=raw).allow_takeover is allowed


def test_allow_takeover_rejects_other_words():
    with pytest.raises(OwnershipException, match="invalid allow_takeover"):
        RancherOwnership("ownership", allow_takeover="maybe")


def test_rendered_config_carries_the_owner_id_in_processor_order():
    data = yaml.safe_load(render_octodns_config("example.com", "Production"))
    assert data["processors"]["ownership"]["txt_value"] == default_owner_id("Production")
    assert default_owner_id("Production") == OWNER
    assert data["zones"]["example.com."]["processors"][:2] == ["rancher-subtree", "ownership"]
    route53 = data["providers"]["route53"]
    assert route53["class"] == "octodns_rancher.route53.Route53Provider"
    assert (route53["max_changes"], route53["max_value_characters"]) == (1000, 32000)


@pytest.mark.parametrize("bad", ["env/SECRET", "two words", "quote'd", "", "-leading"])
def test_invalid_owner_ids_are_refused(bad):
    with pytest.raises(ConfigError, match="invalid owner id"):
        render_octodns_config("example.com", "prod", owner_id=bad or " ")


def test_init_takes_the_owner_id_from_flag_or_environment(tmp_path):
    for env, args, expected in (
        ({"OWNER_ID": "cluster-a-prod"}, [], "cluster-a-prod"),
        ({"OWNER_ID": "cluster-a-prod"}, ["--owner-id", "cluster-b-prod"], "cluster-b-prod"),
    ):
        proc = run(
            [
                "octodns-rancher",
                "init",
                "--zone",
                "example.com",
                "--environment",
                "prod",
                "-o",
                "-",
                *args,
            ],
            env=env,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        assert yaml.safe_load(proc.stdout)["processors"]["ownership"]["txt_value"] == expected


# -- SubtreeOwnership: one marker for the whole subtree ----------------------------------------

MARKER = "_owner.production"


def subtree(allow_takeover: object = False) -> SubtreeOwnership:
    return SubtreeOwnership(
        "ownership", marker=MARKER, txt_value=OWNER, txt_ttl=300, allow_takeover=allow_takeover
    )


def test_a_fresh_subtree_is_claimed_with_one_marker():
    plan = plan_for(subtree(), {"web.shop.production": a("192.0.2.1")}, {})
    assert summary(plan) == {
        ("Create", "web.shop.production", "A"),
        ("Create", MARKER, "TXT"),
    }
    assert next(c.record for c in plan.changes if c.record.name == MARKER).values == [OWNER]


def test_a_claimed_subtree_is_ours_whole_hand_made_records_included():
    existing = {
        MARKER: marker(),
        "web.shop.production": a("192.0.2.1"),
        "manual.shop.production": a("192.0.2.9"),
    }
    plan = plan_for(subtree(), {"web.shop.production": a("192.0.2.2")}, existing)
    assert summary(plan) == {
        ("Update", "web.shop.production", "A"),
        ("Delete", "manual.shop.production", "A"),
    }


def test_a_subtree_claimed_by_another_owner_is_refused():
    existing = {MARKER: marker("octodns-rancher:staging"), "web.shop.production": a("192.0.2.1")}
    desired = {"web.shop.production": a("192.0.2.1")}
    with pytest.raises(OwnershipException, match=r"claimed by \['octodns-rancher:staging'\]"):
        plan_for(subtree(), desired, existing)
    assert summary(plan_for(subtree(allow_takeover="1"), desired, existing)) == {
        ("Update", MARKER, "TXT")
    }


def test_changing_records_of_an_unclaimed_subtree_is_a_takeover():
    existing = {"web.shop.production": a("192.0.2.1"), "old.shop.production": a("192.0.2.3")}
    desired = {"web.shop.production": a("192.0.2.2"), "api.shop.production": a("192.0.2.4")}
    with pytest.raises(OwnershipException) as refused:
        plan_for(subtree(), desired, existing)
    message = str(refused.value)
    assert "refusing to take over 2 record(s) of a subtree without the owner marker" in message
    assert "web.shop.production.example.com. A" in message
    assert "old.shop.production.example.com. A" in message
    assert summary(plan_for(subtree(allow_takeover=True), desired, existing)) == {
        ("Update", "web.shop.production", "A"),
        ("Delete", "old.shop.production", "A"),
        ("Create", "api.shop.production", "A"),
        ("Create", MARKER, "TXT"),
    }


def test_subtree_ownership_rejects_other_words_for_allow_takeover():
    with pytest.raises(OwnershipException, match="invalid allow_takeover"):
        subtree(allow_takeover="maybe")


def test_rendered_config_chooses_the_ownership_model():
    record = yaml.safe_load(render_octodns_config("example.com", "Production"))["processors"]
    assert record["ownership"]["class"] == "octodns_rancher.processors.RancherOwnership"
    data = yaml.safe_load(render_octodns_config("example.com", "Production", ownership="subtree"))
    ownership = data["processors"]["ownership"]
    assert ownership["class"] == "octodns_rancher.processors.SubtreeOwnership"
    assert (ownership["marker"], ownership["txt_value"]) == (MARKER, OWNER)
    with pytest.raises(ConfigError, match="unknown ownership 'none'"):
        render_octodns_config("example.com", "Production", ownership="none")
