"""watch: the loop against a real rancher-metadata server, real git and a bare remote on disk."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from octodns_rancher.config import render_octodns_config
from octodns_rancher.errors import ConfigError, PublishError
from octodns_rancher.metrics import Metrics, MetricsServer
from octodns_rancher.pipeline import Options, zone_path
from octodns_rancher.watch import (
    ApplyPublisher,
    GitPublisher,
    Watcher,
    WatchSettings,
    ensure_checkout,
)
from tests.conftest import _CLEAR_ENV, BIN, run
from tests.support import scenario as sc
from tests.support.metadata_server import MetadataServer

ZONE = "example.com"
P80 = ["0.0.0.0:80:80/tcp"]
QUIET = 0.3
FAST = WatchSettings(
    quiet_period=QUIET, resync_interval=60, max_wait=1, backoff_min=0.1, backoff_max=0.5
)


def trees(api: bool = False, web_ip: str = "203.0.113.1") -> dict:
    """The Production environment: shop/web on h1, and shop/api on h2 when ``api``."""
    hosts = [sc.host("h1", web_ip), sc.host("h2", "203.0.113.2")]
    services = [sc.service("shop", "web", [sc.container("shop", "web", 1, "h1", P80)])]
    if api:
        services.append(sc.service("shop", "api", [sc.container("shop", "api", 2, "h2", P80)]))
    return {"2016-07-29": sc.tree(services, hosts, "Production")}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
    )
    return proc.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A working clone of a bare repository, with one commit pushed to main."""
    remote = tmp_path / "remote.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git(tmp_path, "clone", "--quiet", str(remote), str(work))
    git(work, "config", "user.name", "Test")
    git(work, "config", "user.email", "test@example.invalid")
    git(work, "checkout", "--quiet", "-B", "main")
    (work / "README.md").write_text("zones\n")
    git(work, "add", "README.md")
    git(work, "commit", "--quiet", "-m", "init")
    git(work, "push", "--quiet", "origin", "main")
    return work


def count(work: Path, ref: str = "HEAD") -> int:
    return int(git(work, "rev-list", "--count", ref))


def wait_for(cond: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def options(srv: MetadataServer, work: Path) -> Options:
    return Options(zone=ZONE, zones_dir=work / "zones", metadata_url=srv.url, timeout=5)


@contextmanager
def watching(
    srv: MetadataServer, work: Path, settings: WatchSettings = FAST, push: bool = True
) -> Iterator[Watcher]:
    opts = options(srv, work)
    watcher = Watcher(opts, settings, GitPublisher(opts.zones_dir, push=push, branch="main"))
    thread = threading.Thread(target=watcher.run, name="watch", daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        watcher.stop()
        thread.join(timeout=10)
        assert not thread.is_alive(), "watch loop did not stop"


def test_change_produces_exactly_one_commit_and_push(repo: Path) -> None:
    with MetadataServer(trees()) as srv, watching(srv, repo) as w:
        wait_for(lambda: count(repo) == 2, what="the first commit of the zone file")
        assert "web.shop.production" in zone_path(repo / "zones", ZONE).read_text()
        srv.reload(trees(api=True))
        wait_for(lambda: count(repo) == 3, what="a commit for the new service")
        time.sleep(QUIET + 1.5)  # long enough for any second (wrong) commit to appear
        assert count(repo) == 3
        assert "add api.shop.production" in git(repo, "log", "-1", "--format=%s")
        assert git(repo, "rev-parse", "HEAD") == git(repo, "rev-parse", "origin/main")
        assert git(repo, "ls-remote", str(repo.parent / "remote.git"), "main").startswith(
            git(repo, "rev-parse", "HEAD")
        )
        assert sample(w, "octodns_rancher_commits_total") == 2
        assert w.failures == 0


def test_reloads_with_same_data_and_flapping_commit_nothing(repo: Path) -> None:
    quiet = 0.8  # wide enough that a loaded test machine still reloads within it
    settings = WatchSettings(quiet_period=quiet, resync_interval=60, max_wait=1, backoff_min=0.1)
    with MetadataServer(trees()) as srv, watching(srv, repo, settings) as w:
        wait_for(lambda: count(repo) == 2 and w.cycles == 1, what="the first cycle")
        path = zone_path(repo / "zones", ZONE)
        mtime = path.stat().st_mtime_ns
        # Rancher reloads metadata with identical data: /version changes every time.
        for _ in range(3):
            srv.reload()
            time.sleep(quiet / 8)
        wait_for(lambda: w.cycles == 2, what="one regeneration for the burst of reloads")
        # A record that appears and disappears within the quiet period: no commit.
        srv.reload(trees(api=True))
        time.sleep(quiet / 8)
        srv.reload(trees())
        wait_for(lambda: w.cycles == 3, what="one regeneration after the flap")
        time.sleep(quiet + 0.5)
        assert w.cycles == 3
        assert count(repo) == 2
        assert path.stat().st_mtime_ns == mtime
        assert sample(w, "octodns_rancher_zone_writes_total") == 1  # only the first cycle wrote


def test_reloads_that_never_pause_still_regenerate(repo: Path) -> None:
    """max_settle bounds the quiet period's re-arming: a reload storm cannot starve the loop."""
    settings = WatchSettings(quiet_period=0.1, resync_interval=60, max_wait=1, backoff_min=0.1)
    assert settings.max_settle == 1.0
    with MetadataServer(trees()) as srv, watching(srv, repo, settings) as w:
        wait_for(lambda: w.cycles == 1, what="the first cycle")
        started = time.monotonic()
        srv.reload(trees(api=True))
        while w.cycles == 1 and time.monotonic() - started < 5:
            srv.reload()  # a new version every 20 ms, never quiet for 0.1 s
            time.sleep(0.02)
        assert w.cycles == 2, "no regeneration during a storm of reloads"
        assert time.monotonic() - started < 2.5
        wait_for(lambda: count(repo) == 3, what="the commit of the new service")


def test_survives_metadata_going_away_and_coming_back(repo: Path) -> None:
    srv = MetadataServer(trees()).start()
    port = srv.port
    metrics = Metrics()
    with MetricsServer(metrics, "127.0.0.1:0") as http:
        opts = options(srv, repo)
        w = Watcher(opts, FAST, GitPublisher(opts.zones_dir, push=True, branch="main"), metrics)
        thread = threading.Thread(target=w.run, daemon=True)
        thread.start()
        try:
            wait_for(lambda: count(repo) == 2, what="the first commit")
            wait_for(lambda: healthz(http.url) == (200, "ok"), what="healthy after the first cycle")
            srv.stop()
            wait_for(lambda: w.failures >= 3, what="failed attempts while metadata is down")
            status, reason = healthz(http.url)
            assert status == 503 and "rancher-metadata unreachable" in reason
            # Backoff is capped: the attempts go on at most backoff_max apart.
            before = w.failures
            time.sleep(1.5)
            assert w.failures >= before + 2
            srv = MetadataServer(trees(api=True), port=port).start()
            wait_for(lambda: count(repo) == 3, what="the commit after the server came back")
            wait_for(lambda: healthz(http.url)[0] == 200, what="healthy again")
            # Garbage and lost data are survived too.
            srv.garbage = b"<html>not json</html>"
            srv.reload()
            wait_for(lambda: "invalid JSON" in healthz(http.url)[1], what="garbage noticed")
            srv.garbage = None
            srv.lose_data()
            wait_for(lambda: "Invalid version" in healthz(http.url)[1], what="lost data noticed")
            srv.reload(trees(api=True, web_ip="203.0.113.9"))
            wait_for(lambda: count(repo) == 4, what="the commit after the data came back")
            families = {f.name: f for f in text_string_to_metric_families(scrape(http.url))}
            errors = {s.labels["kind"]: s.value for s in families["octodns_rancher_errors"].samples}
            assert errors["metadata"] >= 4
            assert errors["publish"] == 0
        finally:
            w.stop()
            thread.join(timeout=10)
            srv.stop()
    assert not thread.is_alive()


def test_survives_a_metadata_server_that_never_answers(repo: Path) -> None:
    """A socket that accepts connections and never answers: read timeouts, then recovery."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the handshakes; nobody ever reads or answers
    port = silent.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    opts = Options(zone=ZONE, zones_dir=repo / "zones", metadata_url=url, timeout=0.3)
    w = Watcher(opts, FAST, GitPublisher(opts.zones_dir, push=False))
    thread = threading.Thread(target=w.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: w.failures >= 2, what="read timeouts counted as failures")
        assert w.metrics.health.status() == (False, w.metrics.health.metadata_reason)
        assert "did not answer within 0.3 s" in w.metrics.health.metadata_reason
        assert count(repo) == 1
        silent.close()
        with MetadataServer(trees(), port=port):
            wait_for(lambda: count(repo) == 2, what="the first commit once metadata answers")
    finally:
        silent.close()
        w.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def _environment_reads(srv: MetadataServer) -> int:
    """Full reads of the environment (each one reads ``/services`` once)."""
    return sum(1 for p in srv.paths() if p.split("?")[0].rstrip("/").endswith("/services"))


def test_a_settled_change_is_read_and_computed_during_its_quiet_period(repo: Path) -> None:
    """The second half of the quiet period reads and renders; the cycle then only writes, and
    the server sees no more reads than without it."""
    settings = WatchSettings(quiet_period=1.0, resync_interval=60, max_wait=1, backoff_min=0.1)
    with MetadataServer(trees()) as srv, watching(srv, repo, settings) as w:
        wait_for(lambda: count(repo) == 2 and w.cycles == 1, what="the first cycle")
        reads = _environment_reads(srv)
        srv.reload(trees(api=True))
        wait_for(lambda: count(repo) == 3, what="a commit for the new service")
        assert (w.reads_ahead, w.reads_ahead_used) == (1, 1)
        assert _environment_reads(srv) == reads + 1
        assert "api.shop.production" in zone_path(repo / "zones", ZONE).read_text()


def test_a_change_after_the_read_ahead_is_not_lost(repo: Path) -> None:
    """A reload after the quiet period's read re-arms it; the cycle reads the newer data."""
    settings = WatchSettings(quiet_period=2.0, resync_interval=60, max_wait=1, backoff_min=0.1)
    with MetadataServer(trees()) as srv, watching(srv, repo, settings) as w:
        wait_for(lambda: count(repo) == 2 and w.cycles == 1, what="the first cycle")
        srv.reload(trees(api=True))
        wait_for(lambda: w.reads_ahead == 1, what="the read ahead")
        assert count(repo) == 2
        srv.reload(trees(api=True, web_ip="203.0.113.9"))
        wait_for(lambda: count(repo) == 3, timeout=15, what="the commit")
        text = zone_path(repo / "zones", ZONE).read_text()
        assert "203.0.113.9" in text and "api.shop.production" in text
        assert w.reads_ahead_used == 0  # its version was not the one that settled
        time.sleep(1.0)
        assert count(repo) == 3


def test_a_stop_during_the_quiet_period_writes_nothing(repo: Path) -> None:
    settings = WatchSettings(quiet_period=2.0, resync_interval=60, max_wait=1, backoff_min=0.1)
    with MetadataServer(trees()) as srv:
        with watching(srv, repo, settings) as w:
            wait_for(lambda: count(repo) == 2 and w.cycles == 1, what="the first cycle")
            before = zone_path(repo / "zones", ZONE).read_text()
            srv.reload(trees(api=True))
            wait_for(lambda: w.reads_ahead == 1, what="the read ahead")
        assert zone_path(repo / "zones", ZONE).read_text() == before
        assert count(repo) == 2


def test_the_cli_loop_freezes_what_it_keeps_after_each_full_read(repo: Path) -> None:
    """After start and every resync (full reads), what the loop keeps is moved out of the
    cyclic collector's scans; change cycles leave the frozen set alone. Only the CLI's loop
    does it: a loop in a thread of another program leaves that program's heap alone."""
    import gc

    settings = WatchSettings(quiet_period=QUIET, resync_interval=60, max_wait=1, backoff_min=0.1)
    try:
        with MetadataServer(trees()) as srv:
            gc.unfreeze()
            with watching(srv, repo, settings) as w:
                wait_for(lambda: w.cycles == 1, what="the first cycle")
                assert gc.get_freeze_count() == 0  # off unless asked for
            opts = options(srv, repo)
            assert not Watcher(opts, settings, GitPublisher(opts.zones_dir, push=False)).freeze_heap
            w = Watcher(opts, settings, GitPublisher(opts.zones_dir, push=False), freeze_heap=True)
            thread = threading.Thread(target=w.run, daemon=True)
            thread.start()
            try:
                wait_for(lambda: w.heap_freezes == 1, what="the start cycle's freeze")
                assert gc.get_freeze_count() > 0
                srv.reload(trees(api=True))
                wait_for(lambda: w.cycles == 2, what="the change cycle")
                time.sleep(0.2)
                assert w.heap_freezes == 1  # a change cycle does not freeze
            finally:
                w.stop()
                thread.join(timeout=10)
    finally:
        gc.unfreeze()


def test_resync_restores_the_zone_file_without_an_event(repo: Path) -> None:
    settings = WatchSettings(quiet_period=QUIET, resync_interval=1, max_wait=1, backoff_min=0.1)
    with MetadataServer(trees()) as srv, watching(srv, repo, settings) as w:
        wait_for(lambda: count(repo) == 2, what="the first commit")
        path = zone_path(repo / "zones", ZONE)
        path.unlink()  # a stray hand edit, with no metadata event to follow
        wait_for(path.exists, timeout=5, what="the resync to write the file again")
        assert git(repo, "status", "--porcelain", "--", "zones") == ""
        assert count(repo) == 2  # the same content as committed: nothing new to commit
        resyncs = w.metrics.registry.get_sample_value
        wait_for(
            lambda: resyncs("octodns_rancher_cycle_duration_seconds_count", {"trigger": "resync"}),
            what="a resync in the cycle histogram",
        )


def test_empty_metadata_is_refused_and_retried(repo: Path) -> None:
    with MetadataServer(trees()) as srv, watching(srv, repo) as w:
        wait_for(lambda: count(repo) == 2, what="the first commit")
        before = zone_path(repo / "zones", ZONE).read_text()
        empty = {"2016-07-29": sc.tree([], [], "Production")}
        srv.reload(empty)
        wait_for(lambda: w.failures >= 1, what="the empty guard to refuse")
        assert sample(w, "octodns_rancher_errors_total", kind="empty") >= 1
        assert zone_path(repo / "zones", ZONE).read_text() == before
        srv.reload(trees(api=True))
        wait_for(lambda: count(repo) == 3, what="the commit once services are back")


def test_a_failed_push_heals_itself_once_the_remote_is_back(repo: Path, tmp_path: Path) -> None:
    """The remote goes away and another writer pushes meanwhile: when the remote is back, the
    unpushed commit is rebuilt on their tip and the loop is healthy again, with no hand repair."""
    remote = repo.parent / "remote.git"
    theirs = tmp_path / "theirs"
    git(tmp_path, "clone", "--quiet", str(remote), str(theirs))
    git(repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with MetadataServer(trees()) as srv, watching(srv, repo) as w:
        wait_for(lambda: w.failures >= 2, what="failed pushes while the remote is gone")
        healthy, reason = w.metrics.health.status()
        assert not healthy and "does not appear to be a git repository" in reason
        assert count(repo) == 2  # committed once, not pushed, not committed again
        (theirs / "README.md").write_text("zones, and theirs\n")
        ident = ["-c", "user.name=Other", "-c", "user.email=other@example.invalid"]
        git(theirs, *ident, "commit", "--quiet", "-am", "their change")
        git(theirs, "push", "--quiet", "origin", "HEAD:main")
        git(repo, "remote", "set-url", "origin", str(remote))
        wait_for(lambda: w.metrics.health.status()[0], what="healthy again")
        assert git(repo, "ls-remote", str(remote), "main").split()[0] == git(
            repo, "rev-parse", "HEAD"
        )
        assert git(repo, "log", "--format=%s", "HEAD").splitlines() == [
            "example.com: add web.shop.production",
            "their change",
            "init",
        ]
        assert sample(w, "octodns_rancher_errors_total", kind="publish") >= 2


def test_apply_runs_the_octodns_sync_in_process(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "dns"
    target.mkdir()
    monkeypatch.setenv("OCTODNS_TARGET_DIR", str(target))
    config = tmp_path / "octodns.yaml"
    config.write_text(
        render_octodns_config(ZONE, "Production", provider="yaml", zones_dir=str(repo / "zones"))
    )
    with MetadataServer(trees()) as srv:
        opts = options(srv, repo)
        w = Watcher(opts, FAST, ApplyPublisher(config, ZONE))
        thread = threading.Thread(target=w.run, daemon=True)
        thread.start()
        try:
            published = target / f"{ZONE}.yaml"
            wait_for(
                lambda: published.exists() and "web.shop.production" in published.read_text(),
                what="the first sync",
            )
            srv.reload(trees(api=True))
            wait_for(lambda: "api.shop.production" in published.read_text(), what="the second sync")
            wait_for(lambda: sample(w, "octodns_rancher_applies_total") == 2, what="the count")
            assert count(repo) == 1  # --apply never commits
        finally:
            w.stop()
            thread.join(timeout=10)


def test_apply_needs_an_existing_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        ApplyPublisher(tmp_path / "missing.yaml", ZONE)


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="max wait"):
        WatchSettings(max_wait=500)
    with pytest.raises(ConfigError, match="quiet period"):
        WatchSettings(quiet_period=-1)


def test_ensure_checkout_clones_once_and_refuses_other_directories(
    repo: Path, tmp_path: Path
) -> None:
    remote = str(repo.parent / "remote.git")
    target = tmp_path / "checkout"
    ensure_checkout(remote, target, "main")
    assert (target / "README.md").read_text() == "zones\n"
    head = git(target, "rev-parse", "HEAD")
    ensure_checkout(remote, target, "main")  # already a checkout: left alone
    assert git(target, "rev-parse", "HEAD") == head
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a git checkout and not empty"):
        ensure_checkout(remote, other)
    with pytest.raises(PublishError, match=r"git clone .*missing\.git .*failed"):
        ensure_checkout(str(tmp_path / "missing.git"), tmp_path / "empty")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no zone given"),
        ({"ROOT_DOMAIN": ZONE, "WATCH_MODE": "yolo"}, "invalid WATCH_MODE 'yolo'"),
        ({"ROOT_DOMAIN": ZONE, "QUIET_PERIOD": "soon"}, "invalid QUIET_PERIOD 'soon'"),
        ({"ROOT_DOMAIN": ZONE, "METADATA_MAX_WAIT": "600"}, "invalid max wait 600"),
        ({"ROOT_DOMAIN": ZONE, "WATCH_MODE": "apply"}, "octoDNS config config/octodns.yaml"),
    ],
)
def test_cli_refuses_bad_settings(tmp_path: Path, env: dict, message: str) -> None:
    proc = run(["octodns-rancher", "watch", "--listen", "off"], cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("env/OCTODNS_TARGET_DIR/./target", "env/TEST_TARGET_UNSET"), "missing env var"),
        (("example.com.:", "example.org.:"), "has no zone example.com."),
    ],
)
def test_apply_with_a_config_that_cannot_load_stops_at_start(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    """One line and exit 2 before the loop starts, not a warning at every cycle; octoDNS's
    own traceback for the unset secret is not shown."""
    config = tmp_path / "octodns.yaml"
    text = render_octodns_config(zone=ZONE, environment="Production", provider="yaml")
    assert edit[0] in text
    config.write_text(text.replace(*edit))
    env = {"ROOT_DOMAIN": ZONE, "WATCH_MODE": "apply", "OCTODNS_CONFIG": str(config)}
    proc = run(["octodns-rancher", "watch", "--listen", "off"], cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and message in errors[0] and str(config) in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("delay", [0.05, QUIET + 0.02, QUIET + 0.1])
def test_sigterm_stops_the_cli_cleanly(repo: Path, delay: float) -> None:
    """The real command in a subprocess: SIGTERM mid-activity ends it with 0 and no debris.

    ``delay`` after a reload lands the signal in the quiet period, in the metadata read, or in
    the generation and commit; whichever step it hits is either not begun or finished.
    """
    with MetadataServer(trees()) as srv:
        env = {k: v for k, v in os.environ.items() if k not in _CLEAR_ENV}
        env.update(
            METADATA_URL=srv.url,
            ROOT_DOMAIN=ZONE,
            QUIET_PERIOD=str(QUIET),
            METADATA_MAX_WAIT="1",
            LISTEN_ADDRESS="127.0.0.1:0",
            LOG_FORMAT="json",
            ZONES_PUSH="1",
        )
        proc = subprocess.Popen(
            [str(BIN / "octodns-rancher"), "watch"],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: count(repo) == 2, timeout=20, what="the first commit by the CLI")
            srv.reload(trees(api=True))
            time.sleep(delay)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert list((repo / ".git").rglob("*.lock")) == []
    assert [p.name for p in (repo / "zones").iterdir()] == [f"{ZONE}.yaml"]
    assert git(repo, "fsck", "--no-progress") == ""
    # A cycle that wrote the zone file also committed it: the file is never left half-published.
    assert git(repo, "status", "--porcelain", "--", "zones") == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith("{") for line in lines), err  # --log-format json throughout
    assert any('"SIGTERM received; stopping"' in line for line in lines)
    assert '"watch stopped"' in lines[-1]


def healthz(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
            return resp.status, resp.read().decode().strip()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode().strip()


def scrape(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        return resp.read().decode()


def sample(w: Watcher, name: str, **labels: str) -> float:
    value = w.metrics.registry.get_sample_value(name, labels)
    assert value is not None, f"no sample {name} {labels}"
    return value


def test_a_label_that_is_not_valid_idna_costs_only_its_service_its_record(repo: Path) -> None:
    """One service's xn-- label used to raise inside octoDNS on every cycle: nothing was
    published for the whole environment."""
    hosts = [sc.host("h1", "203.0.113.1")]
    web = sc.service("shop", "web", [sc.container("shop", "web", 1, "h1", P80)])
    evil = sc.service(
        "shop",
        "evil",
        [sc.container("shop", "evil", 2, "h1", P80)],
        labels={"io.rancher.service.external_dns_name_template": "xn--abc.%{{environment_name}}"},
    )
    with (
        MetadataServer({"2016-07-29": sc.tree([web, evil], hosts, "Production")}) as srv,
        watching(srv, repo) as w,
    ):
        wait_for(lambda: count(repo) == 2, what="the first commit")
        text = zone_path(repo / "zones", ZONE).read_text()
        assert "web.shop.production:" in text and "xn--" not in text and "evil" not in text
        assert w.failures == 0
