"""The redaction help against a corpus of reports written for it (tests/data/redaction_corpus.txt).

Each report marks the reporter's own details [[like this]] and the client's identifiers
{{kind:like this}}. A detail counts as found when a flag overlaps it; recall must be at
least 95 %, and no identifier of the client may be flagged as the reporter's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.identifiers import IdentifierKind, normalise
from moderation import redaction

CORPUS = Path(__file__).parent / "data" / "redaction_corpus.txt"
MARKUP = re.compile(r"\[\[(?P<own>.+?)\]\]|\{\{(?P<kind>\w+):(?P<client>.+?)\}\}")


@dataclass(frozen=True)
class Report:
    lang: str
    text: str
    own: list[tuple[int, int]]  # the reporter's details, as spans of text
    client: list[tuple[int, int]]  # the client's identifiers, as spans of text
    reported: set[tuple[str, str]]  # the client's identifiers, as the report's fields hold them


def parse(line: str) -> Report:
    lang, marked = line.split(" | ", 1)
    text, own, client, reported, position = "", [], [], set(), 0
    for m in MARKUP.finditer(marked):
        text += marked[position : m.start()]
        value = m["own"] or m["client"]
        (own if m["own"] else client).append((len(text), len(text) + len(value)))
        if m["kind"]:
            kind = IdentifierKind(m["kind"])
            reported.add((kind.value, normalise(kind, value, default_region="NL")))
        text += value
        position = m.end()
    return Report(lang, text + marked[position:], own, client, reported)


def corpus() -> list[Report]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [parse(line) for line in lines if line and not line.startswith("#")]


def overlapping(flags: list[redaction.Flag], span: tuple[int, int]) -> list[redaction.Flag]:
    return [f for f in flags if f.start < span[1] and span[0] < f.end]


def test_the_corpus_is_what_it_says() -> None:
    reports = corpus()
    assert len(reports) >= 40
    assert {r.lang for r in reports} == {"nl", "en", "es"}
    assert all(sum(r.lang == lang for r in reports) >= 12 for lang in ("nl", "en", "es"))
    assert sum(len(r.client) for r in reports) >= 10, "the client's identifiers are in it too"
    assert parse("en | I'm [[Anna]], his {{phone:0612345678}}.").text == "I'm Anna, his 0612345678."


def test_recall_of_the_reporters_own_details_is_at_least_95_percent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found, missed = 0, []
    for report in corpus():
        flags = redaction.flag(report.text, default_region="NL", reported=report.reported)
        assert {f.kind for f in flags} <= set(redaction.KINDS)
        for span in report.own:
            if overlapping(flags, span):
                found += 1
            else:
                missed.append(f"{report.text[span[0] : span[1]]!r} in {report.text!r}")
    recall = found / (found + len(missed))
    with capsys.disabled():
        print(f"\nredaction recall: {found}/{found + len(missed)} = {recall:.1%}")
        for miss in missed:
            print(f"  missed {miss}")
    assert recall >= 0.95, missed


def test_no_identifier_of_the_client_is_flagged_as_the_reporters() -> None:
    for report in corpus():
        flags = redaction.flag(report.text, default_region="NL", reported=report.reported)
        for span in report.client:
            on_it = overlapping(flags, span)
            shown = report.text[span[0] : span[1]]
            assert on_it, f"{shown!r} is found, and marked as the client's"
            assert all(f.reported_identifier for f in on_it), (shown, on_it)
