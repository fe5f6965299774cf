"""Properties over arbitrary metadata: whatever rancher-metadata says, the zone file is safe.

Hypothesis builds environments from awkward parts (unicode and empty-ish names, every kind of
label including hostile name templates, valid and invalid IPs, odd port specs, all container
states) and checks, for each:

- octoDNS accepts the file: ``YamlProvider`` (with order enforcement) loads it back;
- every name lies strictly inside ``<environment>.<zone>``: octoDNS's own
  ``NameAllowlistFilter`` from the generated config keeps every record; no wildcard;
- no invalid IP is ever written: each value is valid rdata of its type for dnspython;
- the output is deterministic: the same metadata in another order gives identical bytes;
- a name-template label never takes a name another service's default name gives it;
- through the real CLI, with names, labels, templates and zones from all of Unicode: exit 0 with
  valid names below ``<environment>.<zone>``, or exit 2 with the files unchanged; never a
  traceback or a forged log line.

Runs are derandomised (the same examples every time, so CI is reproducible); set
``HYPOTHESIS_RANDOM=1`` to explore new ones and ``HYPOTHESIS_EXAMPLES`` to change the count.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import dns.rdata
import idna
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from octodns.processor.filter import NameAllowlistFilter
from octodns.provider.yaml import YamlProvider
from octodns.zone import Zone

from octodns_rancher import model
from octodns_rancher.cli import main
from octodns_rancher.config import allowlist_pattern
from octodns_rancher.errors import ConfigError
from octodns_rancher.records import (
    LABEL_HOST_ENABLED,
    LABEL_HOST_IP,
    LABEL_MODE,
    LABEL_TEMPLATE,
    Settings,
    desired_records,
    environment_label,
)
from octodns_rancher.render import render_octodns
from octodns_rancher.source import Snapshot
from tests.support import scenario as sc

ZONE = "example.com"

PROPERTY = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    derandomize=not os.environ.get("HYPOTHESIS_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# -- strategies --------------------------------------------------------------------------------


# Most draws are ordinary so that most examples publish records; the rest are hostile.
def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` about five times in six, ``odd`` otherwise."""
    return st.sampled_from(range(6)).flatmap(lambda i: odd if i == 0 else usual)


def weighted(usual: list[Any], odd: list[Any]) -> st.SearchStrategy[Any]:
    """One draw: a ``usual`` value about six times in seven, an ``odd`` one otherwise."""
    return st.sampled_from(usual * max(1, 6 * len(odd) // len(usual)) + odd)


# Names as Rancher users type them: mostly plain, sometimes unicode, symbols, very long.
plain = st.sampled_from(["web", "api", "db", "Web_1", "shop", "a-b", "cache", "Shop", "www"])
odd_names = st.one_of(
    st.sampled_from(["x" * 70, "café", "ü", "a.b", "-", "*", "_", " web ", "WEB", "a--b"]),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8
    ),
)
names = mostly(plain, odd_names).filter(lambda s: s.strip() != "")

BAD_IPS = [
    "",
    "0.0.0.0",
    "::",
    "999.1.1.1",
    "1.2.3",
    "010.1.1.1",
    "not-an-ip",
    "fe80::1%eth0",
    "%!s(<nil>)",
    "1.2.3.4/24",
    "::ffff:999.1.1.1",
    " 192.0.2.1",
]
ips = mostly(
    st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str)),
    st.one_of(
        st.sampled_from(BAD_IPS),
        st.ip_addresses(v=6).map(lambda ip: f"{ip}%eth0"),  # scoped: not an AAAA value
        st.text(max_size=5),
    ),
)

TEMPLATES = [
    "%{{service_name}}.%{{stack_name}}.%{{environment_name}}",
    "%{{service_name}}.evil.org.",
    "%{{service_name}}.%{{environment_name}}.example.com",
    "*.%{{environment_name}}",
    "*",
    "www",
    "%{{environment_name}}",
    "a..b.%{{environment_name}}",
    "%{{service_name}}.%{{stack_name}}.other-env",
    "%{{ service_name }}-x.%{{environment_name}}",
    "%{{nope}}.%{{environment_name}}",
    "web.shop.%{{environment_name}}",
    "api.shop.%{{environment_name}}",
    "..",
    "",
]
templates = st.one_of(st.sampled_from(TEMPLATES), st.text(max_size=12))

port_specs = st.builds(
    lambda ip, pub, form: form.format(ip=ip, pub=pub),
    ips,
    st.integers(0, 70000),
    mostly(
        st.sampled_from(["{pub}:80/tcp", "{ip}:{pub}:80/tcp", "[{ip}]:{pub}:80/udp"]),
        st.sampled_from(["{ip}", "", "{pub}", "{ip}:{pub}:80/", ":::"]),
    ),
)
no_labels = st.just({})
service_labels = mostly(
    no_labels,
    st.fixed_dictionaries(
        {},
        optional={
            LABEL_MODE: st.sampled_from(["auto", "always", "never", "Always", "bogus", ""]),
            LABEL_TEMPLATE: templates,
        },
    ),
)
host_labels = mostly(
    no_labels,
    st.fixed_dictionaries(
        {},
        optional={
            LABEL_HOST_IP: ips,
            LABEL_HOST_ENABLED: st.sampled_from(["true", "false", "FALSE", ""]),
        },
    ),
)
states = weighted(["running"], ["stopped", "starting", "", "Running"])
healths = weighted(["healthy", None], ["unhealthy", "", "updating-healthy", "initializing"])
kinds = weighted(["service"], ["loadBalancerService", "externalService", ""])


@st.composite
def environments(draw: Any) -> dict[str, Any]:
    host_names = draw(st.lists(names, min_size=1, max_size=2, unique=True))
    hosts = [sc.host(h, draw(ips), draw(host_labels)) for h in host_names]
    on_host = mostly(st.sampled_from(host_names), st.one_of(st.none(), names))
    keys = draw(st.lists(st.tuples(names, names), min_size=1, max_size=4, unique=True))
    services = []
    for i, (stack, name) in enumerate(keys):
        containers = [
            sc.container(
                stack,
                name,
                10 * i + j,
                draw(on_host),
                draw(mostly(st.lists(port_specs, min_size=1, max_size=2), st.none())),
                draw(states),
                draw(healths),
            )
            for j in range(draw(st.integers(1, 2)))
        ]
        services.append(sc.service(stack, name, containers, draw(kinds), draw(service_labels)))
    environment = draw(mostly(st.sampled_from(["Production", "Staging 2", "prod_EU"]), names))
    return {"services": services, "hosts": hosts, "environment": environment}


def snapshot(env: dict[str, Any]) -> Snapshot:
    return Snapshot(
        api_version="2016-07-29",
        services=env["services"],
        hosts=env["hosts"],
        self_stack=sc.self_stack(env["environment"]),
    )


def generate(env: dict[str, Any]) -> tuple[str, str] | None:
    """(environment label, zone file text), or None for an environment name with no label."""
    try:
        label = environment_label(env["environment"])
    except ConfigError as e:
        assert repr(env["environment"]) in str(e)  # the error names the object
        return None
    built = model.build(snapshot(env))
    return label, render_octodns(desired_records(built, Settings(zone=ZONE)), ZONE)


def load(text: str, name: str = ZONE) -> Zone:
    """Load a zone file back the way octodns-sync does."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, f"{name}.yaml"), "w", encoding="utf-8") as fh:
            fh.write(text)
        zone = Zone(f"{name}.", [])
        YamlProvider(
            "rancher", tmp, enforce_order=True, escaped_semicolons=False, default_ttl=300
        ).populate(zone)
    return zone


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Hostile input logs many warnings by design; keep them out of the report."""
    caplog.set_level(logging.CRITICAL, logger="octodns_rancher")


# -- properties --------------------------------------------------------------------------------


@PROPERTY
@given(environments())
def test_output_is_valid_octodns_inside_the_subtree_with_valid_ips(env):
    """Three properties checked on every example (they share the expensive part, the load)."""
    out = generate(env)
    if out is None:
        return
    label, text = out
    zone = load(text)

    # 1. octoDNS accepts the file and reads back exactly the records we meant.
    built = model.build(snapshot(env))
    wanted = {
        (r.name, r.type, r.ttl, tuple(sorted(r.values)))
        for r in desired_records(built, Settings(zone=ZONE))
    }
    loaded = {
        (r.name, r._type, r.ttl, tuple(sorted(str(v) for v in r.values))) for r in zone.records
    }
    assert loaded == wanted

    # 2. Every name lies strictly inside <environment>.<zone>: the config's own filter keeps all.
    allow = NameAllowlistFilter("rancher-subtree", [allowlist_pattern(label)])
    kept = allow.process_source_zone(zone.copy(), sources=[])
    assert {r.name for r in kept.records} == {r.name for r in zone.records}
    for record in zone.records:
        assert record.fqdn.endswith(f".{label}.{ZONE}.")
        assert "*" not in record.name

    # 3. No invalid IP: each value is valid rdata of its type, and came from the metadata.
    given_strings = _all_strings(env)
    for record in zone.records:
        assert record._type in ("A", "AAAA")
        for value in record.values:
            dns.rdata.from_text("IN", record._type, str(value))  # raises if invalid
            ip = ipaddress.ip_address(str(value))
            assert not ip.is_unspecified
            assert ip.version == (4 if record._type == "A" else 6)
            assert any(str(value) in s for s in given_strings)  # never made up


@PROPERTY
@given(environments(), st.randoms(use_true_random=False))
def test_same_metadata_in_any_order_gives_the_same_bytes(env, rnd):
    first = generate(env)
    shuffled = {
        "environment": env["environment"],
        "hosts": rnd.sample(env["hosts"], len(env["hosts"])),
        "services": [
            {
                **_shuffled_dict(s, rnd),
                "containers": rnd.sample(s["containers"], len(s["containers"])),
                "labels": _shuffled_dict(s["labels"], rnd),
            }
            for s in rnd.sample(env["services"], len(env["services"]))
        ],
    }
    assert generate(shuffled) == first


@PROPERTY
@given(environments())
def test_a_label_never_takes_another_services_default_name(env):
    """The owner of each name is the first claimant: default names before labels, then by
    (stack, service); a service claiming a name only through its label never wins over one
    whose default name it is."""
    if generate(env) is None:
        return
    built = model.build(snapshot(env))
    settings_ = Settings(zone=ZONE)
    owners = {(r.name, r.type): r.service for r in desired_records(built, settings_)}
    claims: dict[tuple[str, str], list[tuple[bool, str, str, str]]] = {}
    for service in built.services:
        alone = model.Environment(built.name, built.uuid, built.hosts, (service,))
        for r in desired_records(alone, settings_):
            labelled = bool(service.labels.get(LABEL_TEMPLATE))
            claims.setdefault((r.name, r.type), []).append(
                (labelled, service.stack_name, service.name, service.uuid)
            )
    assert set(owners) == set(claims)
    for key, claimants in claims.items():
        _, stack, name, uuid = min(claimants)
        assert (owners[key].stack, owners[key].service, owners[key].uuid) == (stack, name, uuid)


def _shuffled_dict(d: dict[str, Any], rnd: Any) -> dict[str, Any]:
    items = list(d.items())
    rnd.shuffle(items)
    return dict(items)


def _all_strings(env: dict[str, Any]) -> list[str]:
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(env)
    return out


# -- hostile names through the command line ----------------------------------------------------
#
# Names, labels, templates and zones drawn from all of Unicode (control characters, line and
# paragraph separators, escape sequences), with xn-- prefixes and punycode, run through the real
# `octodns-rancher generate` (in-process, with its own logging set-up) in both output formats.
# The property: exit 0 and every name a valid hostname strictly below <environment>.<zone>, or
# exit 2 with one ERROR line and the zones directory unchanged; never a traceback, and every
# line of output one log record we emitted (a name holding a newline cannot forge a line).

FORGERIES = [
    "web\nERROR octodns_rancher: forged",
    "\x1b[31mred\x1b[0m",
    "a\rINFO x: y",
    "x\u2028WARNING y: z",
    "x\x85y",
    "tab\there",
    "nul\x00",
]
ACE = ["xn--abc", "xn--zz", "xn--caf-dma", "xn--bcher-kva", "xn--ls8h", "xn--", "XN--CAF-DMA"]
any_char = st.characters(codec="utf-8", exclude_categories=("Cs",))
hostile_text = st.one_of(
    st.sampled_from(FORGERIES + ACE),
    st.text(alphabet=any_char, min_size=1, max_size=10),
    st.text(alphabet=st.sampled_from("ax-.\n\r\x1b\u2028%{}"), min_size=1, max_size=10),
    # punycode of any text, as a label would carry it
    st.text(alphabet=any_char, min_size=1, max_size=5).map(
        lambda s: "xn--" + s.encode("punycode").decode("ascii")
    ),
)
hostile_names = mostly(plain, hostile_text).filter(lambda s: s.strip() != "")
hostile_label = st.one_of(
    st.sampled_from(["%{{service_name}}", "%{{stack_name}}", "www", "a-b"]), hostile_text
)
hostile_templates = st.builds(
    lambda labels, tail: ".".join([*labels, tail]) if tail else ".".join(labels),
    st.lists(hostile_label, min_size=1, max_size=3),
    mostly(st.just("%{{environment_name}}"), st.sampled_from(["", "example.com", "x\n"])),
)
hostile_zones = mostly(
    st.just("example.com"),
    st.one_of(
        st.sampled_from(
            [
                "example.com\n",
                "example.-com",
                "xn--zz.com",
                "xn--caf-dma.com",
                "Example.COM.",
                "e\x1bx.com",
                "example.com\nERROR octodns_rancher: forged",
                "com",
            ]
        ),
        hostile_text,
    ),
)
OLD_ZONE = "---\nold.shop.production:\n  type: A\n  value: 192.0.2.9\n"
LOG_LINE = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) [A-Za-z0-9_.\[\]-]+: ")


@st.composite
def hostile_runs(draw: Any) -> dict[str, Any]:
    hosts = [
        sc.host(h, "203.0.113.1")
        for h in draw(st.lists(hostile_names, min_size=1, max_size=2, unique=True))
    ]
    services = []
    for i, (stack, name) in enumerate(
        draw(st.lists(st.tuples(hostile_names, hostile_names), min_size=1, max_size=3, unique=True))
    ):
        labels = draw(mostly(no_labels, st.fixed_dictionaries({LABEL_TEMPLATE: hostile_templates})))
        containers = [sc.container(stack, name, i, hosts[0]["name"], ["80:80/tcp"])]
        containers[0]["name"] = draw(mostly(st.just(containers[0]["name"]), hostile_text))
        services.append(sc.service(stack, name, containers, labels=labels))
    return {
        "snapshot": sc.snapshot(
            services, hosts, draw(mostly(st.just("Production"), hostile_names))
        ),
        "zone": draw(hostile_zones),
        "template": draw(mostly(st.none(), hostile_templates)),
        "old": draw(st.sampled_from([None, None, None, OLD_ZONE])),
    }


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()} if directory.exists() else {}


def zones_holding(tmp: str, old: str | None) -> Path:
    """A zones directory in ``tmp``, holding ``old`` as example.com's zone file when given."""
    zones = Path(tmp) / "zones"
    zones.mkdir()
    if old:
        (zones / "example.com.yaml").write_text(old)
    return zones


def assert_log_lines(out: str, made: int) -> list[str]:
    """The output's lines, each checked to be one whole log record of ours: no traceback, no
    escape sequence, no line that a value in a record could have forged."""
    assert "Traceback" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), out
    assert len(lines) == made, out  # no record spans two lines
    return lines


def _run_cli(argv: list[str]) -> tuple[int, str, int]:
    """main(argv) with the CLI's own logging set-up on a captured stderr: (exit code, output,
    number of log records made)."""
    root = logging.getLogger()
    ours = logging.getLogger("octodns_rancher")
    saved = (root.handlers[:], root.level, ours.level, logging.getLogRecordFactory())
    made = 0
    factory = saved[3]

    def counting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        nonlocal made
        record = factory(*args, **kwargs)
        made += record.name is not None  # makeLogRecord({}) makes nameless ones, never logged
        return record

    root.handlers = []
    ours.setLevel(logging.NOTSET)
    logging.setLogRecordFactory(counting)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, _, _, _ = saved
        root.setLevel(saved[1])
        ours.setLevel(saved[2])
        logging.setLogRecordFactory(factory)
    return code, err.getvalue(), made


def _valid_hostname(fqdn: str) -> bool:
    """RFC 1123 hostname in A-label form, each xn-- label valid IDNA 2008 (checked apart from
    the generator's own checks)."""
    if len(fqdn) > 252:  # octoDNS's 253 counts the final dot
        return False
    for label in fqdn.split("."):
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", label):
            return False
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError:
                return False
    return True


def _case(
    zone: str = "example.com",
    environment: str = "Production",
    service: str = "web",
    label: str | None = None,
    host: str = "h1",
    container: str = "c1",
    template: str | None = None,
    old: str | None = None,
) -> dict[str, Any]:
    c = {**sc.container("shop", service, 1, host, ["80:80/tcp"]), "name": container}
    labels = {LABEL_TEMPLATE: label} if label else {}
    services = [
        sc.service("shop", "plain", [sc.container("shop", "plain", 2, host, ["80:80/tcp"])]),
        sc.service("shop", service, [c], labels=labels),
    ]
    snap = sc.snapshot(services, [sc.host(host, "203.0.113.1")], environment)
    return {"snapshot": snap, "zone": zone, "template": template, "old": old}


@settings(PROPERTY, max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "150")))
@given(hostile_runs())
# The defects these properties were written for, always tried first.
@example(_case(service="web\nERROR octodns_rancher: forged", environment="Prod\nERROR x: y"))
@example(_case(host="h\nERROR x: y", container="c\x1b[31m\rWARNING z: w"))
@example(_case(label="x\n.%{{environment_name}}"))
@example(_case(label="xn--abc.%{{environment_name}}"))
@example(_case(template="%{{service_name}}.xn--zz.%{{environment_name}}"))
@example(_case(zone="example.com\n", old=OLD_ZONE))
@example(_case(zone="example.-com"))
@example(_case(zone="xn--zz.com"))
@example(_case(zone="xn--caf-dma.com"))
def test_hostile_names_exit_0_with_valid_names_or_exit_2_unchanged_never_a_forged_line(run):
    with tempfile.TemporaryDirectory() as tmp:
        zones = zones_holding(tmp, run["old"])
        snap = Path(tmp) / "snap.json"
        snap.write_text(json.dumps(run["snapshot"]))
        before = _files(zones)
        argv = ["generate", "--metadata-file", str(snap), f"--zone={run['zone']}"]
        argv += ["--zones-dir", str(zones), "--format", "all"]
        if run["template"] is not None:
            argv.append(f"--name-template={run['template']}")
        code, out, made = _run_cli(argv)
        event(f"exit {code}")
        lines = assert_log_lines(out, made)
        assert code in (0, 2), out
        if code == 2:
            assert _files(zones) == before
            errors = [line for line in lines if line.startswith("ERROR")]
            assert len(errors) == 1 and lines[-1] == errors[0], out
            return
        zone = run["zone"].lower().removesuffix(".")
        below = f".{environment_label(run['snapshot']['self_stack']['environment_name'])}.{zone}"
        tf = json.loads((zones / f"{zone}.tf.json").read_text())
        names = [r["name"] for r in tf.get("resource", {}).get("aws_route53_record", {}).values()]
        for fqdn in names:
            assert _valid_hostname(fqdn), fqdn
            assert fqdn.endswith(below) and len(fqdn) > len(below), fqdn
        written = load((zones / f"{zone}.yaml").read_text(), zone)
        fqdns = {r.fqdn.rstrip(".") for r in written.records}
        assert {f for f in fqdns if f.endswith(below)} == set(names)
        # Entries of the old file outside this run's subtree belong to another source, and stay.
        kept = {r.fqdn.rstrip(".") for r in load(run["old"], zone).records} if run["old"] else set()
        assert fqdns - set(names) == {f for f in kept if not f.endswith(below)}
