"""One transaction boundary: the request's session dependency commits or rolls back, and
nothing else in request-handling code does."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
from fastapi.responses import HTMLResponse

from app.deps import get_session
from app.errors import Conflict, FieldError, InvalidInput, RedflagError
from app.web import FormRefused

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "alerts", "moderation")
# The boundary itself, and code that runs outside any request with transactions of its
# own: the CLI, migrations, and the delivery worker (a transaction per batch it claims).
ALLOWED = {
    "app/deps.py",
    "app/cli.py",
    "app/migrate.py",
    "alerts/delivery/worker.py",
}


def _calls_to_commit_or_rollback(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"commit", "rollback"}
    ]


def test_only_the_session_dependency_commits_or_rolls_back() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in ALLOWED
        for line in _calls_to_commit_or_rollback(path)
    ]
    assert found == [], (
        "commit()/rollback() outside app.deps.get_session: raise an error (keeps_writes "
        "where the writes must stay) or use app.web.refuse instead"
    )


def test_the_scan_sees_a_commit_where_there_is_one(tmp_path: Path) -> None:
    source = tmp_path / "route.py"
    source.write_text("def route(session):\n    session.add(1)\n    session.commit()\n")
    assert _calls_to_commit_or_rollback(source) == [3]


class Recorder:
    """Stands in for a Session: which of commit, rollback and close the boundary called."""

    calls: ClassVar[list[str]] = []

    def commit(self) -> None:
        self.calls.append("commit")

    def rollback(self) -> None:
        self.calls.append("rollback")

    def close(self) -> None:
        self.calls.append("close")


class WrongGuess(RedflagError):
    keeps_writes = True


def _boundary(raised: BaseException | None) -> list[str]:
    Recorder.calls = []
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(session_factory=Recorder)))
    dependency = get_session(request)  # type: ignore[arg-type]
    next(dependency)
    if raised is None:
        with pytest.raises(StopIteration):
            next(dependency)
    else:
        with pytest.raises(type(raised)):
            dependency.throw(raised)
    return Recorder.calls


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (None, ["commit", "close"]),
        (InvalidInput([FieldError(("code",), "wrong", "wrong code")]), ["rollback", "close"]),
        (Conflict("already decided"), ["rollback", "close"]),
        (RuntimeError("a bug"), ["rollback", "close"]),
        (WrongGuess("wrong code, counted"), ["commit", "close"]),
        (FormRefused(HTMLResponse("the form again")), ["rollback", "close"]),
        (FormRefused(HTMLResponse("wrong code"), keeps_writes=True), ["commit", "close"]),
    ],
    ids=["returns", "invalid", "conflict", "bug", "keeps-writes", "refused", "refused-kept"],
)
def test_the_boundary_commits_what_should_stay_and_rolls_back_the_rest(
    raised: BaseException | None, expected: list[str]
) -> None:
    assert _boundary(raised) == expected
