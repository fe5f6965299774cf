"""One exit-code contract, walked class by class through the real command.

Exit 1 means only "``generate --check`` found a change". Every failure, of every command, ends
as exactly one line starting with ``ERROR``, exit code 2, no traceback, and every file that
was there before (the zone file above all) byte for byte and mtime as it was.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import _CLEAR_ENV, BIN, GOLDEN

SNAPSHOT = Path(__file__).resolve().parent.parent / "config" / "metadata-snapshot.json"
Setup = Callable[[Path], None]


@dataclass
class Case:
    args: list[str]
    setup: Setup | None = None
    env: dict[str, str] = field(default_factory=dict)
    fsize: int | None = None  # RLIMIT_FSIZE for the command: a disk that takes no more bytes
    message: str = ""  # a part of the ERROR line


def gen(*extra: str) -> list[str]:
    return [
        "generate",
        "--metadata-file",
        "snap.json",
        "--zone",
        "example.com",
        "--zones-dir",
        "zones",
        *extra,
    ]


def zone(content: bytes | str) -> Setup:
    def setup(d: Path) -> None:
        data = content.encode() if isinstance(content, str) else content
        (d / "zones" / "example.com.yaml").write_bytes(data)

    return setup


def tf(content: str) -> Setup:
    def setup(d: Path) -> None:
        (d / "zones" / "example.com.tf.json").write_text(content)

    return setup


def config(text: str) -> Setup:
    def setup(d: Path) -> None:
        (d / "gen.yaml").write_text(text)

    return setup


def replace_zones_dir_with_a_file(d: Path) -> None:
    (d / "zones" / "example.com.yaml").unlink()
    (d / "zones").rmdir()
    (d / "zones").write_text("not a directory\n")


def zone_path_is_a_directory(d: Path) -> None:
    (d / "zones" / "example.com.yaml").unlink()
    (d / "zones" / "example.com.yaml").mkdir()


def fifo(d: Path) -> None:
    os.mkfifo(d / "fifo")


def big_file(d: Path) -> None:
    with (d / "big.json").open("wb") as f:
        f.truncate(600 * 1024 * 1024)  # sparse: 600 MiB that take no room on disk


def output_dir(d: Path) -> None:
    (d / "out").mkdir()


UNREACHABLE = "http://user:secret@127.0.0.1:9"  # the discard port: nothing listens there

CASES: dict[str, Case] = {
    # Existing output files that cannot be read as what they claim to be.
    "zone not YAML": Case(gen(), zone("a: [\n"), message="is not valid YAML"),
    "zone not YAML, --check": Case(gen("--check"), zone("a: [\n"), message="not valid YAML"),
    "zone not UTF-8": Case(gen(), zone(b"\xff\xfe: x\n"), message="is not UTF-8 text"),
    "zone not UTF-8, --check": Case(gen("--check"), zone(b"\xff\n"), message="not UTF-8"),
    "zone a YAML list": Case(gen(), zone("- a\n- b\n"), message="not a mapping of names"),
    "zones dir a file": Case(
        gen(), replace_zones_dir_with_a_file, message="zones is not a directory"
    ),
    "zone path a directory": Case(gen(), zone_path_is_a_directory, message="is a directory"),
    "tf.json resource 5": Case(
        gen("--format", "all"), tf('{"resource": 5}'), message="'resource' is not an object"
    ),
    "tf.json a list": Case(gen("--format", "all"), tf("[1]"), message="not a JSON object"),
    "tf.json not JSON": Case(gen("--format", "all"), tf("{"), message="not valid JSON"),
    "tf.json records not objects": Case(
        gen("--format", "terraform"),
        tf('{"resource": {"aws_route53_record": {"a": 5}}}'),
        message="not an object of objects",
    ),
    # A disk that takes no more bytes when the lock file is written.
    "lock file on a full disk": Case(gen(), fsize=0, message="cannot write lock file"),
    # Settings of the wrong value or type.
    "--timeout 0": Case(gen("--timeout", "0"), message="invalid --timeout"),
    "--timeout nan": Case(gen("--timeout", "nan"), message="invalid --timeout"),
    "METADATA_TIMEOUT=soon": Case(gen(), env={"METADATA_TIMEOUT": "soon"}, message="soon"),
    "--deadline 0": Case(gen("--deadline", "0"), message="invalid --deadline"),
    "--max-answer-size 0": Case(gen("--max-answer-size", "0"), message="--max-answer-size"),
    "--max-answer-size 1XB": Case(gen("--max-answer-size", "1XB"), message="such as 512MiB"),
    "--ttl abc": Case(gen("--ttl", "abc"), message="invalid int value"),
    "unknown flag": Case(gen("--frobnicate"), message="unrecognized arguments"),
    "no command": Case([], message="required: COMMAND"),
    "OUTPUT_FORMAT=xml": Case(gen(), env={"OUTPUT_FORMAT": "xml"}, message="output format"),
    "FORCE_REMOVALS=maybe": Case(gen(), env={"FORCE_REMOVALS": "maybe"}, message="maybe"),
    "config zone: 5": Case(
        ["generate", "--metadata-file", "snap.json", "--config", "gen.yaml"],
        config("zone: 5\n"),
        message="invalid zone 5",
    ),
    "config name_template: 5": Case(
        gen("--config", "gen.yaml"), config("name_template: 5\n"), message="name_template 5"
    ),
    "config zones_dir: [a]": Case(
        [
            "generate",
            "--metadata-file",
            "snap.json",
            "--zone",
            "example.com",
            "--config",
            "gen.yaml",
        ],
        config("zones_dir: [a]\n"),
        message="invalid zones_dir ['a']",
    ),
    "config ttl: [1]": Case(gen("--config", "gen.yaml"), config("ttl: [1]\n"), message="TTL"),
    "config timeout: x": Case(
        gen("--config", "gen.yaml"), config("timeout: x\n"), message="invalid --timeout"
    ),
    "config a list": Case(gen("--config", "gen.yaml"), config("- a\n"), message="mapping"),
    "config not YAML": Case(gen("--config", "gen.yaml"), config("a: [\n"), message="YAML"),
    # Metadata that cannot be read.
    "metadata file /dev/zero": Case(
        [
            "generate",
            "--metadata-file",
            "/dev/zero",
            "--zone",
            "example.com",
            "--zones-dir",
            "zones",
        ],
        message="not a regular file or a pipe",
    ),
    "metadata file a FIFO nobody writes": Case(
        [
            "generate",
            "--metadata-file",
            "fifo",
            "--zone",
            "example.com",
            "--zones-dir",
            "zones",
            "--deadline",
            "0.5",
        ],
        fifo,
        message="the pipe did not end within 0.5 s",
    ),
    "metadata file of 600 MiB": Case(
        [
            "generate",
            "--metadata-file",
            "big.json",
            "--zone",
            "example.com",
            "--zones-dir",
            "zones",
        ],
        big_file,
        message="larger than the limit of 536,870,912 bytes",
    ),
    "metadata file a directory": Case(
        ["generate", "--metadata-file", "zones", "--zone", "example.com", "--zones-dir", "zones"],
        message="is a directory",
    ),
    "metadata file missing": Case(
        ["generate", "--metadata-file", "nope.json", "--zone", "example.com"],
        message="No such file",
    ),
    "metadata unreachable": Case(
        [
            "generate",
            "--metadata-url",
            UNREACHABLE,
            "--zone",
            "example.com",
            "--zones-dir",
            "zones",
        ],
        message="unreachable at http://***@127.0.0.1:9/2016-07-29/self/stack: Connection refused",
    ),
    # snapshot
    "snapshot unreachable": Case(
        ["snapshot", "--metadata-url", UNREACHABLE, "-o", "out.json"], message="Connection refused"
    ),
    "snapshot --timeout 0": Case(["snapshot", "--timeout", "0", "-o", "o.json"], message="0"),
    # watch, at start-up
    "watch METADATA_FILE": Case(
        ["watch", "--zone", "example.com", "--listen", "off"],
        env={"METADATA_FILE": "snap.json"},
        message="cannot be watched",
    ),
    "watch --timeout 0": Case(
        ["watch", "--zone", "example.com", "--timeout", "0"], message="invalid --timeout"
    ),
    "watch QUIET_PERIOD=soon": Case(
        ["watch", "--zone", "example.com"], env={"QUIET_PERIOD": "soon"}, message="soon"
    ),
    "watch WATCH_MODE=push": Case(
        ["watch", "--zone", "example.com"], env={"WATCH_MODE": "push"}, message="WATCH_MODE 'push'"
    ),
    # writeback
    "writeback without keys": Case(
        [
            "writeback",
            "--zone",
            "example.com",
            "--cattle-url",
            UNREACHABLE.replace("user:secret@", ""),
        ],
        message="CATTLE_ACCESS_KEY and CATTLE_SECRET_KEY are not set",
    ),
    "writeback zone not YAML": Case(
        ["writeback", "--zone", "example.com", "--anonymous", "--cattle-url", UNREACHABLE],
        zone("a: [\n"),
        message="is not valid YAML",
    ),
    "writeback zone not UTF-8": Case(
        ["writeback", "--zone", "example.com", "--anonymous", "--cattle-url", UNREACHABLE],
        zone(b"\xff\n"),
        message="is not UTF-8 text",
    ),
    "writeback --timeout 0": Case(
        [
            "writeback",
            "--zone",
            "example.com",
            "--anonymous",
            "--cattle-url",
            UNREACHABLE,
            "--timeout",
            "0",
        ],
        message="invalid timeout 0",
    ),
    "writeback --strict, Rancher unreachable": Case(
        [
            "writeback",
            "--zone",
            "example.com",
            "--anonymous",
            "--cattle-url",
            UNREACHABLE,
            "--strict",
            "--retries",
            "0",
        ],
        message="write-back: 0 sent, 6 failed (--strict)",
    ),
    # init and iam-policy
    "init into a directory": Case(
        ["init", "--zone", "example.com", "--environment", "p", "-o", "out", "--force"],
        output_dir,
        message="is a directory",
    ),
    "init no zone": Case(["init", "--environment", "p", "-o", "x.yaml"], message="no zone"),
    "iam-policy bad id": Case(
        ["iam-policy", "--hosted-zone-id", 'Z"1'], message="invalid hosted zone id"
    ),
    "bind-policy bad key name": Case(
        ["bind-policy", "--zone", "example.com", "--environment", "p", "--key-name", 'k"; };'],
        message="invalid TSIG key name",
    ),
    "bind-policy no environment": Case(
        ["bind-policy", "--zone", "example.com"], message="no environment given"
    ),
    "migrate without a config": Case(
        ["migrate", "--config-file", "nope.yaml"], message="nope.yaml not found"
    ),
    "migrate config not YAML": Case(
        ["migrate", "--config-file", "gen.yaml"], config("a: [\n"), message="cannot load"
    ),
    "snapshot into a directory": Case(
        ["snapshot", "--metadata-url", UNREACHABLE, "-o", "out"], output_dir, message="Connection"
    ),
}


def files(d: Path) -> dict[str, tuple[bytes, int]]:
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_file() and p.name != ".zones.lock":
            out[str(p.relative_to(d))] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


@dataclass
class Outcome:
    proc: subprocess.CompletedProcess[str]
    before: dict[str, tuple[bytes, int]]
    after: dict[str, tuple[bytes, int]]


def run_case(d: Path, case: Case) -> Outcome:
    (d / "zones").mkdir(parents=True)
    (d / "zones" / "example.com.yaml").write_text(GOLDEN.read_text())
    (d / "snap.json").write_text(SNAPSHOT.read_text())
    if case.setup:
        case.setup(d)
    before = files(d)
    env = {k: v for k, v in os.environ.items() if k not in _CLEAR_ENV}
    env = {k: v for k, v in env.items() if not k.startswith("CATTLE_")}
    env.update(case.env)
    limit = case.fsize

    def preexec() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    cmd = [str(BIN / "octodns-rancher"), *case.args]
    try:
        proc = subprocess.run(
            cmd,
            cwd=d,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            preexec_fn=preexec,
        )
    except subprocess.TimeoutExpired:
        proc = subprocess.CompletedProcess(cmd, -1, "", "still running after 60 s; killed")
    return Outcome(proc, before, files(d))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case run once, a few at a time (each is a process of its own)."""
    base = tmp_path_factory.mktemp("exit-codes")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(run_case, base / f"case{i}", case)
            for i, (name, case) in enumerate(CASES.items())
        }
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_every_failure_is_one_error_line_and_exit_2(
    outcomes: dict[str, Outcome], name: str
) -> None:
    out, case = outcomes[name], CASES[name]
    proc = out.proc
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert proc.returncode == 2, proc.stderr
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert case.message in errors[0]
    assert "secret" not in proc.stderr
    assert out.after == out.before


def test_json_logs_keep_the_contract(tmp_path: Path) -> None:
    """With --log-format json, the one ERROR is one JSON object, and nothing else is printed."""
    (tmp_path / "zones").mkdir()
    (tmp_path / "zones" / "example.com.yaml").write_text("a: [\n")
    (tmp_path / "snap.json").write_text(SNAPSHOT.read_text())
    env = {k: v for k, v in os.environ.items() if k not in _CLEAR_ENV}
    proc = subprocess.run(
        [str(BIN / "octodns-rancher"), "--log-format", "json", *gen()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = [json.loads(line) for line in proc.stderr.splitlines()]
    assert [line["level"] for line in lines] == ["ERROR"]
    assert "is not valid YAML" in lines[0]["message"]
