"""Refusal codes: stable, documented, and raised with a message."""

from __future__ import annotations

import re

import pytest
from coretest import PROTOCOLS

from accord.core.errors import CODES, Rejected

ERRORS_MD = PROTOCOLS.parent / "docs" / "ERRORS.md"


def documented_codes() -> list[str]:
    """The codes of the tables in docs/ERRORS.md (rows that start with a `code`)."""
    text = ERRORS_MD.read_text(encoding="utf-8")
    return re.findall(r"^\| `([a-z_]+)` \|", text, re.M)


def test_every_code_is_documented_in_errors_md() -> None:
    documented = documented_codes()
    missing = [code for code in CODES if code not in documented]
    assert missing == []


def test_errors_md_documents_no_other_code_and_each_once() -> None:
    documented = documented_codes()
    assert sorted(documented) == sorted(CODES)


def test_codes_are_stable_snake_case_with_a_meaning() -> None:
    for code, meaning in CODES.items():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code), code
        assert meaning.endswith(".") and meaning[0].isupper(), code


def test_rejected_carries_code_and_message() -> None:
    refusal = Rejected("not_your_turn", "partner_b may not make a statement")
    assert (refusal.code, refusal.message) == (
        "not_your_turn",
        "partner_b may not make a statement",
    )
    assert str(refusal) == "not_your_turn: partner_b may not make a statement"


def test_an_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(AssertionError):
        Rejected("no_such_code", "x")
