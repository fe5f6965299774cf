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
from tests.support.metadata_server import MetadataServer

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


# -- Moving from Rancher's external DNS: its state record ---------------------------------------

UUID = "a3c1f0de-5b8e-4c1a-9d2e-0f1e2d3c4b5a"
STATE = f"external-dns-{UUID}"


def state(*fqdns: str) -> dict:
    """Rancher's state record as octoDNS reads it back (quotes are the provider's)."""
    return {"type": "TXT", "ttl": 300, "values": list(fqdns)}


def full_plan(proc, desired: dict, existing: dict):
    """The whole planning order of octoDNS: source, source-and-target, plan."""
    from octodns.provider.plan import Plan

    want = proc.process_source_zone(zone(desired), sources=[])
    have = zone(existing)
    want, have = proc.process_source_and_target_zones(want, have, target())
    changes = have.changes(want, target())
    plan = Plan(have, want, changes, True) if changes else None
    return proc.process_plan(plan, sources=[], target=target())


def migrating(**kw) -> RancherOwnership:
    return RancherOwnership("ownership", txt_value=OWNER, txt_ttl=300, rancher_state=STATE, **kw)


RANCHER = {
    STATE: state(
        '"web.shop.production.example.com."',
        "API.shop.production.example.com",  # compared as DNS does: any case, no dot
        "old.shop.production.example.com.",  # a service gone since
    ),
    "web.shop.production": a("192.0.2.1"),
    "api.shop.production": a("192.0.2.2"),
    "old.shop.production": a("192.0.2.3"),
    "manual.shop.production": a("192.0.2.9"),  # made by hand, not listed
}
SERVICES = {"web.shop.production": a("192.0.2.1"), "api.shop.production": a("192.0.2.20")}


def test_records_listed_by_rancher_are_adopted_updated_and_deleted_without_takeover():
    assert summary(full_plan(migrating(), SERVICES, RANCHER)) == {
        ("Create", "_owner.a.web.shop.production", "TXT"),  # adopted as it is
        ("Update", "api.shop.production", "A"),  # adopted and updated
        ("Create", "_owner.a.api.shop.production", "TXT"),
        ("Delete", "old.shop.production", "A"),  # listed, no service: deleted
    }  # manual.shop.production: kept, and the state record stays


def test_unlisted_record_with_a_wanted_name_is_still_a_takeover():
    desired = {**SERVICES, "manual.shop.production": a("192.0.2.30")}
    with pytest.raises(OwnershipException, match=r"take over 1 record\(s\).*manual\.shop"):
        full_plan(migrating(), desired, RANCHER)


def test_another_environments_state_record_grants_nothing():
    existing = {k: v for k, v in RANCHER.items() if k != STATE}
    existing["external-dns-0b1c2d3e-staging"] = RANCHER[STATE]
    with pytest.raises(OwnershipException, match=r"take over 2 record\(s\)"):
        full_plan(migrating(), SERVICES, existing)
    # Nor does a state record without our uuid configured.
    with pytest.raises(OwnershipException, match=r"take over 2 record\(s\)"):
        full_plan(RancherOwnership("o", txt_value=OWNER, txt_ttl=300), SERVICES, RANCHER)


def test_a_listed_record_marked_by_another_owner_is_not_rancher_s_any_more():
    existing = {**RANCHER, "_owner.a.api.shop.production": marker("cluster-b:production")}
    with pytest.raises(OwnershipException, match=r"owned by \['cluster-b:production'\]"):
        full_plan(migrating(), SERVICES, existing)


def test_the_state_record_is_removed_only_on_request_once_the_markers_are_in_place(caplog):
    caplog.set_level("INFO")
    adopted = {
        STATE: RANCHER[STATE],
        "web.shop.production": a("192.0.2.1"),
        "_owner.a.web.shop.production": marker(),
        "api.shop.production": a("192.0.2.20"),
        "_owner.a.api.shop.production": marker(),
    }
    assert full_plan(migrating(), SERVICES, adopted) is None
    assert "keeping Rancher's state record" in caplog.text
    removed = full_plan(migrating(remove_rancher_state="1"), SERVICES, adopted)
    assert summary(removed) == {("Delete", STATE, "TXT")}
    # Asked too early (records not marked yet): adopted now, the state record kept.
    early = full_plan(migrating(remove_rancher_state="true"), SERVICES, RANCHER)
    assert ("Delete", STATE, "TXT") not in summary(early)
    assert "until our markers are in place" in caplog.text


def test_a_zone_file_holding_the_state_record_is_refused():
    with pytest.raises(OwnershipException, match="Rancher's state record"):
        full_plan(migrating(), {**SERVICES, STATE: state("x.example.com.")}, RANCHER)


@pytest.mark.parametrize("bad", ["www", "external-dns-", "external-dns-a b"])
def test_invalid_state_record_names_are_refused(bad):
    with pytest.raises(OwnershipException, match="invalid rancher_state"):
        RancherOwnership("o", txt_value=OWNER, rancher_state=bad)


def subtree_migrating(**kw) -> SubtreeOwnership:
    return SubtreeOwnership(
        "ownership", marker=MARKER, txt_value=OWNER, txt_ttl=300, rancher_state=STATE, **kw
    )


def test_subtree_claim_adopts_rancher_records_and_keeps_the_rest_as_someone_elses():
    plan = full_plan(subtree_migrating(), SERVICES, RANCHER)
    assert summary(plan) == {
        ("Update", "api.shop.production", "A"),
        ("Delete", "old.shop.production", "A"),
        ("Create", MARKER, "TXT"),
    }
    claim = next(c.record for c in plan.changes if c.record.name == MARKER)
    assert sorted(claim.values) == sorted([OWNER, "keep/manual.shop.production/A"])


def test_subtree_keeps_what_its_marker_lists_until_it_is_gone():
    claimed = {
        MARKER: {"type": "TXT", "ttl": 300, "values": [OWNER, "keep/manual.shop.production/A"]},
        "web.shop.production": a("192.0.2.1"),
        "manual.shop.production": a("192.0.2.9"),
    }
    desired = {"web.shop.production": a("192.0.2.1")}
    assert full_plan(subtree(), desired, claimed) is None  # no state record needed any more
    # A service that wants the kept name is a takeover.
    with pytest.raises(OwnershipException, match=r"take over 1 record\(s\) kept as"):
        full_plan(subtree(), {**desired, "manual.shop.production": a("192.0.2.5")}, claimed)
    # Deleted by hand: the marker forgets it.
    gone = {k: v for k, v in claimed.items() if k != "manual.shop.production"}
    plan = full_plan(subtree(), desired, gone)
    assert summary(plan) == {("Update", MARKER, "TXT")}
    assert plan.changes[0].new.values == [OWNER]


def test_subtree_without_state_record_still_refuses_to_change_what_is_there():
    existing = {k: v for k, v in RANCHER.items() if k != STATE}
    with pytest.raises(OwnershipException, match=r"take over 3 record\(s\) of a subtree"):
        full_plan(subtree_migrating(), SERVICES, existing)


def test_subtree_removes_the_state_record_once_the_subtree_is_claimed():
    early = full_plan(subtree_migrating(remove_rancher_state=1), SERVICES, RANCHER)
    assert ("Delete", STATE, "TXT") not in summary(early)
    claimed = {
        STATE: RANCHER[STATE],
        MARKER: {"type": "TXT", "ttl": 300, "values": [OWNER, "keep/manual.shop.production/A"]},
        "web.shop.production": a("192.0.2.1"),
        "api.shop.production": a("192.0.2.20"),
        "manual.shop.production": a("192.0.2.9"),
    }
    assert full_plan(subtree_migrating(), SERVICES, claimed) is None
    removed = full_plan(subtree_migrating(remove_rancher_state=1), SERVICES, claimed)
    assert summary(removed) == {("Delete", STATE, "TXT")}


def test_rendered_config_reads_the_state_record_of_the_given_uuid():
    data = yaml.safe_load(
        render_octodns_config("example.com", "Production", environment_uuid=UUID.upper())
    )
    assert data["processors"]["rancher-subtree"]["allowlist"] == [r"/\.production\Z/", STATE]
    ownership = data["processors"]["ownership"]
    assert ownership["rancher_state"] == STATE
    assert ownership["remove_rancher_state"] == "env/OCTODNS_REMOVE_RANCHER_STATE/0"
    plain = yaml.safe_load(render_octodns_config("example.com", "Production"))
    assert "rancher_state" not in plain["processors"]["ownership"]
    with pytest.raises(ConfigError, match="invalid environment uuid"):
        render_octodns_config("example.com", "Production", environment_uuid="x/y")


@pytest.mark.parametrize("model", [migrating, subtree_migrating])
def test_another_record_at_the_state_name_is_never_touched(model):
    """The filter lets the state record's name through; only the TXT's deletion may pass."""
    existing = {**RANCHER, STATE: a("192.0.2.66")}  # not a state record: an A record
    proc = model(remove_rancher_state=True, allow_takeover=True)
    assert (STATE, "A") not in {(n, t) for _, n, t in summary(full_plan(proc, SERVICES, existing))}
    with pytest.raises(OwnershipException, match="Rancher's state record"):
        full_plan(model(), {**SERVICES, STATE: a("192.0.2.66")}, RANCHER)


def test_init_takes_the_environment_uuid_from_flag_environment_or_metadata(tmp_path):
    tree = {
        "2016-07-29": {
            "self": {"stack": {"environment_name": "Production", "environment_uuid": UUID}},
            "services": [],
            "hosts": [],
        }
    }
    base = ["octodns-rancher", "init", "--zone", "example.com", "--environment", "production"]
    with MetadataServer(tree) as srv:
        for env, args in (
            ({"RANCHER_ENVIRONMENT_UUID": UUID}, []),
            ({}, ["--environment-uuid", UUID.upper()]),
            ({"METADATA_URL": srv.url}, ["--environment-uuid", "metadata"]),
        ):
            proc = run([*base, *args, "-o", "-"], env=env, cwd=tmp_path)
            assert proc.returncode == 0, proc.stderr
            assert yaml.safe_load(proc.stdout)["processors"]["ownership"]["rancher_state"] == STATE
    lost = run([*base, "--environment-uuid", "metadata", "--metadata-file", "nope.json", "-o", "-"])
    assert lost.returncode == 2 and "Traceback" not in lost.stderr
    assert not lost.stdout
