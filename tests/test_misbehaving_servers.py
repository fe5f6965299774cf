"""generate, snapshot and watch against servers that misbehave, through the real command.

Each run must end in bounded time with one ERROR line naming the URL (without credentials)
and exit 2, print no outside text raw, and leave the zone file as it was.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _CLEAR_ENV, BIN, GOLDEN, run
from tests.support import scenario as sc
from tests.support.metadata_server import MetadataServer, load_fixture
from tests.support.misbehaving_server import (
    FORGED_LINE,
    MisbehavingServer,
    forged,
    hang,
    huge_message,
    json_body,
    oversize,
    redirect,
    retry_after,
    trickle,
)

STACK = "/2016-07-29/self/stack"


@pytest.fixture
def srv() -> Iterator[MisbehavingServer]:
    with MisbehavingServer() as s:
        yield s


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    d = tmp_path / "zones"
    d.mkdir()
    (d / "example.com.yaml").write_text(GOLDEN.read_text())
    return d


def generate(url: str, zones: Path, *extra: str) -> tuple[subprocess.CompletedProcess, float]:
    args = ["octodns-rancher", "generate", "--metadata-url", url, "--zone", "example.com"]
    started = time.monotonic()
    proc = run([*args, "--zones-dir", str(zones), *extra], timeout=60)
    return proc, time.monotonic() - started


def the_error(proc: subprocess.CompletedProcess) -> str:
    """The one ERROR line of a failed run (and the checks every failed run must pass)."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def serve_fixture(srv: MisbehavingServer) -> None:
    """The fixture environment's three answers, served by ``srv`` itself."""
    tree = load_fixture()
    srv.on(STACK, json_body(tree["self"]["stack"]))
    srv.on("/2016-07-29/services", json_body(tree["services"]))
    srv.on("/2016-07-29/hosts", json_body(tree["hosts"]))


def test_retry_after_of_an_hour_is_capped_and_the_run_ends(srv, zones):
    srv.on(STACK, retry_after(3600))
    proc, elapsed = generate(srv.url, zones, "--deadline", "4")
    error = the_error(proc)
    assert elapsed < 15
    assert error.startswith(f"ERROR octodns_rancher: rancher-metadata answered 503 for {srv.url}")
    assert len(srv.requests) == 1  # the first pause (5 s) did not fit in the 4 s deadline
    assert zones.joinpath("example.com.yaml").read_text() == GOLDEN.read_text()


def test_a_trickled_answer_fails_at_the_timeout(srv, zones):
    serve_fixture(srv)
    srv.on("/2016-07-29/services", trickle(b"[]" * 100, interval=0.3))
    proc, elapsed = generate(srv.url, zones, "--timeout", "1", "--deadline", "2.5")
    error = the_error(proc)
    assert elapsed < 12
    assert f"rancher-metadata at {srv.url}/2016-07-29/services did not send its whole answer" in (
        error
    )
    assert "within 1 s" in error or "before the run's deadline of 2.5 s passed" in error


def test_a_server_that_never_answers_fails_at_the_deadline(srv, zones):
    srv.on("*", hang())
    proc, elapsed = generate(srv.url, zones, "--timeout", "1", "--deadline", "1.5")
    error = the_error(proc)
    assert elapsed < 12
    assert "did not answer within 1 s" in error or "deadline of 1.5 s" in error


def test_a_redirect_to_another_host_is_refused_and_its_data_never_published(srv, zones):
    trees = {"2016-07-29": sc.tree([], [sc.host("evil", "192.0.2.66")], "Production")}
    with MetadataServer(trees) as other:
        serve_fixture(srv)
        srv.on("/2016-07-29/services", redirect(302, f"{other.url}/2016-07-29/services"))
        proc, _ = generate(srv.url, zones)
        assert other.requests == []
    error = the_error(proc)
    assert (
        f"rancher-metadata at {srv.url}/2016-07-29/services redirected (302) to "
        f"{other.url}/2016-07-29/services, outside {srv.url}; refusing to follow it"
    ) in error
    assert zones.joinpath("example.com.yaml").read_text() == GOLDEN.read_text()


def test_a_redirect_within_the_server_is_followed(srv, zones):
    serve_fixture(srv)
    tree = load_fixture()
    srv.on("/2016-07-29/services", redirect(308, "/moved/services"))
    srv.on("/moved/services", json_body(tree["services"]))
    proc, _ = generate(srv.url, zones, "--check")
    assert proc.returncode == 0, proc.stderr  # the same data: the golden file is up to date
    assert "/moved/services" in srv.paths()


@pytest.mark.parametrize("announce", [True, False])
def test_an_oversize_answer_is_refused_with_memory_bounded(srv, zones, announce):
    serve_fixture(srv)
    srv.on("/2016-07-29/services", oversize(3 * 1024**3, announce=announce))  # 3 GiB
    proc, _ = generate(srv.url, zones, "--max-answer-size", "8MiB")
    error = the_error(proc)
    assert "more than the limit of 8,388,608 bytes; refusing the answer" in error
    assert srv.sent < 256 * 1024**2


def test_a_forged_error_body_cannot_forge_a_line(srv, zones):
    srv.on(STACK, forged(404))
    proc, _ = generate(srv.url, zones)
    error = the_error(proc)
    assert not any(line.startswith(FORGED_LINE) for line in proc.stderr.splitlines())
    assert "\x1b" not in proc.stderr and "\u2028" not in proc.stderr and "\r" not in proc.stderr
    assert "not found\\nERROR octodns_rancher: forged\\r\\n\\x1b[31mred" in error


def test_a_two_megabyte_message_becomes_a_short_line(srv, zones):
    srv.on(STACK, huge_message(2_000_000))
    proc, _ = generate(srv.url, zones)
    error = the_error(proc)
    assert len(error) < 400
    assert "more characters]" in error


def test_unreachable_metadata_is_one_line_with_cause_and_remedy(zones):
    url = "http://admin:hunter2@127.0.0.1:9"  # the discard port: nothing listens
    proc, _ = generate(url, zones)
    assert proc.stderr.splitlines() == [
        "ERROR octodns_rancher: rancher-metadata unreachable at "
        "http://***@127.0.0.1:9/2016-07-29/self/stack: Connection refused; check "
        "--metadata-url (METADATA_URL), or read a snapshot file with --metadata-file "
        "(METADATA_FILE)"
    ]


def test_library_chatter_stays_at_debug_level(zones):
    proc, _ = generate("http://127.0.0.1:9", zones, "-v")
    assert "Retrying (Retry(" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith(("ERROR", "WARNING"))] == [
        line for line in proc.stderr.splitlines() if line.startswith("ERROR")
    ]


def test_a_service_name_cannot_forge_a_line_in_a_run_that_succeeds(tmp_path, zones):
    name = f"web\n{FORGED_LINE}\x1b[2J"
    hosts = [sc.host("h1", "203.0.113.1")]
    p80 = ["0.0.0.0:80:80/tcp"]
    # The second container runs on a host metadata does not list: a warning naming the service.
    containers = [
        sc.container("shop", name, 1, "h1", p80),
        sc.container("shop", name, 2, "h9", p80),
    ]
    services = [sc.service("shop", name, containers)]
    with MetadataServer({"2016-07-29": sc.tree(services, hosts, "Production")}) as m:
        proc, _ = generate(m.url, tmp_path / "new", "--allow-empty")
    assert proc.returncode == 0, proc.stderr
    warning = [line for line in proc.stderr.splitlines() if "unknown host" in line]
    assert (
        warning
        == [
            "WARNING octodns_rancher.records: service shop/web\\nERROR octodns_rancher: forged"
            "\\x1b[2J: container shop-web-error-octodns-rancher-forged-2j-2 runs on unknown host "
            "'h9'; skipped"
        ]
        or len(warning) == 1
    )
    assert not any(line.startswith(FORGED_LINE) for line in proc.stderr.splitlines())
    assert "\x1b" not in proc.stderr


def test_snapshot_from_a_server_that_hangs_ends_and_writes_nothing(srv, tmp_path):
    srv.on("*", hang())
    out = tmp_path / "snap.json"
    started = time.monotonic()
    proc = run(
        [
            "octodns-rancher",
            "snapshot",
            "--metadata-url",
            srv.url,
            "-o",
            str(out),
            "--timeout",
            "1",
            "--deadline",
            "1.5",
        ],
        timeout=60,
    )
    assert time.monotonic() - started < 12
    assert "did not answer within 1 s" in the_error(proc) or "deadline" in the_error(proc)
    assert not out.exists()


def test_snapshot_refuses_a_redirect_to_another_host(srv, tmp_path):
    with MetadataServer() as other:
        srv.on(STACK, redirect(301, f"{other.url}{STACK}"))
        proc = run(["octodns-rancher", "snapshot", "--metadata-url", srv.url, "-o", "x.json"])
        assert other.requests == []
    assert "refusing to follow it" in the_error(proc)


def healthz(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_watch_logs_and_serves_no_credentials_and_no_forged_lines(srv, tmp_path):
    """The real watch command against a lying server: its log and /healthz stay clean."""
    srv.on("*", forged(404))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in _CLEAR_ENV}
    env.update(
        METADATA_URL=f"http://watcher:topsecret@127.0.0.1:{srv.port}",
        ROOT_DOMAIN="example.com",
        LISTEN_ADDRESS="127.0.0.1:0",
        BACKOFF_MAX="0.2",
    )
    proc = subprocess.Popen(
        [str(BIN / "octodns-rancher"), "watch"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "serving /healthz" in line:
                port = int(line.rsplit(":", 1)[1])
            if sum("answered 404" in x for x in lines) >= 2:
                break
        status, body = healthz(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        _, rest = proc.communicate(timeout=15)
    log = "".join(lines) + rest
    assert status == 503
    for text in (log, body):
        assert "topsecret" not in text and "watcher:" not in text
        assert "\x1b" not in text and "\u2028" not in text
        assert not any(line.startswith(FORGED_LINE) for line in text.splitlines())
    assert f"http://***@127.0.0.1:{srv.port}/2016-07-29" in log
    assert body.count("\n") == 1 and "rancher-metadata answered 404" in body
