"""The console script and its subcommand discovery."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from decoupled_rcnn import cli


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: decoupled-rcnn" in out
    assert "check-install" in out


def test_console_script_is_installed():
    exe = shutil.which("decoupled-rcnn") or str(
        __import__("pathlib").Path(sys.executable).parent / "decoupled-rcnn"
    )
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "COMMAND" in result.stdout


def test_check_install_prints_versions(capsys):
    assert cli.main(["check-install"]) == 0
    out = capsys.readouterr().out
    assert "mmcv: 2.1.0 (ops compiled)" in out
