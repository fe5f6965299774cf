"""lock: one run at a time per zones directory; and a run killed while writing harms nothing.

Lock holders and killed writers are real child processes; the runs that meet them are the
installed ``octodns-rancher`` command against the real rancher-metadata server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from octodns_rancher.lock import LockBusyError, lock_path, remove_stale_temp_files, run_lock
from tests.conftest import BIN, ROOT, generate_args, run

# Holds the lock of argv[1] until its stdin closes; says LOCKED once it has it.
HOLDER = """
import sys
from pathlib import Path
from octodns_rancher.lock import run_lock
with run_lock(Path(sys.argv[1])):
    print("LOCKED", flush=True)
    sys.stdin.read()
"""

# Writes a large zone file through publish.write_atomic once told to go.
WRITER = """
import resource, signal, sys
from pathlib import Path
from octodns_rancher.publish import write_atomic
size, fsize_limit = int(sys.argv[2]), int(sys.argv[3])
text = ("# " + "x" * 1021 + "\\n") * (size // 1024)
if fsize_limit:
    # Python ignores SIGXFSZ; restore the default so the kernel kills us at the limit.
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))
print("READY", flush=True)
sys.stdin.readline()
write_atomic(Path(sys.argv[1]), text)
print("DONE", flush=True)
"""


_CHILDREN: list[subprocess.Popen[str]] = []


def child(script: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    _CHILDREN.append(proc)
    return proc


@pytest.fixture(autouse=True)
def _reap_children():
    """No child outlives its test, and every pipe is closed."""
    yield
    while _CHILDREN:
        proc = _CHILDREN.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            pipe.close()


def generate_cmd(metadata, zones: Path, *extra: str) -> list[str]:
    return ["octodns-rancher", *generate_args(metadata.url, zones, *extra)]


@pytest.fixture
def holder(tmp_path):
    """A child process holding the lock of tmp_path/zones; closes its stdin to release."""
    zones = tmp_path / "zones"
    proc = child(HOLDER, str(zones))
    assert proc.stdout.readline().strip() == "LOCKED", proc.stderr.read()
    return proc


def test_lock_file_lies_beside_the_zones_directory(metadata, tmp_path):
    zones = tmp_path / "zones"
    assert lock_path(zones) == tmp_path / ".zones.lock"
    assert lock_path(Path("zones")) == Path.cwd() / ".zones.lock"
    run(generate_cmd(metadata, zones), check=True)
    assert sorted(p.name for p in zones.iterdir()) == ["example.com.yaml"]
    assert (tmp_path / ".zones.lock").exists()


def test_busy_lock_names_the_holder_and_writes_nothing(metadata, tmp_path, holder):
    zones = tmp_path / "zones"
    zones.mkdir(exist_ok=True)
    proc = run(generate_cmd(metadata, zones))
    assert proc.returncode == 2
    assert (
        f"{tmp_path / '.zones.lock'} is held by another run (pid {holder.pid}); nothing was "
        "written (pass --lock-wait SECONDS to wait for it)"
    ) in proc.stderr
    assert list(zones.iterdir()) == []
    assert metadata.requests == []  # refused before reading anything


def test_lock_wait_waits_for_the_holder(metadata, tmp_path, holder):
    zones = tmp_path / "zones"
    waiting = subprocess.Popen(
        [str(BIN / "octodns-rancher"), *generate_cmd(metadata, zones, "--lock-wait", "30")[1:]],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    assert waiting.poll() is None  # still waiting
    assert not (zones / "example.com.yaml").exists()
    holder.stdin.close()  # release
    _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert f"is held by pid {holder.pid}; waiting up to 30 s" in err
    assert (zones / "example.com.yaml").exists()


def test_lock_wait_gives_up(metadata, tmp_path, holder):
    start = time.monotonic()
    proc = run(generate_cmd(metadata, tmp_path / "zones", "--lock-wait", "0.5"))
    assert proc.returncode == 2
    assert time.monotonic() - start >= 0.5
    assert f"(pid {holder.pid}) after waiting 0.5 s" in proc.stderr


def test_a_killed_holder_releases_the_lock(metadata, tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert (tmp_path / ".zones.lock").read_text().strip() == str(holder.pid)  # stale pid left
    proc = run(generate_cmd(metadata, tmp_path / "zones"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "zones" / "example.com.yaml").exists()


def test_the_lock_excludes_other_holders_in_one_process(tmp_path):
    zones = tmp_path / "zones"
    with run_lock(zones), pytest.raises(LockBusyError, match=f"pid {os.getpid()}"), run_lock(zones):
        pass
    with run_lock(tmp_path / "zones"):  # released: free again
        pass


def test_concurrent_runs_take_turns(metadata, tmp_path):
    """Started together, each run reads the file the previous one wrote: one writes, the rest
    find it up to date. Interleaved runs would all have read 'no file' and all written."""
    zones = tmp_path / "zones"
    procs = [
        subprocess.Popen(
            [str(BIN / "octodns-rancher"), *generate_cmd(metadata, zones, "--lock-wait", "60")[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errs
    path = zones / "example.com.yaml"
    assert sum(f"wrote {path}" in e for e in errs) == 1, errs
    assert sum(f"{path} unchanged; not written" in e for e in errs) == 3, errs


# -- a run killed in the middle of writing -----------------------------------------------------


def _old_zone(metadata, tmp_path) -> tuple[Path, bytes]:
    zones = tmp_path / "zones"
    run(generate_cmd(metadata, zones), check=True)
    path = zones / "example.com.yaml"
    return path, path.read_bytes()


def _temp_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def _next_run_cleans_up(metadata, path: Path, old: bytes) -> None:
    """The next run is not disturbed by the leftover, removes it, and the zone is right."""
    leftover = _temp_files(path)
    proc = run(generate_cmd(metadata, path.parent, "-v"))
    assert proc.returncode == 0, proc.stderr
    assert f"removed {leftover[0]}, left by an interrupted run" in proc.stderr
    assert _temp_files(path) == []
    assert path.read_bytes() == old
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_sigkill_while_writing_leaves_the_old_file(metadata, tmp_path):
    path, old = _old_zone(metadata, tmp_path)
    size = 32 << 20
    for _attempt in range(3):
        writer = child(WRITER, str(path), str(size), "0")
        assert writer.stdout.readline().strip() == "READY"
        writer.stdin.write("go\n")
        writer.stdin.flush()
        written = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and writer.poll() is None:
            tmps = _temp_files(path)
            try:
                written = tmps[0].stat().st_size if tmps else 0
            except FileNotFoundError:
                written = 0
            if written:
                writer.send_signal(signal.SIGKILL)
                break
        writer.wait(timeout=30)
        if writer.returncode == -signal.SIGKILL and _temp_files(path):
            break
        # Too fast for us this time: the new file is complete; start again from the old one.
        path.write_bytes(old)
        size *= 2
    else:
        pytest.fail("could not catch the writer in the middle of its write")
    assert path.read_bytes() == old  # the reader's view: the old file, whole
    (partial,) = _temp_files(path)
    # Killed once data was in the temporary file and before the rename (almost always in the
    # middle of the data; on a very busy machine possibly during the fsync after it).
    assert 0 < partial.stat().st_size <= size
    _next_run_cleans_up(metadata, path, old)


def test_killed_by_the_kernel_mid_write_leaves_the_old_file(metadata, tmp_path):
    """RLIMIT_FSIZE makes the kernel kill the writer (SIGXFSZ) at exactly 1 MiB into the data."""
    path, old = _old_zone(metadata, tmp_path)
    limit = 1 << 20
    writer = child(WRITER, str(path), str(8 << 20), str(limit))
    assert writer.stdout.readline().strip() == "READY"
    writer.stdin.write("go\n")
    writer.stdin.flush()
    writer.wait(timeout=60)
    assert writer.returncode == -signal.SIGXFSZ, writer.stderr.read()
    assert path.read_bytes() == old
    (partial,) = _temp_files(path)
    assert partial.stat().st_size == limit
    _next_run_cleans_up(metadata, path, old)


def test_cleanup_touches_only_temp_files_of_that_zone(tmp_path):
    zone = tmp_path / "example.com.yaml"
    keep = [zone, tmp_path / "example.org.yaml", tmp_path / ".example.org.yaml.abc.tmp"]
    for p in keep:
        p.write_text("x")
    stale = tmp_path / ".example.com.yaml.k3j2.tmp"
    stale.write_text("half")
    assert remove_stale_temp_files(zone) == [stale]
    assert sorted(tmp_path.iterdir()) == sorted(keep)
