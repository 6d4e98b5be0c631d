"""docs/extending.md, kept honest: its code blocks are written into a copy of the project,
and the example provider's own sample, signed by its own signer, goes through the example
target, the real embedded queue and the example processor, in a process of its own. What
the blocks touched outside the two new packages is counted against what the page and the
README promise: one line in functions/ and the target's name twice in main.py for the
provider, one registration line for the processor."""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "extending.md"
BLOCK = re.compile(r"```(?:python|json)\n(.*?)```", re.S)
COPIED = ("shared", "functions", "runrun", "main.py")
NEW_PACKAGES = ("shared/providers/acme/", "shared/processors/audit/")
# Lines added or changed outside the new packages: the provider's target and its re-export,
# the processor's registration.
PROMISED = {"functions/webhooks.py": 1, "main.py": 2, "shared/processors/__init__.py": 1}

# Run in the copy: build Acme's sample as `runrun send` does (through the bundle's hooks),
# hand it to the example target, and wait (on the processor's own report, never on the
# clock) for the example processor to run. The deploy plan finds the target's secret on it.
SCENARIO = r"""
import json, threading
import flask
import main
from functions.processors import registry
from runrun import discover
from runrun.deploy._bundle import secrets_table
from shared import Observer, Runtime, install_runtime, reload_settings, stop_runtime

ran = threading.Event()
reports = []

class Runs(Observer):
    def run(self, report):
        reports.append(report)
        if report.processor == "audit":
            ran.set()

assert main.runrun_hooks.samples()["acme_webhook"] == ("order.paid",)
targets = {t.name: t for t in discover("main.py").targets}
assert secrets_table([targets["acme_webhook"]]) == {"acme_webhook": ("ACME_WEBHOOK_SECRET",)}
runtime = install_runtime(Runtime(reload_settings(), processors=registry, observers=[Runs()]))
runtime.start()
app = flask.Flask("extending")
answers = []
for bad in (False, True):
    sample = main.runrun_hooks.sample_request(
        "acme_webhook", "order.paid", "http://localhost/", bad_signature=bad
    )
    with app.test_request_context(
        "/", method=sample.method, data=sample.body, headers=dict(sample.headers)
    ):
        answers.append(main.acme_webhook(flask.request).status_code)
    order = json.loads(sample.body)["id"] if not bad else order
assert answers == [200, 401], answers
assert ran.wait(60), reports
audit = [r for r in reports if r.processor == "audit"]
assert [(r.outcome, r.note) for r in audit] == [("ran", f"audited {order}")], audit
document = runtime.documents("audit").get(order)
assert document == {"source": "acme_webhook", "event_type": "order.paid"}, document
stop_runtime()
print("extending: ok")
"""


def blocks() -> list[tuple[str, str, str]]:
    """(kind, path, text) of each marked block: kind "file" or "add"; text without the
    marker line (an "add" block's anchor is part of its path: `PATH after: ANCHOR`)."""
    found = []
    for text in BLOCK.findall(PAGE.read_text()):
        first, _, rest = text.partition("\n")
        marker = re.fullmatch(r"# (file|add to): (.+)", first.strip())
        if marker is not None:
            found.append(("file" if marker.group(1) == "file" else "add", marker.group(2), rest))
    return found


def apply(project: Path, kind: str, where: str, text: str) -> None:
    path, _, anchor = where.partition(" after: ")
    target = project / path
    if kind == "file":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return
    current = target.read_text()
    if anchor:
        assert anchor in current, f"{path} has no line {anchor!r} to add after"
        head, _, tail = current.partition(anchor + "\n")
        target.write_text(head + anchor + "\n" + text + tail)
    else:
        target.write_text(current + ("" if current.endswith("\n") else "\n") + text)


def test_the_readme_shows_the_pages_own_lines_and_links_it() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.partition("## Add a provider or a processor")[2].partition("\n## ")[0]
    assert "](docs/extending.md)" in section, "the README's section does not link the page"
    shown = re.findall(r"```python\n(.*?)```", section, re.S)
    applied = [text for _, _, text in blocks()]
    assert len(shown) == 2, shown
    for text in shown:
        # A block may open with the page's own placement line ("# add to: FILE after: ..."),
        # which says where the line goes and is not part of what is added.
        text = re.sub(r"\A# add to: [^\n]*\n", "", text)
        assert text in applied, f"the README shows {text!r}, which docs/extending.md does not add"


def test_the_page_has_a_provider_and_a_processor() -> None:
    paths = [where for _, where, _ in blocks()]
    assert "shared/providers/acme/__init__.py" in paths
    assert "shared/processors/audit/__init__.py" in paths
    assert "shared/providers/acme/samples/order.paid.json" in paths
    # The provider's target is one line in functions/.
    [target] = [text for _, where, text in blocks() if where == "functions/webhooks.py"]
    assert target.strip() == 'acme_webhook = webhook_target("acme")'


def build(project: Path) -> None:
    """A copy of the project with every block of the page applied."""
    ignore = shutil.ignore_patterns("__pycache__")
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, project / name, ignore=ignore)
        else:
            shutil.copy(ROOT / name, project / name)
    for kind, where, text in blocks():
        apply(project, kind, where, text)


def _files(top: Path) -> set[str]:
    return {
        path.relative_to(top).as_posix()
        for name in COPIED
        for path in ([top / name] if (top / name).is_file() else (top / name).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def touched(project: Path) -> tuple[set[str], dict[str, int]]:
    """The files the page added, and the lines it added or changed in each existing file."""
    before, after = _files(ROOT), _files(project)
    changed: dict[str, int] = {}
    for path in sorted(before & after):
        old, new = (ROOT / path).read_bytes(), (project / path).read_bytes()
        if old != new:
            diff = difflib.ndiff(old.decode().splitlines(), new.decode().splitlines())
            changed[path] = sum(line.startswith("+ ") for line in diff)
    return after - before, changed


def test_each_addition_touches_its_package_and_its_one_line_registration(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    build(project)
    added, changed = touched(project)
    assert added and all(path.startswith(NEW_PACKAGES) for path in added), sorted(added)
    assert changed == PROMISED


def test_the_worked_examples_receive_and_process_a_delivery(tmp_path: Path) -> None:
    project = tmp_path / "project"
    build(project)
    env = {
        "PATH": "/usr/bin:/bin",
        "ACME_WEBHOOK_SECRET": "s3cret",
        "RUNRUN_AUDIT_COLLECTION": "audit",
        "RUNRUN_STORE": "sqlite",
        "RUNRUN_QUEUE": "local",
        "RUNRUN_STATE_DIR": str(tmp_path / "state"),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "extending: ok" in done.stdout
