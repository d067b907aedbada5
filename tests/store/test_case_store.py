"""Cases in the registry: the same contract for every store (conftest.STORES).

A case is a couple's sessions over time (DESIGN.md, "Cases"): its partners'
display names, its owner, and its sessions in the order they were created.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from accord.store.base import Case, Registry, SessionInfo


def case(cid: str, owner: str | None, created_at: float, **changes: object) -> Case:
    made = Case(
        id=cid,
        owner=owner,
        title=f"Case {cid}",
        name_a="Sam",
        name_b="Alex",
        created_at=created_at,
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def session(sid: str, case_id: str | None, created_at: float) -> SessionInfo:
    return SessionInfo(
        id=sid,
        title=f"Session {sid}",
        playbook_name="standard",
        playbook_source='[playbook]\nname = "standard"\n',
        created_by="m1",
        created_at=created_at,
        status="open",
        case_id=case_id,
    )


async def test_cases_are_kept_and_listed_oldest_first_by_owner(registry: Registry) -> None:
    await registry.add_case(case("c2", "m1", 20.0))
    await registry.add_case(case("c1", "m1", 10.0, name_a="Émile", name_b="Zoë 🌿"))
    await registry.add_case(case("c3", None, 30.0))
    await registry.add_case(case("c4", "m2", 40.0, archived=True))
    assert await registry.get_case("c1") == case("c1", "m1", 10.0, name_a="Émile", name_b="Zoë 🌿")
    assert await registry.get_case("c4") == case("c4", "m2", 40.0, archived=True)
    assert await registry.get_case("c3") == case("c3", None, 30.0)
    assert await registry.get_case("nope") is None
    assert [c.id for c in await registry.list_cases()] == ["c1", "c2", "c3", "c4"]
    assert [c.id for c in await registry.list_cases("m1")] == ["c1", "c2"]
    assert [c.id for c in await registry.list_cases("m2")] == ["c4"]
    assert await registry.list_cases("m9") == []


async def test_a_duplicate_case_id_is_refused_and_changes_nothing(registry: Registry) -> None:
    await registry.add_case(case("c1", "m1", 10.0))
    with pytest.raises(ValueError):
        await registry.add_case(case("c1", "m2", 11.0, title="Other"))
    assert await registry.get_case("c1") == case("c1", "m1", 10.0)
    assert [c.id for c in await registry.list_cases("m2")] == []


async def test_a_cases_sessions_come_in_the_order_they_were_created(registry: Registry) -> None:
    await registry.add_case(case("c1", "m1", 1.0))
    await registry.add_case(case("c2", "m1", 2.0))
    await registry.add_session(session("later", "c1", 30.0))
    await registry.add_session(session("first", "c1", 10.0))
    await registry.add_session(session("alone", None, 15.0))
    await registry.add_session(session("other", "c2", 20.0))
    assert [s.id for s in await registry.case_sessions("c1")] == ["first", "later"]
    assert [s.id for s in await registry.case_sessions("c2")] == ["other"]
    assert await registry.case_sessions("c9") == []
    # A session keeps its case, and one on its own has none.
    assert await registry.get_session("first") == session("first", "c1", 10.0)
    assert (await registry.get_session("alone")) == session("alone", None, 15.0)
    assert [s.id for s in await registry.list_sessions()] == ["first", "alone", "other", "later"]


async def test_update_changes_only_the_fields_given(registry: Registry) -> None:
    await registry.add_case(case("c1", "m1", 10.0))
    renamed = await registry.update_case("c1", name_b="Robin")
    assert renamed == case("c1", "m1", 10.0, name_b="Robin")
    assert await registry.get_case("c1") == renamed
    both = await registry.update_case("c1", title="Spring", name_a="Kai", archived=True)
    assert both == case(
        "c1", "m1", 10.0, title="Spring", name_a="Kai", name_b="Robin", archived=True
    )
    assert await registry.update_case("c1") == both  # nothing to change: the case as it is
    unarchived = await registry.update_case("c1", archived=False)
    assert unarchived is not None and not unarchived.archived
    assert await registry.update_case("nope", name_a="X") is None
    assert await registry.get_case("nope") is None


async def test_concurrent_renames_of_each_partner_both_land(registry: Registry) -> None:
    """Two sessions of a case may rename a partner each at once: neither rename
    is lost (each changes its own field only)."""
    await registry.add_case(case("c1", "m1", 10.0))
    await asyncio.gather(
        *(registry.update_case("c1", name_a=f"A{i}") for i in range(5)),
        *(registry.update_case("c1", name_b=f"B{i}") for i in range(5)),
    )
    found = await registry.get_case("c1")
    assert found is not None
    assert found.name_a.startswith("A") and found.name_b.startswith("B")
    assert (found.title, found.owner) == ("Case c1", "m1")
