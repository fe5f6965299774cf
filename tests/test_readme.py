"""README.md: every command marked ``<!-- offline -->`` runs, in order, on a fresh copy.

A marked command is the fenced ``sh`` block right after the marker. The copy holds the tracked
files as they are in the working tree (a fresh clone, plus any edits not committed yet) and
links the virtual environment the tests run in, as ``./scripts/demo.sh`` would have set it up
(a new one takes minutes and the network). The commands run with nothing of the developer's
environment but ``PATH``: no AWS or Rancher settings, no metadata server.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

MARK = "<!-- offline -->"


def offline_blocks(text: str) -> list[str]:
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        start = next(j for j in range(i + 1, len(lines)) if lines[j].strip())
        assert lines[start] == "```sh", f"README.md:{i + 1}: {MARK} must precede a ```sh block"
        end = lines.index("```", start + 1)
        blocks.append("\n".join(lines[start + 1 : end]))
    return blocks


BLOCKS = offline_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_commands_a_new_user_runs_first_are_marked():
    text = "\n".join(BLOCKS)
    for command in (
        "./scripts/demo.sh",
        "scripts/local_moto.py --zone example.com",
        "--format terraform",
        "imports.tf",
    ):
        assert command in text, f"{command} is not in a block marked {MARK}"
    assert "metadata-url" not in text and "AWS_ACCESS_KEY_ID=" not in text


def fresh_copy(dest: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / name, follow_symlinks=False)
    # The copy shares this .venv. scripts/setup.sh (which the README's demo runs) reinstalls
    # the package, editable, from the directory it runs in when .venv was not set up for this
    # pyproject.toml; from the copy, that would point this .venv at a temporary directory.
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    if not (Path(sys.prefix) / f".installed-{digest}").exists():
        pytest.fail(
            f"{sys.prefix} was not set up for this pyproject.toml: run `bash scripts/setup.sh` "
            "first (the fresh copy shares .venv and must not reinstall the package in it)"
        )
    (dest / ".venv").symlink_to(Path(sys.prefix))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "fresh clone"]):
        subprocess.run(
            ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
            cwd=dest,
            check=True,
            capture_output=True,
        )
    return dest


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def test_offline_commands_run_on_a_fresh_clone(tmp_path, offline_env):
    copy = fresh_copy(tmp_path / "repo")
    # As the README says: after ./scripts/demo.sh, with .venv/bin on the PATH.
    env = {**offline_env, "PATH": f"{copy / '.venv' / 'bin'}{os.pathsep}{offline_env['PATH']}"}
    outputs = []
    for block in BLOCKS:
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, (
            f"{block}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
        assert "Traceback" not in proc.stderr, block
        outputs.append(proc.stdout)
    demo = next(out for block, out in zip(BLOCKS, outputs, strict=True) if "demo.sh" in block)
    assert "6 added, 0 changed, 0 removed" in demo and "Creates=12" in demo
    assert "   up to date" in demo
    assert (copy / "zones" / "example.com.tf.json").exists()
    assert (copy / "imports.tf").read_text().count("import {") == 6
    # Nothing committed was changed: the demo writes to build/, the rest beside the files.
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert changed == ""
