"""source: the rancher-metadata client against a real HTTP server, and snapshot files."""

from __future__ import annotations

import json
import socket

import pytest

from octodns_rancher.errors import MetadataError
from octodns_rancher.source import MetadataClient, Snapshot, load_snapshot, save_snapshot
from tests.support.metadata_server import MetadataServer


def test_fetch_reads_the_environment_in_three_requests(metadata):
    snap = MetadataClient(metadata.url).fetch()
    assert snap.requests == 3
    assert metadata.paths() == [
        "/2016-07-29/self/stack",
        "/2016-07-29/services",
        "/2016-07-29/hosts",
    ]
    assert {accept for _, _, accept in metadata.requests} == {"application/json"}
    assert snap.self_stack["environment_name"] == "Production"
    assert len(snap.services) == 8 and len(snap.hosts) == 3


def test_fetch_with_known_environment_skips_self(metadata):
    snap = MetadataClient(metadata.url).fetch(environment_known=True)
    assert snap.requests == 2 and snap.self_stack is None
    assert "/2016-07-29/self/stack" not in metadata.paths()


def test_older_api_version_is_supported(metadata):
    snap = MetadataClient(metadata.url, api_version="2015-12-19").fetch()
    assert metadata.paths()[0] == "/2015-12-19/self/stack"
    assert any(s["name"] == "Grafana" for s in snap.services)


def test_unknown_api_version_is_refused():
    with pytest.raises(MetadataError, match="unsupported rancher-metadata API version"):
        MetadataClient("http://127.0.0.1:1", api_version="2015-07-25")


def test_lost_data_is_an_error_not_an_empty_environment(metadata):
    metadata.lose_data()
    with pytest.raises(MetadataError, match=r"answered 404 .*/self/stack: Invalid version"):
        MetadataClient(metadata.url).fetch()


def test_server_errors_are_retried_then_succeed(metadata):
    metadata.fail_status, metadata.fail_count = 503, 2
    snap = MetadataClient(metadata.url, backoff=0.01).fetch()
    assert len(snap.services) == 8
    assert metadata.paths()[:3] == ["/2016-07-29/self/stack"] * 3


def test_persistent_server_errors_give_up_with_the_url(metadata):
    metadata.fail_status = 500
    with pytest.raises(
        MetadataError, match=r"answered 500 for http://127\.0\.0\.1:\d+/2016-07-29/self/stack"
    ):
        MetadataClient(metadata.url, retries=2, backoff=0.01).fetch()
    assert len(metadata.requests) == 3  # the first try and two retries, then it stops


def test_unreachable_server_is_a_one_line_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(MetadataError, match="rancher-metadata unreachable at") as e:
            MetadataClient(f"http://127.0.0.1:{port}", retries=1, backoff=0.01).fetch()
    assert "\n" not in str(e.value)


def test_garbage_is_an_error(metadata):
    metadata.garbage = b"<html>502 Bad Gateway</html>"
    with pytest.raises(MetadataError, match="invalid JSON"):
        MetadataClient(metadata.url).fetch()


def test_json_labelled_text_plain_is_parsed(metadata):
    import requests

    resp = requests.get(
        f"{metadata.url}/2016-07-29/services", headers={"Accept": "application/json"}
    )
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert MetadataClient(metadata.url).get("services") == resp.json()


def test_version_long_poll_returns_new_version(metadata):
    client = MetadataClient(metadata.url)
    current = client.version()
    assert current == metadata.version
    import threading

    threading.Timer(0.2, metadata.reload).start()
    new = client.wait_for_change(current, max_wait=10)
    assert new != current and new == metadata.version


def test_snapshot_round_trip(tmp_path, metadata):
    snap = MetadataClient(metadata.url).fetch()
    path = tmp_path / "snap.json"
    save_snapshot(snap, path)
    loaded = load_snapshot(path)
    assert loaded == Snapshot(
        snap.api_version, snap.services, snap.hosts, snap.self_stack, str(path)
    )
    # Written deterministically: the same answers give the same bytes.
    again = tmp_path / "again.json"
    save_snapshot(snap, again)
    assert again.read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not valid JSON"),
        ("[]", "is not an octodns-rancher snapshot"),
        (json.dumps({"format": "octodns-rancher-snapshot/1", "hosts": []}), "has no 'services'"),
    ],
)
def test_bad_snapshot_files(tmp_path, content, message):
    path = tmp_path / "snap.json"
    path.write_text(content)
    with pytest.raises(MetadataError, match=message):
        load_snapshot(path)


def test_missing_snapshot_file(tmp_path):
    with pytest.raises(MetadataError, match="cannot read metadata file"):
        load_snapshot(tmp_path / "nope.json")


def test_server_serves_text_format_without_accept_header():
    import requests

    with MetadataServer() as srv:
        text = requests.get(f"{srv.url}/2016-07-29/hosts/0", headers={"Accept": "*/*"}).text
    assert "agent_ip" in text.splitlines()
