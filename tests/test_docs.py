"""docs: the CLI reference is generated from --help and must match it."""

from __future__ import annotations

from tests.conftest import ROOT, run


def test_cli_reference_is_current():
    proc = run(["python", str(ROOT / "scripts" / "gen_cli_docs.py"), "--check"], cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_readme_names_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert "./scripts/demo.sh" in readme and "./scripts/test.sh" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
