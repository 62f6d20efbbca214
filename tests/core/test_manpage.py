"""Man pages from the declarations, linted with man-db's own tools."""

import shutil
import subprocess

import pytest
from core_paths import PYTHON, ROOT, SERVICE, SWITCH, test_agent
from ocfkit import manpage

pytestmark = pytest.mark.skipif(not (shutil.which("man") and shutil.which("lexgrog")),
                                reason="man-db not installed")


def lint(path):
    """Warnings of `man --warnings -l` (groff -w mac), rendered at a fixed width."""
    result = subprocess.run(["man", "--warnings", "-l", str(path)], capture_output=True,
                            text=True, env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin",
                                            "LC_ALL": "C.UTF-8"}, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stderr, result.stdout


def cli_manpage(path, tmp_path, section):
    result = subprocess.run([PYTHON, "-m", "ocfkit", "manpage", path], capture_output=True,
                            text=True, cwd=ROOT, check=True)
    page = tmp_path / f"page.{section}"
    page.write_text(result.stdout)
    return page


@pytest.mark.parametrize("agent,section,name", [
    (SERVICE, 7, "ocf_ocfkit_ExampleService - Example: a file-backed service."),
    (test_agent("PromotableFile"), 7,
     "ocf_ocfkit_PromotableFile - Test: a promotable resource backed by a file."),
    (SWITCH, 8, "fence_ocfkit_example - Example: power switch backed by files."),
])
def test_generated_pages_are_clean(tmp_path, agent, section, name):
    page = cli_manpage(agent, tmp_path, section)
    warnings, text = lint(page)
    assert warnings == ""
    assert "SUPPORTED PARAMETERS" in text or "OPTIONS" in text
    listed = subprocess.run(["lexgrog", str(page)], capture_output=True, text=True)
    assert listed.returncode == 0 and f'"{name}"' in listed.stdout


def test_fence_manpage_action_is_the_same_page(tmp_path):
    page = cli_manpage(SWITCH, tmp_path, 8)
    action = subprocess.run([SWITCH, "-o", "manpage"], capture_output=True, text=True,
                            check=True, env={"SOURCE_DATE_EPOCH": "0"})
    assert action.stdout.splitlines()[1:] == page.read_text().splitlines()[1:]


def test_hostile_text_cannot_inject_requests(tmp_path):
    page = tmp_path / "x.7"
    page.write_text(manpage.render(
        "ocf_t_X", 7, ".BOGUS summary", "'quote first\n.SH FAKE\nback\\slash -dash",
        [("Things", [(".TP", ".so /etc/passwd"), (None, "\\fBbold")])], "1.0", date="2026"))
    warnings, text = lint(page)
    assert warnings == ""
    assert ".so /etc/passwd" in text and "back\\slash" in text
    assert "FAKE" in text  # shown as text, not a section


def test_the_lint_does_catch_a_broken_page(tmp_path):
    page = tmp_path / "bad.7"
    page.write_text('.TH "BAD" "7"\n.SH NAME\nbad \\- page\n.SH DESCRIPTION\n.BOGUS x\n')
    warnings, _ = lint(page)
    assert "macro 'BOGUS' not defined" in warnings


def test_reproducible_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    text = manpage.render("x", 7, "s", "d", [], "1", date=None)
    assert text.splitlines()[0] == '.TH "X" "7" "1970-01-02" "ocfkit 1" "ocfkit manual"'
