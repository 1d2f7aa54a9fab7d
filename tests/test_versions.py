"""`ecourt serve` refuses to start beside a library version it was not tested with."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from web.versions import Pin, UntestedVersion, check_tested_versions, exact_pins

ROOT = Path(__file__).resolve().parents[1]


def test_only_plain_exact_requirements_are_pins() -> None:
    requirements = [
        "aiortc==1.16.0",
        "aioice == 0.13.0",
        "aiohttp>=3.10.2",
        'pytest==8.0; extra == "dev"',
        "numpy",
    ]
    assert exact_pins(requirements) == (Pin("aiortc", "1.16.0"), Pin("aioice", "0.13.0"))


def test_the_installed_ecourt_pins_the_libraries_whose_internals_it_touches() -> None:
    pinned = {pin.name.lower() for pin in exact_pins(metadata.requires("ecourt") or ())}
    touched = {"aiortc", "aioice", "pylibsrtp", "pyopenssl", "av"}
    assert touched | {"python-socketio", "python-engineio"} <= pinned


def test_the_tested_versions_pass() -> None:
    check_tested_versions()


def test_another_version_is_refused_naming_the_library_and_both_versions() -> None:
    versions = {"aiortc": "1.16.0", "aioice": "0.9.0"}
    with pytest.raises(UntestedVersion) as refused:
        check_tested_versions(
            [Pin("aiortc", "1.16.0"), Pin("aioice", "0.13.0"), Pin("av", "18.1.0")],
            installed=versions.get,
        )
    message = str(refused.value)
    assert "aioice 0.9.0 (tested: 0.13.0)" in message
    assert "av missing (tested: 18.1.0)" in message
    assert "aiortc" not in message
    assert "\n" not in message


def test_serve_refuses_an_untested_aioice_with_one_line_and_starts_nothing(
    tmp_path: Path,
) -> None:
    # an older aioice's metadata, first on the path: what `pip install aioice==0.9.0` leaves
    metadata_dir = tmp_path / "site" / "aioice-0.9.0.dist-info"
    metadata_dir.mkdir(parents=True)
    (metadata_dir / "METADATA").write_text("Metadata-Version: 2.1\nName: aioice\nVersion: 0.9.0\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOURT_")}
    env |= {"PYTHONPATH": str(tmp_path / "site"), "ECOURT_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "web.cli", "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ecourt: error: untested_version: untested library versions: aioice 0.9.0 "
        "(tested: 0.13.0); install the locked ones (pip install --require-hashes -r "
        "requirements.lock)"
    ]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()
