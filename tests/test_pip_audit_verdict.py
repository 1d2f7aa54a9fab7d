"""`make test`'s pip-audit step fails on a known vulnerability and skips, saying why, when
the vulnerability service cannot be reached."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

VERDICT = Path(__file__).resolve().parents[1] / "tools" / "pip_audit_verdict.py"


def run(tmp_path: Path, report: object, exit_code: int = 0) -> tuple[int, str]:
    (tmp_path / "report.json").write_text(report if isinstance(report, str) else json.dumps(report))
    (tmp_path / "errors.log").write_text("ConnectionError: no route to the service\n")
    done = subprocess.run(
        [
            sys.executable,
            VERDICT,
            tmp_path / "report.json",
            str(exit_code),
            tmp_path / "errors.log",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout


def test_a_known_vulnerability_fails_the_step(tmp_path: Path) -> None:
    report = {
        "dependencies": [
            {"name": "aiohttp", "version": "3.9.0", "vulns": [{"id": "GHSA-xxxx"}]},
            {"name": "yarl", "version": "1.9.0", "vulns": []},
        ]
    }
    code, out = run(tmp_path, report, exit_code=1)
    assert code == 1
    assert "aiohttp 3.9.0: GHSA-xxxx" in out


@pytest.mark.parametrize(
    "report",
    [
        {"dependencies": [{"name": "aiohttp", "version": "3.13.0", "skip_reason": "not found"}]},
        "",  # pip-audit could not reach the service at all and wrote nothing
    ],
)
def test_an_unreachable_vulnerability_service_skips_with_a_reason(
    tmp_path: Path, report: object
) -> None:
    code, out = run(tmp_path, report, exit_code=1)
    assert code == 0
    assert out.startswith("pip-audit: skipped:")


def test_a_clean_audit_passes_and_says_how_many_were_audited(tmp_path: Path) -> None:
    report = {"dependencies": [{"name": "aiohttp", "version": "3.13.0", "vulns": []}]}
    code, out = run(tmp_path, report)
    assert (code, out.strip()) == (
        0,
        "pip-audit: 1 dependencies audited, no known vulnerabilities (0 could not be audited)",
    )
