"""publish: atomic, change-only writes and the summary of a change."""

from __future__ import annotations

import os

from octodns_rancher.publish import summarize, write_atomic, write_if_changed


def test_write_if_changed_leaves_identical_file_alone(tmp_path):
    path = tmp_path / "zones" / "example.com.yaml"
    assert write_if_changed(path, "---\na: 1\n") is True
    os.utime(path, (1, 1))
    assert write_if_changed(path, "---\na: 1\n") is False
    assert path.stat().st_mtime == 1
    assert write_if_changed(path, "---\na: 2\n") is True
    assert path.read_text() == "---\na: 2\n"


def test_write_atomic_leaves_no_temporary_files_and_keeps_mode(tmp_path):
    path = tmp_path / "z.yaml"
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["z.yaml"]


def test_failed_write_keeps_old_file(tmp_path):
    path = tmp_path / "z.yaml"
    path.write_text("old")
    try:
        write_atomic(path, "\udcff not encodable")
    except UnicodeEncodeError:
        pass
    else:  # pragma: no cover - the text above cannot be encoded as UTF-8
        raise AssertionError("expected an encoding error")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["z.yaml"]


OLD = """---
a.env:
  ttl: 300
  type: A
  value: 192.0.2.1
b.env:
  octodns:
    rancher: {service: b}
  ttl: 300
  type: A
  value: 192.0.2.2
c.env:
  ttl: 300
  type: A
  value: 192.0.2.3
"""
NEW = """---
a.env:
  ttl: 300
  type: A
  value: 192.0.2.9
b.env:
  octodns:
    rancher: {service: renamed}
  ttl: 300
  type: A
  value: 192.0.2.2
d.env:
  ttl: 300
  type: A
  value: 192.0.2.4
"""


def test_summary_counts_dns_changes_only():
    s = summarize(OLD, NEW)
    assert (s.added, s.changed, s.removed) == (["d.env"], ["a.env"], ["c.env"])
    assert s.counts() == "1 added, 1 changed, 1 removed"
    assert s.lines() == ["  + d.env", "  ~ a.env", "  - c.env"]
    assert summarize(None, OLD).added == ["a.env", "b.env", "c.env"]
    assert summarize(OLD, OLD).empty


def test_summary_lines_are_capped():
    new = "---\n" + "".join(f"n{i}.env: {{type: A, value: 192.0.2.{i}}}\n" for i in range(15))
    lines = summarize(None, new).lines(limit=3)
    assert lines[-1] == "  + ... and 12 more" and len(lines) == 4
