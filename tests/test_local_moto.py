"""scripts/local_moto.py: a local Route53 that octoDNS plans against, with no AWS account."""

from __future__ import annotations

import shlex
import signal
import subprocess

from tests.conftest import BIN, ROOT, run

SCRIPT = str(ROOT / "scripts" / "local_moto.py")


def test_without_a_command_it_prints_the_environment_and_serves_until_interrupted():
    proc = subprocess.Popen(
        [str(BIN / "python"), SCRIPT, "--zone", "example.com"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        env = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            assert line.startswith("export "), line
            key, _, value = line[len("export ") :].rstrip("\n").partition("=")
            env[key] = shlex.split(value)[0] if value else ""
            if key == "AWS_EC2_METADATA_DISABLED":
                break  # the last line
        assert env["AWS_ENDPOINT_URL_ROUTE_53"].startswith("http://127.0.0.1:")
        plan_script = str(ROOT / "scripts" / "octodns_plan.py")
        args = [str(BIN / "python"), plan_script, "plan", "--config-file", "config/octodns.yaml"]
        plan = run(args, cwd=ROOT, env=env)
        assert plan.returncode == 0, plan.stderr
        assert "**12 change(s)**: 12 create" in plan.stdout  # six records, six markers
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "hosted zone example.com: /hostedzone/" in err


def test_with_a_command_it_returns_the_commands_exit_code():
    proc = run([str(BIN / "python"), SCRIPT, "--", "sh", "-c", "exit 3"])
    assert proc.returncode == 3
    proc = run([str(BIN / "python"), SCRIPT, "--", "no-such-command-here"])
    assert proc.returncode == 2 and "no-such-command-here: command not found" in proc.stderr
