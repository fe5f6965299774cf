"""writeback: fqdns sent to a real local HTTP server that records what Rancher would receive."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from octodns_rancher.writeback import RancherApi, ServiceFqdn, services_in_zone, write_back
from tests.conftest import FIXTURES as ROOT_FIXTURES
from tests.conftest import GOLDEN, GOLDEN_NAMES, run
from tests.support.cattle_server import CattleServer
from tests.support.misbehaving_server import (
    FORGED_LINE,
    MisbehavingServer,
    forged,
    redirect,
    trickle,
)

NAMES = GOLDEN_NAMES
KEYS = {"CATTLE_ACCESS_KEY": "access-1", "CATTLE_SECRET_KEY": "s3cret-value"}


@pytest.fixture
def cattle() -> Iterator[CattleServer]:
    with CattleServer() as srv:
        yield srv


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    d = tmp_path / "zones"
    d.mkdir()
    (d / "example.com.yaml").write_text(GOLDEN.read_text())
    return d


def writeback(cattle_url: str | None, zones: Path, *extra: str, env=None):
    full = {**KEYS, "WRITEBACK_BACKOFF": "0.01", **(env or {})}
    args = ["octodns-rancher", "writeback", "--zone", "example.com", "--zones-dir", str(zones)]
    if cattle_url:
        args += ["--cattle-url", cattle_url]
    return run([*args, *extra], env=full)


def test_every_annotated_service_gets_the_event_rancher_expects(cattle, zones):
    proc = writeback(cattle.url, zones)
    assert proc.returncode == 0, proc.stderr
    assert [r.path for r in cattle.requests] == ["/v1/externaldnsevents"] * 6
    expected_auth = "Basic " + base64.b64encode(b"access-1:s3cret-value").decode()
    assert {r.authorization for r in cattle.requests} == {expected_auth}
    bodies = sorted(cattle.delivered(), key=lambda b: b["fqdn"])
    assert [b["fqdn"] for b in bodies] == [f"{n}.example.com." for n in NAMES]
    web = next(b for b in bodies if b["fqdn"] == "web.shop.production.example.com.")
    assert web == {
        "eventType": "dns.update",
        "externalId": "web.shop.production.example.com.",
        "serviceName": "web",
        "stackName": "shop",
        "fqdn": "web.shop.production.example.com.",
    }
    assert "write-back: 6 sent, 0 failed" in proc.stderr
    assert "s3cret-value" not in proc.stderr


def test_the_service_comes_from_the_annotation_not_the_name(tmp_path):
    # A name template that puts the stack first: parsing the name would swap the two.
    text = (
        "---\n"
        "shop-web.production:\n"
        "  octodns:\n    rancher: {service: web, stack: shop, uuid: u-1}\n"
        "  type: A\n  value: 192.0.2.1\n"
        "www:\n  type: A\n  value: 192.0.2.9\n"
    )
    targets = services_in_zone(text, "example.com.")
    assert targets == [ServiceFqdn("shop-web.production.example.com.", "web", "shop", "u-1")]


def test_5xx_answers_are_retried_until_delivered(cattle, zones):
    cattle.fail_count = 2
    cattle.fail_status = 503
    proc = writeback(cattle.url, zones)
    assert proc.returncode == 0, proc.stderr
    statuses = [r.status for r in cattle.requests]
    assert statuses[:2] == [503, 503] and statuses[2:] == [201] * 6
    # The first service's event was sent three times, identically.
    assert cattle.requests[0].body == cattle.requests[1].body == cattle.requests[2].body
    assert len(cattle.delivered()) == 6
    assert "write-back: 6 sent, 0 failed" in proc.stderr


def test_a_failure_is_reported_but_not_fatal(cattle, zones):
    bad = "grafana.monitoring.production.example.com."
    cattle.fail_fqdns[bad] = 500
    proc = writeback(cattle.url, zones, "--retries", "2")
    assert proc.returncode == 0, proc.stderr
    tries = [r for r in cattle.requests if r.body["fqdn"] == bad]
    assert len(tries) == 3  # one attempt and two retries, then it gives up
    assert len(cattle.delivered()) == 5
    assert "write-back: 5 sent, 1 failed" in proc.stderr
    # One line for the failed service, whatever the number of attempts.
    failed = [line for line in proc.stderr.splitlines() if bad in line]
    assert failed == [
        f"WARNING octodns_rancher.writeback: write-back of {bad} for service monitoring/grafana "
        f'failed: HTTP 500 from {cattle.url}/externaldnsevents: {{"type": "error", "status": 500}}'
    ]
    strict = writeback(cattle.url, zones, "--retries", "0", "--strict")
    assert strict.returncode == 2
    errors = [line for line in strict.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == ["ERROR octodns_rancher: write-back: 5 sent, 1 failed (--strict)"]


def test_client_errors_are_not_retried(cattle, zones):
    cattle.fail_count = 100
    cattle.fail_status = 401
    proc = writeback(cattle.url, zones)
    assert proc.returncode == 0
    assert len(cattle.requests) == 6  # one request per service, none repeated
    assert "write-back: 0 sent, 6 failed" in proc.stderr
    assert "HTTP 401" in proc.stderr


def test_an_unreachable_rancher_is_reported_not_fatal(zones):
    with CattleServer() as srv:
        url = srv.url
    api = RancherApi(url, "a", "b", timeout=2, retries=1, backoff=0.01)
    targets = services_in_zone(GOLDEN.read_text(), "example.com")
    report = write_back(api, targets[:2])
    assert report.sent == [] and len(report.failed) == 2
    assert report.failed[0][1] == (
        f"the Rancher API unreachable at {url}/externaldnsevents: Connection refused"
    )
    assert repr(api) == f"RancherApi[{url}]"


def test_without_cattle_url_write_back_is_skipped(zones):
    proc = writeback(None, zones)
    assert proc.returncode == 0
    assert "no CATTLE_URL: skipping" in proc.stderr


def test_environment_variables(cattle, zones):
    env = {"CATTLE_URL": cattle.url, "ROOT_DOMAIN": "example.com", "ZONES_DIR": str(zones)}
    proc = run(["octodns-rancher", "writeback"], env={**KEYS, **env})
    assert proc.returncode == 0, proc.stderr
    assert len(cattle.delivered()) == 6


def test_since_sends_only_added_and_changed_services(cattle, tmp_path):
    repo = tmp_path / "repo"
    (repo / "zones").mkdir(parents=True)
    zone = repo / "zones" / "example.com.yaml"
    text = GOLDEN.read_text()
    zone.write_text(text)
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "zones"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], cwd=repo, check=True)
    # web moves to another address; api disappears; a new service appears.
    changed = text.replace("api.shop.production:", "cart.shop.production:").replace(
        "service: api", "service: cart"
    )
    web_at = changed.index("web.shop.production:")
    changed = changed[:web_at] + changed[web_at:].replace("203.0.113.", "198.51.100.", 1)
    zone.write_text(changed)
    proc = writeback(cattle.url, repo / "zones", "--since", "HEAD")
    assert proc.returncode == 0, proc.stderr
    sent = sorted(b["fqdn"] for b in cattle.delivered())
    assert sent == ["cart.shop.production.example.com.", "web.shop.production.example.com."]
    # An unknown revision (a new branch's all-zero "before") sends every service.
    proc = writeback(cattle.url, repo / "zones", "--since", "0" * 40)
    assert proc.returncode == 0 and "unknown revision" in proc.stderr
    assert len(cattle.delivered()) == 2 + 6


@pytest.mark.parametrize("keys", [{}, {"CATTLE_ACCESS_KEY": ""}])
def test_without_keys_it_refuses_to_run(cattle, zones, keys):
    proc = run(
        ["octodns-rancher", "writeback", "--zone", "example.com", "--zones-dir", str(zones)],
        env={"CATTLE_URL": cattle.url, **keys},
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "ERROR octodns_rancher: CATTLE_ACCESS_KEY and CATTLE_SECRET_KEY are not set: Rancher "
        "would refuse every event (or take it from anyone); set both, or pass --anonymous "
        "(WRITEBACK_ANONYMOUS=1) for a Rancher without access control"
    ]
    assert cattle.requests == []


def test_half_the_keys_is_refused(cattle, zones):
    proc = run(
        ["octodns-rancher", "writeback", "--zone", "example.com", "--zones-dir", str(zones)],
        env={"CATTLE_URL": cattle.url, "CATTLE_SECRET_KEY": "s"},
    )
    assert proc.returncode == 2 and cattle.requests == []
    assert "CATTLE_SECRET_KEY is set but CATTLE_ACCESS_KEY is not" in proc.stderr


@pytest.mark.parametrize("how", [["--anonymous"], []])
def test_anonymous_only_when_asked(cattle, zones, how):
    env = {"CATTLE_URL": cattle.url}
    if not how:
        env["WRITEBACK_ANONYMOUS"] = "1"
    args = ["octodns-rancher", "writeback", "--zone", "example.com", "--zones-dir", str(zones)]
    proc = run([*args, *how], env=env)
    assert proc.returncode == 0, proc.stderr
    assert len(cattle.delivered()) == 6
    assert {r.authorization for r in cattle.requests} == {""}


def test_keys_in_the_url_count_as_keys_and_are_never_printed(cattle, zones):
    url = cattle.url.replace("http://", "http://url-access:url-secret@")
    cattle.fail_fqdns["web.shop.production.example.com."] = 400
    proc = run(
        ["octodns-rancher", "-v", "writeback", "--zone", "example.com", "--zones-dir", str(zones)],
        env={"CATTLE_URL": url},
    )
    assert proc.returncode == 0, proc.stderr
    expected = "Basic " + base64.b64encode(b"url-access:url-secret").decode()
    assert {r.authorization for r in cattle.requests} == {expected}
    assert "url-secret" not in proc.stderr and "url-access" not in proc.stderr
    assert "HTTP 400 from http://***@127.0.0.1:" in proc.stderr


def test_a_redirect_to_another_host_is_refused_and_nothing_reaches_it(cattle, zones):
    with MisbehavingServer() as srv:
        srv.on("/v1/externaldnsevents", redirect(307, f"{cattle.url}/externaldnsevents"))
        proc = writeback(f"{srv.url}/v1", zones, "--retries", "0")
    assert proc.returncode == 0, proc.stderr
    assert cattle.requests == []  # the keys and events never left for the other host
    assert "write-back: 0 sent, 6 failed" in proc.stderr
    assert (
        f"failed: the Rancher API at {srv.url}/v1/externaldnsevents redirected (307) to "
        f"{cattle.url}/externaldnsevents, outside {srv.url}; refusing to follow it"
    ) in proc.stderr


def test_a_trickling_api_fails_each_event_at_the_timeout_and_the_run_at_its_deadline(zones):
    with MisbehavingServer() as srv:
        srv.on("/v1/externaldnsevents", trickle(b"{}" * 100, interval=0.2))
        started = time.monotonic()
        proc = writeback(
            f"{srv.url}/v1", zones, "--retries", "0", "--timeout", "0.5", "--deadline", "1.2"
        )
        elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 8
    assert "write-back: 0 sent, 6 failed" in proc.stderr
    assert "did not send its whole answer within 0.5 s" in proc.stderr
    assert "the run's deadline of 1.2 s passed" in proc.stderr


def test_a_forged_error_body_is_one_escaped_line_per_service(zones):
    with MisbehavingServer() as srv:
        srv.on("/v1/externaldnsevents", forged(400, json_message=False, repeat=50_000))
        proc = writeback(f"{srv.url}/v1", zones, "--retries", "0")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert not any(line.startswith(FORGED_LINE) for line in lines)
    assert "\x1b" not in proc.stderr and "\u2028" not in proc.stderr
    failed = [line for line in lines if "failed: HTTP 400" in line]
    assert len(failed) == 6 and all(len(line) < 600 for line in failed)
    assert "not found\\nERROR octodns_rancher: forged\\r\\n\\x1b[31mred" in failed[0]


def test_records_of_other_sources_are_not_written_back():
    """A zone file shared with a Kubernetes cluster: only Rancher's annotations name services."""
    kube = (ROOT_FIXTURES / "golden" / "example.com.kubernetes.yaml").read_text()
    shared = GOLDEN.read_text() + kube.removeprefix("---\n")
    targets = services_in_zone(shared, "example.com")
    assert sorted(t.fqdn for t in targets) == sorted(f"{n}.example.com." for n in GOLDEN_NAMES)
    assert services_in_zone(kube, "example.com") == []
