"""Loading playbooks: the shipped ones load; each broken one names its file, line and rule."""

from __future__ import annotations

import pytest
from coretest import PROTOCOLS, SHIPPED, playbook_source, shipped

from accord.core.playbook import (
    DEFAULT_DEBRIEF_PROMPTS,
    DebriefSpec,
    DialogueSpec,
    LineMap,
    LobbySpec,
    PlaybookError,
    Problem,
    TimeOutSpec,
    load_playbook,
    parse_playbook,
)


def problems(source: str, filename: str = "broken.toml") -> list[Problem]:
    with pytest.raises(PlaybookError) as info:
        load_playbook(source, filename)
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    return info.value.problems


def only(source: str) -> Problem:
    found = problems(source)
    assert len(found) == 1, found
    return found[0]


def line_of(source: str, text: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line of `source` that is exactly `text`."""
    seen = 0
    for number, line in enumerate(source.splitlines(), start=1):
        if line == text:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{text!r} not in source")


# -- the shipped playbooks -------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_playbooks_load(name: str) -> None:
    playbook = shipped(name)
    assert playbook.name == name
    assert playbook.version == 1
    assert isinstance(playbook.phases[0], LobbySpec)
    assert isinstance(playbook.phases[-1], DebriefSpec)
    assert any(isinstance(p, DialogueSpec) for p in playbook.phases)
    assert playbook.source and playbook.description
    assert playbook.time_out.max_minutes <= 24 * 60


def test_shipped_playbook_parameters() -> None:
    sl, imago, check_in = (
        shipped("speaker-listener"),
        shipped("imago-dialogue"),
        shipped("check-in"),
    )
    dialogue = sl.phases[1]
    assert isinstance(dialogue, DialogueSpec)
    assert (dialogue.statement_max_chars, dialogue.ends, dialogue.clarifying_questions) == (
        500,
        "mediator",
        False,
    )
    assert sl.time_out == TimeOutSpec(default_minutes=20, min_minutes=5, max_minutes=60)
    dialogue = imago.phases[1]
    assert isinstance(dialogue, DialogueSpec)
    assert dialogue.listener_steps == ("summary", "validation", "empathy")
    assert (dialogue.ends, dialogue.rounds, dialogue.clarifying_questions) == ("rounds", 1, True)
    dialogue = check_in.phases[1]
    assert isinstance(dialogue, DialogueSpec)
    assert (dialogue.statement_max_chars, dialogue.rounds) == (300, 1)
    assert check_in.time_out.default_minutes == 10
    assert check_in.phases[2] == DebriefSpec(title="Closing debrief")
    assert check_in.time_out.debrief_prompts == DEFAULT_DEBRIEF_PROMPTS


def test_loading_is_cached_by_source() -> None:
    path = PROTOCOLS / "imago-dialogue.toml"
    source = path.read_text(encoding="utf-8")
    assert load_playbook(source, str(path)) is load_playbook(source, str(path))


def test_a_minimal_playbook_gets_the_defaults() -> None:
    source = (
        'name = "minimal"\ntitle = "Minimal"\n\n'
        '[[phases]]\ntype = "lobby"\n\n[[phases]]\ntype = "dialogue"\n\n'
        '[[phases]]\ntype = "debrief"\n'
    )
    playbook = load_playbook(source, "minimal.toml")
    assert playbook.time_out == TimeOutSpec()
    assert playbook.phases == (LobbySpec(), DialogueSpec(), DebriefSpec())
    dialogue = playbook.phases[1]
    assert isinstance(dialogue, DialogueSpec)
    assert (dialogue.statement_max_chars, dialogue.paraphrase_required, dialogue.ends) == (
        500,
        True,
        "mediator",
    )


# -- broken playbooks: file, line, rule ------------------------------------------------

BASE = playbook_source()


def test_the_base_playbook_is_sound() -> None:
    load_playbook(BASE, "base.toml")


def test_unknown_phase_type() -> None:
    source = BASE.replace('type = "dialogue"', 'type = "freewheeling"')
    assert only(source) == Problem(
        "broken.toml",
        line_of(source, 'type = "freewheeling"'),
        "unknown_phase_type",
        "Invalid value 'freewheeling' (at $.phases[1].type)",
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("statement_max_chars = 0", "Expected `int` >= 1 (at $.phases[1].statement_max_chars)"),
        (
            "statement_max_chars = 4001",
            "Expected `int` <= 4000 (at $.phases[1].statement_max_chars)",
        ),
        (
            'first_speaker = "mediator"',
            "Invalid enum value 'mediator' (at $.phases[1].first_speaker)",
        ),
        (
            'paraphrase_required = "yes"',
            "Expected `bool`, got `str` (at $.phases[1].paraphrase_required)",
        ),
        (
            'listener_steps = ["summary", "hug"]',
            "Invalid enum value 'hug' (at $.phases[1].listener_steps[1])",
        ),
        ("rounds = -1", "Expected `int` >= 0 (at $.phases[1].rounds)"),
    ],
)
def test_bad_parameter_value(line: str, message: str) -> None:
    source = BASE.replace('ends = "mediator"', f'ends = "mediator"\n{line}')
    assert only(source) == Problem("broken.toml", line_of(source, line), "bad_value", message)


def test_bad_value_in_the_time_out_table() -> None:
    source = BASE.replace("min_minutes = 5", "min_minutes = -5")
    assert only(source) == Problem(
        "broken.toml",
        line_of(source, "min_minutes = -5"),
        "bad_value",
        "Expected `float` > 0.0 (at $.time_out.min_minutes)",
    )


def test_bad_top_level_value() -> None:
    source = BASE.replace('name = "test"', 'name = "Not A Slug"')
    problem = only(source)
    assert (problem.line, problem.rule) == (1, "bad_value")
    assert "(at $.name)" in problem.message


@pytest.mark.parametrize(
    ("anchor", "key", "path"),
    [
        ('ends = "mediator"', 'colour = "red"', "$.phases[1].colour"),
        ('title = "Test"', 'author = "me"', "$.author"),
        ("min_minutes = 5", "length = 3", "$.time_out.length"),
    ],
)
def test_unknown_key(anchor: str, key: str, path: str) -> None:
    source = BASE.replace(anchor, f"{anchor}\n{key}")
    name = key.split(" ")[0]
    assert only(source) == Problem(
        "broken.toml",
        line_of(source, key),
        "unknown_key",
        f"Object contains unknown field `{name}` (at {path})",
    )


def test_missing_key() -> None:
    source = BASE.replace('title = "Test"\n', "")
    assert only(source) == Problem(
        "broken.toml", 1, "missing_key", "Object missing required field `title` (at $)"
    )


def test_toml_syntax_error() -> None:
    source = BASE.replace('ends = "mediator"', "ends = mediator")
    problem = only(source)
    assert (problem.file, problem.line, problem.rule) == (
        "broken.toml",
        line_of(source, "ends = mediator"),
        "toml_syntax",
    )
    assert f"line {problem.line}" in problem.message


def test_time_out_longer_than_a_day() -> None:
    source = BASE.replace("max_minutes = 60", "max_minutes = 1441")
    assert only(source) == Problem(
        "broken.toml",
        line_of(source, "max_minutes = 1441"),
        "time_out_too_long",
        "max_minutes = 1441: a time-out never lasts more than 24 hours (1440 minutes; Gottman)",
    )


def test_a_whole_day_is_allowed() -> None:
    load_playbook(BASE.replace("max_minutes = 60", "max_minutes = 1440"), "day.toml")


@pytest.mark.parametrize("default", ["4", "61"])
def test_default_outside_min_and_max(default: str) -> None:
    source = BASE.replace("default_minutes = 20", f"default_minutes = {default}")
    assert only(source) == Problem(
        "broken.toml",
        line_of(source, f"default_minutes = {default}"),
        "time_out_range",
        f"default_minutes = {default} must lie between min_minutes (5) and max_minutes (60)",
    )


def test_breaks_closer_than_their_length() -> None:
    source = BASE.replace("max_minutes = 60", "max_minutes = 60\nevery_minutes = 10")
    assert only(source) == Problem(
        "broken.toml",
        line_of(source, "every_minutes = 10"),
        "break_interval",
        "every_minutes = 10 is shorter than a break (default_minutes = 20): "
        "breaks would follow one another",
    )
    load_playbook(BASE.replace("max_minutes = 60", "max_minutes = 60\nevery_minutes = 20"), "ok")


def test_last_phase_not_a_debrief() -> None:
    source = BASE + '\n[[phases]]\ntype = "dialogue"\n'
    assert only(source) == Problem(
        "broken.toml",
        line_of(source, "[[phases]]", occurrence=4),
        "debrief_at_end",
        "the last phase must be a debrief: every session ends with one",
    )


def test_lobby_not_first() -> None:
    source = (
        'name = "t"\ntitle = "T"\n\n'
        '[[phases]]\ntype = "dialogue"\n\n'
        '[[phases]]\ntype = "lobby"\n\n'
        '[[phases]]\ntype = "debrief"\n'
    )
    found = problems(source)
    assert [(p.line, p.rule) for p in found] == [(4, "lobby_first"), (7, "lobby_first")]


def test_two_lobbies() -> None:
    source = BASE.replace('[[phases]]\ntype = "dialogue"', '[[phases]]\ntype = "lobby"', 1)
    source = source.replace('ends = "mediator"\n', "")
    assert [(p.line, p.rule) for p in problems(source)] == [
        (line_of(source, "[[phases]]", occurrence=2), "lobby_first")
    ]


def test_rounds_without_ends_rounds_is_unused() -> None:
    source = BASE.replace('ends = "mediator"', 'ends = "mediator"\nrounds = 3')
    assert only(source) == Problem(
        "broken.toml",
        line_of(source, "rounds = 3"),
        "rounds_unused",
        "rounds = 3 has no effect with ends = 'mediator'; set ends = 'rounds' or remove it",
    )


def test_no_phases() -> None:
    problem = only('name = "t"\ntitle = "T"\nphases = []\n')
    assert (problem.line, problem.rule) == (3, "bad_value")


def test_a_dialogue_with_no_way_out() -> None:
    """`ends = "rounds"` with zero rounds: only a mediator override can leave it."""
    source = BASE.replace('ends = "mediator"', 'ends = "rounds"\nrounds = 0')
    # The schema and the cross-field rules accept it: only the exploration sees it.
    parse_playbook(source, "broken.toml")
    problem = only(source)
    assert problem.file == "broken.toml"
    assert problem.line == line_of(source, "[[phases]]", occurrence=2)
    assert problem.rule == "no_way_out"
    assert problem.message.startswith("phase 2 (dialogue 'Dialogue') has no way out")
    assert problem.message.endswith("only a mediator override can end it")
    assert str(problem).startswith(f"broken.toml:{problem.line}: no_way_out: phase 2")


def test_several_problems_are_reported_together() -> None:
    source = BASE.replace("max_minutes = 60", "max_minutes = 2000").replace(
        "default_minutes = 20", "default_minutes = 3000"
    )
    assert [p.rule for p in problems(source)] == ["time_out_too_long", "time_out_range"]


# -- line map ---------------------------------------------------------------------------


def test_line_map_locates_tables_keys_and_phases() -> None:
    lines = LineMap(BASE)
    assert lines.phase_line(0) == line_of(BASE, "[[phases]]", 1)
    assert lines.phase_line(2) == line_of(BASE, "[[phases]]", 3)
    assert lines.phase_line(9) == 1
    assert lines.locate("$.time_out.max_minutes") == line_of(BASE, "max_minutes = 60")
    assert lines.locate("$.phases[1].ends") == line_of(BASE, 'ends = "mediator"')
    # A key that is not written falls back to its table.
    assert lines.locate("$.phases[1].rounds") == line_of(BASE, "[[phases]]", 2)
    assert lines.locate("$.time_out.every_minutes") == line_of(BASE, "[time_out]")
    assert lines.locate("$.name") == 1
    assert lines.locate("$") == 1
    assert lines.locate("nonsense") == 1
