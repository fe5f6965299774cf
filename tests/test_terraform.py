"""terraform: the desired records as aws_route53_record resources in Terraform's JSON syntax.

No Terraform binary runs here (it cannot be installed from the registries this project uses,
and ``terraform validate`` needs the AWS provider from the Terraform registry), so the files
are checked by structure against Terraform's JSON syntax rules.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octodns_rancher import model
from octodns_rancher.errors import RancherDnsError
from octodns_rancher.pipeline import Options, compute
from octodns_rancher.publish import summarize, zone_entries
from octodns_rancher.records import DesiredRecord, ServiceRef, Settings, desired_records, subtree
from octodns_rancher.render import UnsafeRecordError, render_octodns
from octodns_rancher.source import Snapshot, load_snapshot
from octodns_rancher.terraform import (
    RESOURCE_TYPE,
    OutsideSubtreeError,
    as_octodns_text,
    is_identifier,
    render_terraform,
    resource_name,
    variable_name,
)
from tests.conftest import ROOT, run
from tests.support import scenario as sc

SNAPSHOT = ROOT / "config" / "metadata-snapshot.json"
# Terraform's identifier rule, written out independently of the module under test.
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
VAR_REF = re.compile(r"^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$")
HOSTS = [sc.host(f"h{i}", f"203.0.113.{i}") for i in range(1, 7)]
P80 = ["0.0.0.0:80:80/tcp"]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    assert not dupes, f"duplicate keys {dupes}"
    return dict(pairs)


def parse(text: str) -> dict[str, Any]:
    """JSON that fails on a repeated key, as Terraform's JSON parser does."""
    return json.loads(text, object_pairs_hook=_no_duplicates)


def check_structure(text: str, zone: str, subtree: str) -> dict[str, dict[str, Any]]:
    """Assert the Terraform JSON syntax structure; return address → resource body."""
    assert text.endswith("}\n") and not text.endswith("\n\n")
    data = parse(text)
    assert set(data) <= {"//", "variable", "resource"}
    assert isinstance(data["//"], str)
    variables = data["variable"]
    assert len(variables) == 1
    (var, spec), *_ = variables.items()
    assert IDENT.match(var)
    assert spec["type"] == "string" and zone in spec["description"]
    resources = data.get("resource", {})
    assert set(resources) <= {RESOURCE_TYPE}
    out = {}
    for name, body in resources.get(RESOURCE_TYPE, {}).items():
        assert IDENT.match(name), name
        assert set(body) <= {"//", "zone_id", "name", "type", "ttl", "records"}, body
        assert set(body) >= {"zone_id", "name", "type", "ttl", "records"}, body
        assert VAR_REF.match(body["zone_id"]).group(1) == var
        assert body["name"].endswith("." + subtree), body["name"]
        assert isinstance(body["ttl"], int) and body["ttl"] > 0
        assert body["records"] and all(isinstance(v, str) for v in body["records"])
        out[f"{RESOURCE_TYPE}.{name}"] = body
    # One resource per (name, type): no two addresses for the same record set.
    pairs = [(b["name"], b["type"]) for b in out.values()]
    assert len(pairs) == len(set(pairs))
    return out


def records_of(snap: Snapshot) -> tuple[list[DesiredRecord], str]:
    env = model.build(snap)
    return desired_records(env, Settings(zone="example.com")), env.name


def render(snap: Snapshot) -> str:
    records, env = records_of(snap)
    return render_terraform(records, "example.com", subtrees=(subtree(env, "example.com"),))


def scenario(ips: dict[str, list[int]], renames: dict[str, str] | None = None) -> Snapshot:
    """Services of stack ``shop``, each on the hosts numbered in ``ips``."""
    renames = renames or {}
    services = []
    for name, hosts in ips.items():
        name = renames.get(name, name)
        containers = [sc.container("shop", name, i, f"h{h}", P80) for i, h in enumerate(hosts, 1)]
        services.append(sc.service("shop", name, containers))
    return Snapshot("2016-07-29", services, HOSTS, sc.self_stack("Production"))


SERVICES = {"web": [1, 2], "api": [3], "db": [4, 5], "cache": [6]}


def test_bundled_snapshot_is_valid_terraform_json_with_the_same_records():
    records, env = records_of(load_snapshot(SNAPSHOT))
    text = render_terraform(records, "example.com", subtrees=(subtree(env, "example.com"),))
    resources = check_structure(text, "example.com", "production.example.com")
    assert len(resources) == len(records) == 6
    got = {(b["name"], b["type"], b["ttl"], tuple(b["records"])) for b in resources.values()}
    want = {(r.fqdn("example.com"), r.type, r.ttl, r.values) for r in records}
    assert got == want
    web = resources["aws_route53_record.web_shop_production_example_com_A"]
    assert web["zone_id"] == "${var.zone_id_example_com}"
    assert "Rancher service shop/web" in web["//"]


def test_the_same_desired_state_as_the_octodns_file():
    records, env = records_of(load_snapshot(SNAPSHOT))
    tf = render_terraform(records, "example.com", subtrees=(subtree(env, "example.com"),))
    octodns = render_octodns(records, "example.com")
    assert zone_entries(as_octodns_text(tf, "example.com")) == zone_entries(octodns)
    assert summarize(as_octodns_text(tf, "example.com"), octodns).empty


def test_same_input_byte_identical_even_with_shuffled_metadata():
    base = scenario(SERVICES)
    first = render(base)
    assert render(base) == first
    rng = random.Random(8)
    for _ in range(5):
        services = [
            dict(s, containers=rng.sample(s["containers"], len(s["containers"])))
            for s in base.services
        ]
        shuffled = Snapshot(
            "2016-07-29",
            rng.sample(services, len(services)),
            rng.sample(base.hosts, len(base.hosts)),
            base.self_stack,
        )
        assert render(shuffled) == first


def test_a_change_of_one_services_ips_changes_one_resource_in_place():
    before = check_structure(render(scenario(SERVICES)), "example.com", "production.example.com")
    after = check_structure(
        render(scenario(dict(SERVICES, api=[3, 6]))),
        "example.com",
        "production.example.com",
    )
    assert set(before) == set(after)  # same addresses: an update, no destroy/create
    differ = sorted(a for a in before if before[a] != after[a])
    assert differ == ["aws_route53_record.api_shop_production_example_com_A"]
    assert after[differ[0]]["records"] == ["203.0.113.3", "203.0.113.6"]


def test_only_a_rename_changes_the_address():
    before = check_structure(render(scenario(SERVICES)), "example.com", "production.example.com")
    after = check_structure(
        render(scenario(SERVICES, renames={"db": "postgres"})),
        "example.com",
        "production.example.com",
    )
    assert set(before) - set(after) == {"aws_route53_record.db_shop_production_example_com_A"}
    assert set(after) - set(before) == {"aws_route53_record.postgres_shop_production_example_com_A"}
    for address in set(before) & set(after):
        assert before[address] == after[address]


def test_ipv6_gets_its_own_resource():
    hosts = [*HOSTS, sc.host("v6", "2001:db8::6")]
    containers = [
        sc.container("shop", "web", 1, "h1", P80),
        sc.container("shop", "web", 2, "v6", P80),
    ]
    snap = Snapshot(
        "2016-07-29", [sc.service("shop", "web", containers)], hosts, sc.self_stack("Production")
    )
    resources = check_structure(render(snap), "example.com", "production.example.com")
    assert sorted(resources) == [
        "aws_route53_record.web_shop_production_example_com_A",
        "aws_route53_record.web_shop_production_example_com_AAAA",
    ]
    assert resources["aws_route53_record.web_shop_production_example_com_AAAA"]["records"] == [
        "2001:db8::6"
    ]


def test_no_records_leaves_the_variable_and_no_resources():
    text = render_terraform([], "example.com", subtrees=("production.example.com",))
    assert parse(text).keys() == {"//", "variable"}
    check_structure(text, "example.com", "production.example.com")


def _record(name: str, rtype: str = "A", values: tuple[str, ...] = ("192.0.2.1",)) -> DesiredRecord:
    return DesiredRecord(name, rtype, 300, values, ServiceRef("shop", "web", "u-1"))


@pytest.mark.parametrize(
    "name",
    ["web.shop.staging", "production", "web.shop.production.other", "web.shop.production-x"],
)
def test_names_outside_the_subtree_are_refused(name):
    with pytest.raises(OutsideSubtreeError) as e:
        render_terraform(
            [_record("ok.shop.production"), _record(name)],
            "example.com",
            subtrees=("production.example.com",),
        )
    assert f"{name}.example.com" in str(e.value) and "production.example.com" in str(e.value)


def test_invalid_record_is_refused_naming_it():
    with pytest.raises(RancherDnsError, match=r"web\.shop\.production\.example\.com"):
        render_terraform(
            [_record("web.shop.production", values=("999.1.1.1",))],
            "example.com",
            subtrees=("production.example.com",),
        )


@pytest.mark.parametrize(
    ("fqdn", "rtype", "want"),
    [
        ("web.shop.production.example.com", "A", "web_shop_production_example_com_A"),
        ("my-app.shop.production.example.com", "AAAA", "my-app_shop_production_example_com_AAAA"),
        ("1web.shop.production.example.com", "A", "_1web_shop_production_example_com_A"),
    ],
)
def test_plain_resource_names(fqdn, rtype, want):
    assert resource_name(fqdn, rtype) == want


def test_names_outside_the_plain_alphabet_get_a_hash():
    # "a_b.x" would read as "a.b.x" without escaping; the hash keeps them apart.
    plain, odd = resource_name("a.b.example.com", "A"), resource_name("a_b.example.com", "A")
    assert plain == "a_b_example_com_A"
    assert odd != plain and "__" in odd and IDENT.match(odd)
    assert resource_name("*.example.com", "A") != resource_name("-.example.com", "A")
    assert resource_name("Web.example.com", "A") != resource_name("web.example.com", "A")


def test_variable_name():
    assert variable_name("example.com.") == "zone_id_example_com"
    assert variable_name("Sub.Example-1.org") == "zone_id_sub_example-1_org"


def test_a_final_newline_never_passes_for_plain():
    """The checks match whole strings: "$" alone would match before a final newline."""
    name = resource_name("web\n.example.com", "A")
    assert is_identifier(name) and "\n" not in name and "__" in name
    assert not is_identifier("web\n")
    with pytest.raises(RancherDnsError, match="does not make a Terraform variable name"):
        variable_name("example.com\n")
    with pytest.raises(RancherDnsError, match="not a DNS record type"):
        resource_name("web.example.com", "A\n")


LABEL = st.text("abcz019-_*AZ", min_size=1, max_size=6)
FQDN = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
TYPE = st.sampled_from(["A", "AAAA", "CNAME", "TXT", "A6"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(FQDN, TYPE), min_size=2, max_size=8, unique=True))
def test_resource_names_are_valid_and_collision_free(keys):
    names = [resource_name(fqdn, rtype) for fqdn, rtype in keys]
    assert all(IDENT.match(n) and is_identifier(n) for n in names)
    assert len(set(names)) == len(names), keys


@settings(max_examples=100, deadline=None)
@given(FQDN, TYPE)
def test_resource_names_depend_on_name_and_type_only(fqdn, rtype):
    assert resource_name(fqdn, rtype) == resource_name(fqdn, rtype)
    assert resource_name(fqdn + ".", rtype) == resource_name(fqdn, rtype)


# --- the CLI, run for real ------------------------------------------------------------------


def generate(
    tmp_path: Path, *extra: str, env: dict[str, str] | None = None, snapshot: Path = SNAPSHOT
):
    return run(
        [
            "octodns-rancher",
            "generate",
            "--metadata-file",
            str(snapshot),
            "--zone",
            "example.com",
            "--zones-dir",
            str(tmp_path / "zones"),
            *extra,
        ],
        env=env,
    )


def test_format_all_writes_both_files_and_check_covers_both(tmp_path):
    yaml_path = tmp_path / "zones" / "example.com.yaml"
    tf_path = tmp_path / "zones" / "example.com.tf.json"
    proc = generate(tmp_path, "--format", "all", "--check")
    assert proc.returncode == 1 and not (tmp_path / "zones").exists()
    proc = generate(tmp_path, "--format", "all")
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {yaml_path}" in proc.stderr and f"wrote {tf_path}" in proc.stderr
    check_structure(tf_path.read_text(), "example.com", "production.example.com")
    assert zone_entries(as_octodns_text(tf_path.read_text(), "example.com")) == zone_entries(
        yaml_path.read_text()
    )
    assert generate(tmp_path, "--format", "all", "--check").returncode == 0

    # A stale Terraform file alone makes --check fail, and names that file only.
    tf_path.write_text(tf_path.read_text().replace("203.0.113.11", "203.0.113.99"))
    proc = generate(tmp_path, "--format", "all", "--check")
    assert proc.returncode == 1
    assert (
        f"{tf_path} is out of date" in proc.stderr
        and f"{yaml_path} is out of date" not in proc.stderr
    )
    # The default format looks at the octoDNS file only.
    assert generate(tmp_path, "--check").returncode == 0


def test_format_terraform_from_the_environment_writes_only_the_tf_file(tmp_path):
    proc = generate(tmp_path, env={"OUTPUT_FORMAT": "terraform"})
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "zones").iterdir()) == ["example.com.tf.json"]
    assert "6 added, 0 changed, 0 removed" in proc.stderr
    tf_path = tmp_path / "zones" / "example.com.tf.json"
    before = tf_path.stat().st_mtime_ns
    proc = generate(tmp_path, "--format", "terraform")
    assert proc.returncode == 0 and "0 added, 0 changed, 0 removed" in proc.stderr
    assert "unchanged; not written" in proc.stderr and tf_path.stat().st_mtime_ns == before


def test_bad_format_is_an_error(tmp_path):
    proc = generate(tmp_path, env={"OUTPUT_FORMAT": "pulumi"})
    assert proc.returncode == 2 and "invalid output format pulumi" in proc.stderr
    assert not (tmp_path / "zones").exists()


def test_nothing_is_written_when_one_format_fails(tmp_path):
    """The Terraform file's guard trips; the octoDNS file must not be written either."""
    assert generate(tmp_path, "--format", "terraform").returncode == 0
    tf_path = tmp_path / "zones" / "example.com.tf.json"
    tf_before = tf_path.read_text()
    empty = json.loads(SNAPSHOT.read_text())
    empty["services"] = []
    snap = tmp_path / "empty.json"
    snap.write_text(json.dumps(empty))
    proc = generate(tmp_path, "--format", "all", snapshot=snap)
    assert proc.returncode == 2
    assert f"{tf_path} has 6 name(s); refusing to empty it" in proc.stderr
    assert tf_path.read_text() == tf_before
    assert not (tmp_path / "zones" / "example.com.yaml").exists()


def test_result_keeps_the_octodns_file_and_lists_every_file(tmp_path):
    opts = Options(zone="example.com", zones_dir=tmp_path, metadata_file=SNAPSHOT, formats=("all",))
    result = compute(opts)
    assert result.path == tmp_path / "example.com.yaml"
    assert result.files[result.path] == result.text
    assert sorted(p.name for p in result.files) == ["example.com.tf.json", "example.com.yaml"]
    assert result.changed_files == list(result.files)


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("x\n.shop.production", ("192.0.2.1",)),
        ("xn--abc.shop.production", ("192.0.2.1",)),
        ("web.shop.production", ("127.0.0.1",)),
    ],
)
def test_invalid_names_and_refused_addresses_are_refused(name, values):
    with pytest.raises(UnsafeRecordError, match="refusing to write it"):
        render_terraform(
            [_record(name, values=values)], "example.com", subtrees=("production.example.com",)
        )
