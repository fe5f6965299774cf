"""The Kubernetes client against API servers that misbehave: real HTTP servers on 127.0.0.1.

The same protections as ``httpclient`` gives rancher-metadata (``tests/test_misbehaving_servers
.py``): a list that cannot loop, a deadline per request (connection to last byte) and per run,
a size limit, no redirects, a capped ``Retry-After``, and one error line naming the URL for
every failure, whether of the request, its body or its decoding. A run that fails writes
nothing: the zone file stays as it was.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from urllib3.util.retry import Retry

from octodns_rancher.cli import main
from octodns_rancher.kubernetes import snapshot
from octodns_rancher.kubernetes.client import MAX_LINE, KubeClient, configuration
from octodns_rancher.kubernetes.model import ClusterError
from tests.support.kube_apiserver import KubeApiServer, service
from tests.support.misbehaving_kube import (
    INGRESSES,
    SERVICES,
    answer,
    cut_short,
    deep_list,
    gzip_bomb,
    kubeconfig,
    list_body,
    long_watch_line,
    nested,
    paged,
    same_continue_token,
    then,
)
from tests.support.misbehaving_server import (
    MisbehavingServer,
    hang,
    oversize,
    redirect,
    retry_after,
    status,
    trickle,
    trickling_connect_proxy,
)

H = "external-dns.alpha.kubernetes.io/hostname"
ZONE_BEFORE = "---\nbefore:\n  type: A\n  value: 192.0.2.1\n"
EVIL = service("x", "evil", ips=("203.0.113.66",), annotations={H: "evil.c1.example.com"})


@pytest.fixture
def srv() -> Iterator[MisbehavingServer]:
    """A server that answers the Ingress list (empty) and, by default, the Service list."""
    with MisbehavingServer() as s:
        s.on(SERVICES, answer(list_body([])))
        s.on(INGRESSES, answer(list_body([])))
        yield s


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    d = tmp_path / "zones"
    d.mkdir()
    (d / "example.com.yaml").write_text(ZONE_BEFORE)
    return d


def kube_client(
    srv: MisbehavingServer,
    tmp_path: Path,
    timeout: float = 2.0,
    retries: Retry | None = None,
    **limits: Any,
) -> KubeClient:
    """The client as the generator builds it, for ``srv`` (``limits``: ``deadline``,
    ``max_bytes``); ``retries`` None: none."""
    cfg = configuration(str(kubeconfig(srv, tmp_path)))
    cfg.retries = retries
    return KubeClient(cfg, timeout, **limits)


def generate(srv: MisbehavingServer, zones: Path, tmp_path: Path, *extra: str) -> int:
    path = kubeconfig(srv, tmp_path)
    return main(
        [
            "generate",
            "--zone",
            "example.com",
            "--zones-dir",
            str(zones),
            "--source",
            "kubernetes",
            "--cluster",
            "c1",
            "--kubeconfig",
            str(path),
            *extra,
        ]
    )


def the_error(code: int, caplog: pytest.LogCaptureFixture) -> str:
    """The one ERROR line of a failed run (exit 2, one line, no traceback)."""
    assert code == 2, caplog.text
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1, caplog.text
    assert "\n" not in errors[0] and "Traceback" not in caplog.text
    assert not errors[0].startswith("unexpected"), errors[0]
    return errors[0]


def unchanged(zones: Path) -> bool:
    return (zones / "example.com.yaml").read_text() == ZONE_BEFORE


def url_of(srv: MisbehavingServer, path: str = SERVICES) -> str:
    return re.escape(srv.url + path)


# -- 1. a list that never ends ---------------------------------------------------------------


def test_a_continue_token_seen_before_fails_the_list(srv, tmp_path):
    srv.on(SERVICES, same_continue_token([EVIL], give_up_after=20))
    with pytest.raises(ClusterError, match=rf"^{url_of(srv)}: .*continue token .* again"):
        kube_client(srv, tmp_path).list("services")
    assert srv.paths().count(SERVICES) == 2


def test_a_list_that_loops_writes_nothing(srv, zones, tmp_path, caplog):
    srv.on(SERVICES, same_continue_token([EVIL], give_up_after=20))
    error = the_error(generate(srv, zones, tmp_path), caplog)
    assert error == (
        f"{srv.url}{SERVICES}: the server sent the continue token 'SAME' again; the list would "
        "never end, refusing it"
    )
    assert srv.paths().count(SERVICES) == 2
    assert unchanged(zones)


# -- 2. deadlines ----------------------------------------------------------------------------


def test_a_trickled_page_is_cut_at_the_timeout(srv, tmp_path):
    """One byte every 50 ms never trips a read timeout of 0.5 s; the request's deadline
    (connection to last byte) does."""
    srv.on(SERVICES, trickle(list_body([EVIL]), interval=0.05))
    c = kube_client(srv, tmp_path, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(
        ClusterError,
        match=rf"^{url_of(srv)}: did not send its whole answer within 0.5 s \(the per-request",
    ):
        c.list("services")
    assert time.monotonic() - started < 1.5


def test_a_trickled_answer_fails_the_run_at_its_deadline(srv, zones, tmp_path, caplog):
    srv.on(SERVICES, trickle(list_body([EVIL]), interval=0.05))
    started = time.monotonic()
    code = generate(srv, zones, tmp_path, "--timeout", "0.5", "--deadline", "1.8")
    elapsed = time.monotonic() - started
    error = the_error(code, caplog)
    assert error.startswith(f"{srv.url}{SERVICES}: did not send its whole answer within 0.5 s")
    assert "no time left to retry within the run's deadline of 1.8 s" in error
    assert elapsed < 3
    assert srv.paths().count(SERVICES) == 2  # a retry after 0.5 s; the next (1 s) did not fit
    assert unchanged(zones)


def test_many_slow_pages_fail_the_run_at_its_deadline(srv, zones, tmp_path, caplog):
    """Each page comes within the timeout, but the list as a whole does not end within the
    run's deadline."""
    srv.on(SERVICES, paged(pages=20, interval=0.2))
    started = time.monotonic()
    code = generate(srv, zones, tmp_path, "--timeout", "1", "--deadline", "1.5")
    elapsed = time.monotonic() - started
    error = the_error(code, caplog)
    assert error.startswith(f"{srv.url}{SERVICES}: ")
    assert "the run's deadline of 1.5 s" in error
    assert elapsed < 3
    assert srv.paths().count(SERVICES) <= 9
    assert unchanged(zones)


def test_a_watch_whose_headers_never_come_is_cut_at_the_timeout(srv, tmp_path):
    srv.on(SERVICES, hang())
    c = kube_client(srv, tmp_path, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ClusterError, match=rf"^{url_of(srv)}: did not answer within 0.5 s"):
        list(c.watch("services", "1", timeout_seconds=30))
    assert time.monotonic() - started < 1.5


def test_a_watch_stream_outlives_the_request_timeout(tmp_path):
    """Only the connection and the headers of a watch are bound by the timeout: its events
    come for as long as the server keeps the stream open."""
    with KubeApiServer(bookmark_interval=0.2) as kube:
        path = tmp_path / "kc"
        path.write_text(json.dumps(kube.kubeconfig()))
        c = KubeClient(configuration(str(path)), 0.3)
        version = c.list("services").resource_version
        started = time.monotonic()
        events = list(c.watch("services", version, timeout_seconds=1))
        assert time.monotonic() - started >= 0.9
        assert [e["type"] for e in events].count("BOOKMARK") >= 3


# -- 3. size ---------------------------------------------------------------------------------


@pytest.mark.parametrize("announce", [True, False])
def test_an_oversize_page_is_refused_with_memory_bounded(srv, zones, tmp_path, caplog, announce):
    srv.on(SERVICES, oversize(256 * 1024**2, announce=announce))
    code = generate(srv, zones, tmp_path, "--max-answer-size", "1MiB")
    error = the_error(code, caplog)
    detail = "announces 268,435,456 bytes, more than" if announce else "is larger than"
    assert error == (
        f"{srv.url}{SERVICES}: the answer {detail} the limit of 1,048,576 bytes "
        "(--max-answer-size); refusing it"
    )
    assert srv.sent < 64 * 1024**2
    assert unchanged(zones)


def test_the_pages_of_one_list_count_together_against_the_limit(srv, tmp_path):
    """A list is one answer sent in pages: 3 pages of 400 KB pass a limit of 1 MiB."""
    pad = [service("a", f"s{i}", annotations={"pad": "x" * 1000}) for i in range(200)]
    pages = [list_body(pad, cont=f"p{i + 1}") for i in range(4)]
    assert 2 * len(pages[0]) < 1024**2 < 3 * len(pages[0])

    def send(h):
        page = int(h.path.rpartition("continue=p")[2] or 0) if "continue=" in h.path else 0
        answer(pages[page])(h)

    srv.on(SERVICES, send)
    c = kube_client(srv, tmp_path, max_bytes=1024**2)
    with pytest.raises(
        ClusterError, match=rf"^{url_of(srv)}: the list's pages together are larger"
    ):
        c.list("services")
    assert srv.paths().count(SERVICES) == 3


def test_an_unasked_gzip_answer_is_refused(srv, tmp_path):
    """1 MiB inflating to 1 GiB made 4 GB of memory: the client asks for identity and refuses
    an encoding it did not ask for, before inflating anything."""
    srv.on(SERVICES, gzip_bomb(64 * 1024**2))
    c = kube_client(srv, tmp_path)
    with pytest.raises(
        ClusterError,
        match=rf"^{url_of(srv)}: the answer is gzip-encoded \(Content-Encoding\), which was not "
        r"asked for \(Accept-Encoding: identity\); refusing it$",
    ):
        c.list("services")
    headers = next(h for _, p, h in srv.requests if p == SERVICES)
    assert headers.get("Accept-Encoding") == "identity"


def test_an_unasked_gzip_watch_is_refused(srv, tmp_path):
    srv.on(SERVICES, gzip_bomb(1024**2))
    with pytest.raises(ClusterError, match=rf"^{url_of(srv)}: the answer is gzip-encoded"):
        list(kube_client(srv, tmp_path).watch("services", "1", timeout_seconds=5))


def test_a_kubernetes_file_larger_than_the_limit_is_refused(zones, tmp_path, caplog):
    data = snapshot.KubeSnapshot([EVIL], []).to_json()
    path = tmp_path / "snap.json"
    path.write_bytes(json.dumps(data).encode() + b" " * 2 * 1024**2)
    args = ["generate", "--zone", "example.com", "--zones-dir", str(zones)]
    args += ["--source", "kubernetes", "--cluster", "c1", "--kubernetes-file", str(path)]
    error = the_error(main([*args, "--max-answer-size", "1MiB"]), caplog)
    assert error == (
        f"Kubernetes snapshot {path} is larger than the limit of 1,048,576 bytes "
        "(--max-answer-size, METADATA_MAX_SIZE)"
    )
    assert unchanged(zones)


# -- 4. redirects ----------------------------------------------------------------------------


def test_a_redirect_to_another_host_is_refused_and_its_list_never_read(
    srv, zones, tmp_path, caplog
):
    with MisbehavingServer() as other:
        other.on("*", answer(list_body([EVIL])))
        srv.on(SERVICES, redirect(302, f"{other.url}{SERVICES}"))
        error = the_error(generate(srv, zones, tmp_path), caplog)
        assert other.requests == []
    assert error == (
        f"{srv.url}{SERVICES}: redirected (302) to {other.url}{SERVICES}; an API server does "
        "not redirect a list or a watch, refusing to follow it"
    )
    assert unchanged(zones)


def test_a_redirect_within_the_server_is_refused_too(srv, tmp_path):
    srv.on(SERVICES, redirect(307, "/elsewhere"))
    srv.on("/elsewhere", answer(list_body([EVIL])))
    with pytest.raises(ClusterError, match=rf"^{url_of(srv)}: redirected \(307\) to {srv.url}/"):
        kube_client(srv, tmp_path).list("services")
    assert "/elsewhere" not in srv.paths()


# -- 5. Retry-After --------------------------------------------------------------------------


def test_retry_after_of_an_hour_is_capped_and_the_run_ends(srv, zones, tmp_path, caplog):
    srv.on(SERVICES, retry_after(3600))
    started = time.monotonic()
    error = the_error(generate(srv, zones, tmp_path, "--deadline", "3"), caplog)
    assert time.monotonic() - started < 2
    assert error.startswith(f"{srv.url}{SERVICES}: HTTP 503")
    assert error.endswith(
        "no time left to retry within the run's deadline of 3 s (the next try in 5 s: "
        "Retry-After 3600 s, capped at 5 s)"
    )
    assert srv.paths().count(SERVICES) == 1
    assert unchanged(zones)


def test_a_short_retry_after_is_honoured(srv, tmp_path):
    srv.on(SERVICES, then(retry_after(1, code=429), 1, answer(list_body([EVIL]))))
    c = kube_client(srv, tmp_path, retries=Retry(total=3, backoff_factor=0.01))
    started = time.monotonic()
    assert [o["metadata"]["name"] for o in c.list("services").items] == ["evil"]
    assert 0.9 <= time.monotonic() - started < 2
    assert srv.paths().count(SERVICES) == 2


def test_server_errors_are_retried_a_bounded_number_of_times(srv, tmp_path):
    srv.on(SERVICES, status(500, b'{"kind":"Status","message":"etcd is sad"}'))
    c = kube_client(srv, tmp_path, retries=Retry(total=2, backoff_factor=0.01))
    with pytest.raises(ClusterError, match=rf"^{url_of(srv)}: HTTP 500 etcd is sad$"):
        c.list("services")
    assert srv.paths().count(SERVICES) == 3


# -- 6. failures of the body and its decoding --------------------------------------------------


def test_a_body_cut_short_is_an_error_naming_the_url(srv, tmp_path):
    srv.on(SERVICES, cut_short())
    with pytest.raises(
        ClusterError, match=rf"^{url_of(srv)}: the list answer broke off: IncompleteRead"
    ):
        kube_client(srv, tmp_path).list("services")


def test_a_body_cut_short_is_retried(srv, tmp_path):
    srv.on(SERVICES, then(cut_short(), 1, answer(list_body([EVIL]))))
    c = kube_client(srv, tmp_path, retries=Retry(total=1, backoff_factor=0.01))
    assert len(c.list("services").items) == 1


@pytest.mark.parametrize("trim", [True, False])
def test_an_answer_nested_5000_deep_is_an_error_naming_the_url(srv, tmp_path, trim):
    srv.on(SERVICES, deep_list(5000))
    with pytest.raises(ClusterError, match=rf"^{url_of(srv)}: the answer is not valid JSON"):
        kube_client(srv, tmp_path).list("services", trim=trim)


def test_an_object_nested_1000_deep_in_a_field_not_read_is_read_by_a_run(srv, tmp_path):
    """Too deep for msgspec's recursion limit, not for orjson's: the item is decoded whole."""
    srv.on(SERVICES, deep_list(1000))
    items = kube_client(srv, tmp_path).list("services", trim=True).items
    assert [o["metadata"]["name"] for o in items] == ["deep"]


@pytest.mark.parametrize("depth", [1000, 5000])
def test_a_snapshot_file_nested_deep_is_read_or_named(tmp_path, depth):
    path = tmp_path / "snap.json"
    data = json.dumps(snapshot.KubeSnapshot([], []).to_json()).encode()
    path.write_bytes(data.replace(b'"items": []', b'"items": [' + nested(depth) + b"]", 1))
    if depth == 1000:
        assert [o["metadata"]["name"] for o in snapshot.load(path).services] == ["deep"]
        return
    with pytest.raises(ClusterError, match=rf"^Kubernetes snapshot {re.escape(str(path))} is not"):
        snapshot.load(path)


# -- 7. what a snapshot reads, it can write ----------------------------------------------------


def test_snapshot_refuses_at_read_an_object_nested_deeper_than_a_file_can_hold(
    srv, tmp_path, caplog
):
    srv.on(SERVICES, deep_list(300))
    out = tmp_path / "snap.json"
    kc = kubeconfig(srv, tmp_path)
    code = main(["snapshot", "--source", "kubernetes", "--kubeconfig", str(kc), "-o", str(out)])
    error = the_error(code, caplog)
    assert error == (
        f"{srv.url}{SERVICES}: object a/deep nests deeper than a snapshot file can hold "
        "(251 levels); refusing the answer"
    )
    assert not out.exists()


def test_snapshot_writes_an_object_as_deep_as_a_file_can_hold(srv, tmp_path):
    srv.on(SERVICES, deep_list(249))  # the object, its spec and 249 lists: 251 levels
    out = tmp_path / "snap.json"
    kc = kubeconfig(srv, tmp_path)
    assert (
        main(["snapshot", "--source", "kubernetes", "--kubeconfig", str(kc), "-o", str(out)]) == 0
    )
    assert [o["metadata"]["name"] for o in snapshot.load(out).services] == ["deep"]
    srv.on(SERVICES, deep_list(250))
    with pytest.raises(ClusterError, match="nests deeper than a snapshot file can hold"):
        snapshot.fetch(kube_client(srv, tmp_path))


# -- 8. watch lines --------------------------------------------------------------------------


def test_a_watch_event_longer_than_the_limit_is_refused_in_linear_time(srv, tmp_path):
    """The old buffer was copied on every 64 KiB piece: 100 MB took 17 s of CPU."""
    srv.on(SERVICES, long_watch_line(MAX_LINE + 8 * 1024**2))
    c = kube_client(srv, tmp_path, timeout=5)
    started = time.process_time()
    with pytest.raises(
        ClusterError, match=rf"^{url_of(srv)}: a watch event is larger than {MAX_LINE} bytes"
    ):
        list(c.watch("services", "1", timeout_seconds=30))
    assert time.process_time() - started < 2.5


def test_headers_with_digits_of_other_scripts(srv, tmp_path):
    """ "²".isdigit() is True, int("²") fails: such a Content-Length is no length, such a
    Retry-After no delay; neither may crash the run."""
    body = json.dumps({"kind": "ServiceList", "metadata": {"resourceVersion": "1"}, "items": []})
    srv.on(
        SERVICES, status(200, body.encode(), {"Content-Length": "\u00b2", "Connection": "close"})
    )
    assert kube_client(srv, tmp_path).list("services").items == []
    srv.on(SERVICES, retry_after("\u00b2"))
    with pytest.raises(ClusterError, match=r"HTTP 503"):
        kube_client(srv, tmp_path, retries=Retry(total=1, backoff_factor=0.01)).list("services")
    assert srv.paths().count(SERVICES) == 3


@pytest.fixture
def trickling_proxy() -> Iterator[str]:
    with trickling_connect_proxy() as url:
        yield url


def test_a_trickling_proxy_is_cut_at_the_request_deadline(
    srv, tmp_path, trickling_proxy, monkeypatch
):
    """HTTPS_PROXY (the official client's configuration reads it) at a proxy that trickles its
    answer to CONNECT: the per-request deadline covers the tunnel and the TLS handshake too."""
    monkeypatch.setenv("HTTPS_PROXY", trickling_proxy)
    path = kubeconfig(srv, tmp_path, server="https://kube.invalid:6443")
    cfg = configuration(str(path))
    cfg.retries = None
    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"within 1 s|did not answer"):
        KubeClient(cfg, 1.0, deadline=3.0).list("services")
    assert time.monotonic() - started < 3.0


def test_a_list_that_never_ends_is_refused_after_its_pages(srv, tmp_path):
    """Ever new continue tokens: the list ends at ``max_pages`` (10,000, 5 million objects),
    not at the run's deadline after a hundred thousand requests."""
    srv.on(SERVICES, paged(pages=10**6))
    c = kube_client(srv, tmp_path)
    c.max_pages = 30
    with pytest.raises(ClusterError, match="the list did not end after 30 pages of up to 500"):
        c.list("services")
    assert srv.paths().count(SERVICES) == 30


def test_a_token_file_ending_in_a_newline_works_and_a_broken_token_never_shows(
    srv, zones, tmp_path, caplog
):
    """A token file written with ``echo`` ends in a newline: client-go trims it (kubectl
    works), and so does this client. A token with a line break inside cannot be sent: one
    line says so, and the token itself never appears in a log line (nor on /healthz)."""
    token_file = tmp_path / "token"
    kc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "t", "cluster": {"server": srv.url}}],
        "users": [{"name": "t", "user": {"tokenFile": str(token_file)}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}],
        "current-context": "t",
    }
    path = tmp_path / "kc.json"
    path.write_text(json.dumps(kc))
    token_file.write_text("s3cr3t-token\n")
    cfg = configuration(str(path))
    assert KubeClient(cfg, 2.0).list("services").items == []
    sent = {k.lower(): v for k, v in srv.requests[-1][2].items()}
    assert sent["authorization"] == "Bearer s3cr3t-token"
    token_file.write_text("s3cr3t\ninjected: yes\n")
    args = ["generate", "--zone", "example.com", "--zones-dir", str(zones), "--source"]
    code = main([*args, "kubernetes", "--cluster", "c1", "--kubeconfig", str(path)])
    error = the_error(code, caplog)
    assert "the credentials hold a line break" in error, error
    assert "s3cr3t" not in caplog.text and "injected" not in caplog.text
    assert unchanged(zones)


def test_a_list_version_that_is_not_text_is_not_sent_back(srv, tmp_path):
    """A resourceVersion that is an object (a lying server) is not turned into text and sent
    back as the version to watch from."""
    body = json.dumps(
        {"kind": "ServiceList", "metadata": {"resourceVersion": {"x": 1}}, "items": []}
    ).encode()
    srv.on(SERVICES, answer(body))
    assert kube_client(srv, tmp_path).list("services").resource_version == ""
