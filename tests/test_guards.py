"""guards: each guard trips with its message and leaves the zone files exactly as they were.

The generator runs for real (``octodns_rancher.cli.main`` in process, or the installed command)
against the real rancher-metadata server, whose data the tests replace between runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from octodns.provider.plan import Plan, TooMuchChange
from octodns.record import Delete

from octodns_rancher.cli import main
from octodns_rancher.errors import ConfigError
from octodns_rancher.guards import (
    DEFAULT_DELETE_PCENT_THRESHOLD,
    MIN_EXISTING_RECORDS,
    Thresholds,
    TooManyRemovalsError,
    guard_removals,
    record_keys,
)
from octodns_rancher.records import DesiredRecord, ServiceRef
from octodns_rancher.render import build_zone, render_octodns
from tests.conftest import generate_args, run
from tests.support import scenario as sc

HOSTS = [sc.host("h1", "203.0.113.1"), sc.host("h2", "203.0.113.2")]


def services(names: list[str]) -> list[dict]:
    return [
        sc.service("shop", n, [sc.container("shop", n, i + 1, "h1", ["80:80/tcp"])])
        for i, n in enumerate(names)
    ]


def serve(metadata, names: list[str], hosts: list[dict] | None = None) -> None:
    hosts = HOSTS if hosts is None else hosts
    metadata.reload({"2016-07-29": sc.tree(services(names), hosts, "Production")})


def generate(metadata, zones: Path, *extra: str) -> int:
    return main(generate_args(metadata.url, zones, *extra))


class Snapshot:
    """Everything about a zones directory a refused run must not change."""

    def __init__(self, zones: Path) -> None:
        self.zones = zones
        self.state = self._take()

    def _take(self) -> dict[str, tuple[bytes, int]]:
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in self.zones.iterdir()}

    def unchanged(self) -> bool:
        return self._take() == self.state


NAMES = [f"svc{i:02d}" for i in range(12)]


@pytest.fixture
def zones(metadata, tmp_path) -> Path:
    """A zones directory holding the records of 12 services."""
    serve(metadata, NAMES)
    zones = tmp_path / "zones"
    assert generate(metadata, zones) == 0
    assert len(record_keys((zones / "example.com.yaml").read_text())) == 12
    return zones


# -- the empty guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "hosts", "what"),
    [([], None, "no services"), (NAMES, [], "no hosts")],
    ids=["no-services", "no-hosts"],
)
def test_empty_metadata_is_refused(metadata, zones, caplog, names, hosts, what):
    before = Snapshot(zones)
    serve(metadata, names, hosts)
    assert generate(metadata, zones) == 2
    assert (
        f"metadata gave {what} but {zones / 'example.com.yaml'} has 12 name(s); refusing to "
        "empty it (pass --allow-empty if this is intended)" in caplog.text
    )
    assert before.unchanged()


def test_force_does_not_lift_the_empty_guard(metadata, zones, caplog):
    before = Snapshot(zones)
    serve(metadata, [])
    assert generate(metadata, zones, "--force") == 2
    assert "metadata gave no services" in caplog.text
    assert before.unchanged()


def test_allow_empty_empties_the_zone(metadata, zones):
    serve(metadata, [])
    assert generate(metadata, zones, "--allow-empty") == 0
    assert record_keys((zones / "example.com.yaml").read_text()) == set()


# -- the removal guard -------------------------------------------------------------------------


def test_removing_more_than_30_percent_is_refused(metadata, zones):
    """Run as the installed command: exit 2, the message on stderr, the file untouched."""
    before = Snapshot(zones)
    serve(metadata, NAMES[4:])  # 4 of 12 = 33 %
    proc = run(["octodns-rancher", *generate_args(metadata.url, zones)])
    assert proc.returncode == 2, proc.stderr
    assert (
        f"{zones / 'example.com.yaml'}: this run would remove 4 of 12 record(s) (33.3 %), "
        "more than the 30 % allowed (delete_pcent_threshold): svc00.shop.production A, "
        "svc01.shop.production A, svc02.shop.production A, svc03.shop.production A; "
        "refusing to write (check rancher-metadata; pass --force if this is intended)"
    ) in proc.stderr
    assert before.unchanged()


def test_removing_up_to_30_percent_is_written(metadata, zones):
    serve(metadata, NAMES[3:])  # 3 of 12 = 25 %
    assert generate(metadata, zones) == 0
    keys = record_keys((zones / "example.com.yaml").read_text())
    assert keys == {(f"{n}.shop.production", "A") for n in NAMES[3:]}


def test_force_writes_and_says_so(metadata, zones, caplog):
    caplog.set_level(logging.WARNING)
    serve(metadata, NAMES[6:])
    assert generate(metadata, zones, "--force") == 0
    assert len(record_keys((zones / "example.com.yaml").read_text())) == 6
    assert "would remove 6 of 12 record(s) (50.0 %)" in caplog.text
    assert "writing anyway because of --force" in caplog.text


def test_force_from_the_environment(metadata, zones, monkeypatch):
    serve(metadata, NAMES[6:])
    monkeypatch.setenv("FORCE_REMOVALS", "1")
    assert generate(metadata, zones) == 0
    assert len(record_keys((zones / "example.com.yaml").read_text())) == 6


def test_invalid_force_variable_is_an_error(metadata, zones, monkeypatch, caplog):
    before = Snapshot(zones)
    monkeypatch.setenv("FORCE_REMOVALS", "perhaps")
    assert generate(metadata, zones) == 2
    assert "invalid FORCE_REMOVALS 'perhaps'" in caplog.text
    assert before.unchanged()


def _config(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "generator.yaml"
    path.write_text(text)
    return ["--config", str(path)]


@pytest.mark.parametrize("where", ["flag", "env", "config"])
def test_max_deletes_from_flag_env_or_config(metadata, zones, tmp_path, monkeypatch, caplog, where):
    before = Snapshot(zones)
    serve(metadata, NAMES[3:])  # 3 removals: under 30 %, over a limit of 2
    extra: list[str] = []
    if where == "flag":
        extra = ["--max-deletes", "2"]
    elif where == "env":
        monkeypatch.setenv("MAX_DELETES", "2")
    else:
        extra = _config(tmp_path, "max_deletes: 2\n")
    assert generate(metadata, zones, *extra) == 2
    assert "would remove 3 of 12 record(s) (25.0 %), more than the 2 allowed (max_deletes)" in (
        caplog.text
    )
    assert before.unchanged()


@pytest.mark.parametrize("where", ["flag", "env", "config"])
def test_delete_pcent_threshold_from_flag_env_or_config(
    metadata, zones, tmp_path, monkeypatch, where
):
    serve(metadata, NAMES[5:])  # 5 of 12 = 42 %: over 30 %, under 50 %
    extra: list[str] = []
    if where == "flag":
        extra = ["--delete-pcent-threshold", "0.5"]
    elif where == "env":
        monkeypatch.setenv("DELETE_PCENT_THRESHOLD", "0.5")
    else:
        extra = _config(tmp_path, "delete_pcent_threshold: 0.5\n")
    assert generate(metadata, zones, *extra) == 0
    assert len(record_keys((zones / "example.com.yaml").read_text())) == 7


def test_flag_wins_over_environment(metadata, zones, monkeypatch, caplog):
    before = Snapshot(zones)
    serve(metadata, NAMES[5:])
    monkeypatch.setenv("DELETE_PCENT_THRESHOLD", "0.5")
    assert generate(metadata, zones, "--delete-pcent-threshold", "0.3") == 2
    assert "more than the 30 % allowed" in caplog.text
    assert before.unchanged()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--delete-pcent-threshold", "30"], "invalid delete_pcent_threshold 30.0"),
        (["--max-deletes", "-1"], "invalid max_deletes -1"),
    ],
)
def test_invalid_thresholds_are_errors(metadata, zones, caplog, args, message):
    before = Snapshot(zones)
    serve(metadata, NAMES[1:])
    assert generate(metadata, zones, *args) == 2
    assert message in caplog.text
    assert before.unchanged()


def test_check_mode_reports_the_guard(metadata, zones, caplog):
    before = Snapshot(zones)
    serve(metadata, NAMES[6:])
    assert generate(metadata, zones, "--check") == 2
    assert "would remove 6 of 12 record(s)" in caplog.text
    assert before.unchanged()


# -- consistency with octoDNS ------------------------------------------------------------------


def _records(n: int) -> list[DesiredRecord]:
    ref = ServiceRef("shop", "svc", "u")
    return [
        DesiredRecord(f"svc{i:03d}.shop.production", "A", 300, (f"192.0.2.{i % 250 + 1}",), ref)
        for i in range(n)
    ]


def _octodns_refuses(existing: list[DesiredRecord], desired: list[DesiredRecord]) -> bool:
    """What ``octodns-sync`` (without --force) decides for the same change."""
    old, new = build_zone(existing, "example.com"), build_zone(desired, "example.com")
    kept = {r.name for r in new.records}
    changes = [Delete(r) for r in old.records if r.name not in kept]
    plan = Plan(old, new, changes, exists=True)
    try:
        plan.raise_if_unsafe()
    except TooMuchChange:
        return True
    return False


def test_defaults_are_octodns_defaults():
    assert DEFAULT_DELETE_PCENT_THRESHOLD == Plan.MAX_SAFE_DELETE_PCENT == 0.3
    assert MIN_EXISTING_RECORDS == Plan.MIN_EXISTING_RECORDS


@pytest.mark.parametrize("existing", [1, 5, 9, 10, 11, 13, 20, 33, 47])
def test_percentage_rule_agrees_with_octodns(existing):
    """For every number of removals, our guard refuses exactly when octoDNS would."""
    records = _records(existing)
    old = render_octodns(records, "example.com")
    for removed in range(existing + 1):
        new = render_octodns(records[removed:], "example.com")
        try:
            guard_removals(old, new, Path("z.yaml"), False, Thresholds(max_deletes=0))
            ours = False
        except TooManyRemovalsError:
            ours = True
        assert ours == _octodns_refuses(records, records[removed:]), (existing, removed)


def test_records_are_counted_per_name_and_type():
    ref = ServiceRef("shop", "web", "u")
    both = [
        DesiredRecord("web.shop.production", "A", 300, ("192.0.2.1",), ref),
        DesiredRecord("web.shop.production", "AAAA", 300, ("2001:db8::1",), ref),
    ]
    assert record_keys(render_octodns(both, "example.com")) == {
        ("web.shop.production", "A"),
        ("web.shop.production", "AAAA"),
    }


@pytest.mark.parametrize(
    "kwargs",
    [{"delete_pcent_threshold": -0.1}, {"delete_pcent_threshold": 1.5}, {"max_deletes": -3}],
)
def test_thresholds_reject_nonsense(kwargs):
    with pytest.raises(ConfigError):
        Thresholds(**kwargs)


# -- label abuse -------------------------------------------------------------------------------

TPL = "io.rancher.service.external_dns_name_template"


def _names(zones: Path) -> set[str]:
    return {name for name, _ in record_keys((zones / "example.com.yaml").read_text())}


def _serve_services(metadata, svcs: list[dict]) -> None:
    metadata.reload({"2016-07-29": sc.tree(svcs, HOSTS, "Production")})


def _svc(stack: str, name: str, template: str | None = None, index: int = 1) -> dict:
    labels = {TPL: template} if template is not None else None
    return sc.service(
        stack, name, [sc.container(stack, name, index, "h1", ["80:80/tcp"])], labels=labels
    )


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("%{{service_name}}.evil.org.", "lies outside production.example.com"),
        ("www", "lies outside production.example.com"),
        ("%{{service_name}}.%{{stack_name}}.staging", "lies outside production.example.com"),
        ("%{{service_name}}.%{{environment_name}}.example.com", "lies outside"),
        ("%{{environment_name}}", "lies outside production.example.com"),
        ("*.%{{environment_name}}", "label '*' is not a valid DNS label"),
        ("*", "label '*' is not a valid DNS label"),
        ("a..b.%{{environment_name}}", "label '' is not a valid DNS label"),
    ],
)
def test_a_label_cannot_leave_the_subtree_or_make_a_wildcard(
    metadata, tmp_path, caplog, template, why
):
    _serve_services(metadata, [_svc("shop", "web"), _svc("shop", "evil", template, 2)])
    zones = tmp_path / "zones"
    assert generate(metadata, zones) == 0
    assert _names(zones) == {"web.shop.production"}
    assert "service shop/evil: name " in caplog.text
    assert why in caplog.text


@pytest.mark.parametrize("attacker_stack", ["aaa", "zzz"])
def test_a_label_cannot_take_another_services_name(metadata, tmp_path, caplog, attacker_stack):
    """Whether the attacker's stack sorts before or after, the service whose own name it is
    keeps it; the attacker gets no record and a warning."""
    zones = tmp_path / "zones"
    _serve_services(
        metadata,
        [_svc("shop", "web"), _svc(attacker_stack, "evil", "web.shop.%{{environment_name}}", 2)],
    )
    assert generate(metadata, zones) == 0
    text = (zones / "example.com.yaml").read_text()
    assert _names(zones) == {"web.shop.production"}
    assert "stack: shop" in text and f"stack: {attacker_stack}" not in text
    assert (
        f"service {attacker_stack}/evil: name web.shop.production.example.com is already taken "
        "by service shop/web; no record"
    ) in caplog.text


def test_two_default_names_that_collide_first_by_stack_and_service(metadata, tmp_path, caplog):
    """ "Shop" and "shop" both sanitise to "shop": the first by (stack, service) keeps the name."""
    zones = tmp_path / "zones"
    _serve_services(metadata, [_svc("shop", "web", index=1), _svc("Shop", "web", index=2)])
    assert generate(metadata, zones) == 0
    assert "stack: Shop" in (zones / "example.com.yaml").read_text()
    assert (
        "service shop/web: name web.shop.production.example.com is already taken by service "
        "Shop/web; no record"
    ) in caplog.text


def test_a_scoped_ipv6_address_is_never_written(metadata, tmp_path, caplog):
    zones = tmp_path / "zones"
    metadata.reload(
        {
            "2016-07-29": sc.tree(
                [_svc("shop", "web")], [sc.host("h1", "fe80::1%eth0")], "Production"
            )
        }
    )
    assert generate(metadata, zones) == 0
    assert record_keys((zones / "example.com.yaml").read_text()) == set()
    assert "has scoped IP 'fe80::1%eth0'; skipped" in caplog.text


def test_names_from_an_old_file_are_escaped_in_the_error():
    """An old file may hold any name (an earlier version wrote "x\\n" labels): the one ERROR
    line stays one line."""
    old = {f"x{i}\nERROR forged": {"type": "A", "value": f"192.0.2.{i}"} for i in range(12)}
    with pytest.raises(TooManyRemovalsError) as e:
        guard_removals(yaml.safe_dump(old), "--- {}\n", Path("z.yaml"), False, Thresholds())
    assert "\n" not in str(e.value) and "x0\\nERROR forged A" in str(e.value)
