"""publish: atomic, change-only writes and the summary of a change."""

from __future__ import annotations

import os

import yaml

from octodns_rancher import publish
from octodns_rancher.publish import summarize, write_atomic, write_if_changed, zone_entries
from octodns_rancher.records import DesiredRecord, ServiceRef
from octodns_rancher.render import render_octodns


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


# Reading zone texts back: the new text's content comes from its writer and an old text's
# unchanged entries from there too; whatever the shortcut, the result is a full parse's.


def parsed(text: str) -> dict:
    data = yaml.safe_load(text)
    return {str(k): publish._strip_annotation(v) for k, v in data.items()}


def records(moved: int, count: int = 40) -> list[DesiredRecord]:
    out = []
    for i in range(count):
        ips = tuple(f"10.0.{i}.{j + (1 if i < moved else 0)}" for j in range(1, 4))
        ref = ServiceRef("shop", f"svc{i}", f"uuid-{i}")
        out.append(DesiredRecord(f"svc{i}.shop.env", "A", 300, ips, ref))
    out.append(DesiredRecord("svc0.shop.env", "AAAA", 300, ("2001:db8::1",), ref))
    return out


def fresh_caches() -> None:
    publish._PARSED.clear()
    publish._BLOCKS.clear()
    publish._ENTRIES.clear()


def test_old_text_read_against_the_new_one_equals_a_full_parse():
    fresh_caches()
    old = render_octodns(records(moved=0), "example.com")
    fresh_caches()  # the old file comes from disk, written by an earlier run
    new = render_octodns(records(moved=4), "example.com")
    assert zone_entries(old) == parsed(old)
    assert zone_entries(new) == parsed(new)
    s = summarize(old, new)
    assert s.changed == sorted(f"svc{i}.shop.env" for i in range(4))
    assert not s.added and not s.removed


def test_hand_edited_texts_are_read_as_yaml_reads_them():
    fresh_caches()
    new = render_octodns(records(moved=0), "example.com")
    first = new.split("\nsvc1.shop.env:", 1)[0].split("---\n", 1)[1]
    variants = [
        "---\n# a comment first\n" + new[4:],
        new.replace("svc1.shop.env:\n", "# moved by hand\nsvc1.shop.env:\n"),
        new + "'quoted.shop.env':\n  type: A\n  value: 10.9.9.9\n",
        new + "flow.shop.env: {type: A, value: 10.9.9.8}\n",
        "--- {a.env: {type: A, value: 10.1.1.1}}\n",
        "---\n" + first + "\nanchor.env: &x\n  type: A\n  value: 10.2.2.2\nalias.env: *x\n",
        new.replace("svc2.shop.env:", "svc1.shop.env:"),  # a duplicate name: the last wins
    ]
    for text in variants:
        assert zone_entries(text) == parsed(text), text[:80]
