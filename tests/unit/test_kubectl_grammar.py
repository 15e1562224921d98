"""kubectl's grammar (issue 24, item 2): durations in Go's form everywhere (``5s``, ``1m30s``,
``500ms``; a bare number is seconds), ``-o=json``, ``-ojson``, ``-v=4``, ``--v=0``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from kplanediag.cli.group import kubectl_forms
from kplanediag.cli.options import duration

SILENCED = str(Path(__file__).parent / "data" / "lab-worker-silenced.json")


@pytest.mark.parametrize(
    ("text", "seconds"), [("5s", 5), ("1m30s", 90), ("500ms", 0.5), ("2", 2), ("1.5", 1.5), ("2h", 7200), (" 30s ", 30)]
)
def test_durations_as_kubectl_takes_them(text: str, seconds: float) -> None:
    assert duration(None, None, text) == seconds


@pytest.mark.parametrize("text", ["abc", "0", "0s", "-5s", "nan", "inf", "1e999", "25h", "5 s", ""])
def test_durations_that_are_not(text: str) -> None:
    with pytest.raises(click.BadParameter, match=r"is not a duration between 0\.1s and 24h"):
        duration(None, None, text)


def test_kubectl_forms() -> None:
    assert kubectl_forms(["check", "-o=json", "-v=4", "--v=0", "--", "-o=x"]) == [
        "check",
        "-o",
        "json",
        "-v",
        "--",
        "-o=x",
    ]
    assert kubectl_forms(["-v=abc"]) == ["-v=abc"]  # not a level: left to click, which says so


@pytest.mark.parametrize(
    "args",
    [
        ["check", "-o=json", "--request-timeout", "5s", "--deadline", "1m30s"],
        ["check", "-ojson", "--request-timeout=2"],
        ["-v=4", "check", "-o=json"],
        ["check", "--v=0", "-o", "json"],
    ],
)
def test_the_cli_reads_kubectl_spellings(args: list[str]) -> None:
    result = kpd(*args, "--from", SILENCED)
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["summary"]["status"] == "critical"


def test_wait_takes_kubectl_durations() -> None:
    result = kpd("wait", "--from", SILENCED, "--for", "no-critical", "--timeout", "1s", "--interval", "500ms")
    assert result.returncode == 2, result.stderr
    assert "not healthy after" in result.stderr or "no-critical" in result.stderr


def kpd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kplanediag", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_help_names_the_program_as_invoked() -> None:
    """Run as the kubectl plugin (argv[0] kubectl-planediag): help and usage say `kubectl planediag`."""
    code = "import sys; sys.argv[0] = '/usr/local/bin/kubectl-planediag'; from kplanediag.cli import main; main()"
    helped = subprocess.run(
        [sys.executable, "-c", code, "check", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert helped.stdout.startswith("Usage: kubectl planediag check"), helped.stdout[:200]
    assert kpd("check", "--help").stdout.startswith("Usage: kplanediag check")


ERROR_CASES = [
    (("check", "--bogus"), "No such option '--bogus'", "See 'kplanediag check --help' for usage."),
    (("check", "--request-timeout", "abc"), "'abc' is not a duration", "See 'kplanediag check --help' for usage."),
    (("nosuchcommand",), "No such command 'nosuchcommand'", "See 'kplanediag --help' for usage."),
    (("explain", "nosuch"), "'nosuch' is neither a component", None),
    (("check", "--kubeconfig", "/nonexistent/kubeconfig"), "cannot use kubeconfig /nonexistent/kubeconfig", None),
]


@pytest.mark.parametrize(("args", "says", "hint"), ERROR_CASES)
def test_errors_in_one_format(args: tuple[str, ...], says: str, hint: str | None) -> None:
    """Usage errors, bad values, unknown commands and what cannot be read: one line
    `kplanediag: error: ...` (a usage error adds where the help is), exit 3, nothing on stdout."""
    result = kpd(*args)
    assert result.returncode == 3, result
    lines = result.stderr.splitlines()
    assert lines[0].startswith("kplanediag: error: ") and says in lines[0], result.stderr
    assert lines[1:] == ([hint] if hint else []), result.stderr
    assert result.stdout == ""


def test_a_parser_message_of_several_lines_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("garbage: [\n")
    result = kpd("check", "--from", str(bad))
    assert result.returncode == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"kplanediag: error: {bad} is not JSON or YAML: ") and "; " in line, line


def test_errors_name_the_program_as_invoked() -> None:
    code = "import sys; sys.argv[0] = '/usr/local/bin/kubectl-planediag'; from kplanediag.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "check", "--bogus"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        "kubectl planediag: error: No such option '--bogus'. Did you mean '--verbose'?",
        "See 'kubectl planediag check --help' for usage.",
    ]
