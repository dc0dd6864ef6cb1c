"""`/idl rota` through the registry on the seeded fake rota (tests/support/fakes_rota.py,
Monday 22 October 2018 09:00): what it shows, and refusals that name what to do."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from idlbot.clock import FakeClock
from idlbot.commands import build_registry
from idlbot.commands.context import Context, Ports, User
from idlbot.config import Settings, load
from idlbot.domain.defuse import ZWSP
from idlbot.domain.roles import Role
from tests.commands.conftest import ENV
from tests.support.fakes import NOW, FakeOutbox, fake_ports

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = build_registry()


@pytest.fixture(scope="module")
def course_settings() -> Settings:
    return load(ROOT / "config.example.toml", env=ENV)


@pytest.fixture
def ports(course_settings: Settings) -> Ports:
    return fake_ports(
        course_settings.course, course_settings.agenda, dict(course_settings.mattermost.channels)
    )


async def run(settings: Settings, ports: Ports, who: str, text: str, role: Role = Role.STUDENT) -> str:
    user = User(id=f"id-{who}", username=who, role=role, tz=ZoneInfo("Europe/Berlin"))
    ctx = Context(user=user, channel_id="chan1", via="slash", clock=FakeClock(NOW), course=settings.course,
                  ports=ports, instructors=settings.roles.instructors)  # fmt: skip
    return (await REGISTRY.run(ctx, text)).text


def outbox(ports: Ports) -> FakeOutbox:
    found = ports.rota._outbox  # type: ignore[attr-defined]
    assert isinstance(found, FakeOutbox)
    return found


async def test_the_rota_shows_the_next_picks_and_the_history(course_settings: Settings, ports: Ports) -> None:
    text = await run(course_settings, ports, "carol", "rota")
    assert f"- Wed 2018-10-24: @{ZWSP}alice (projected, assigned)" in text
    assert f"- Wed 2018-10-31: @{ZWSP}bob (projected, assigned)" in text
    assert "- Wed 2018-11-07: @" in text and text.count("(projected") == 3
    assert f"- Wed 2018-10-17: @{ZWSP}alice, page summaries/2018-10-17 is there" in text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("rota swap oct24 @bob", "I can't read “oct24” as a date. Use one of: `2018-10-24`"),
        (
            "rota swap 2018-10-25 @bob",
            "There is no class on Thu 2018-10-25; the nearest classes are Wed 2018-10-24 and",
        ),
        ("rota swap 2018-10-24 bob", "Name the student with @"),
        ("rota swap 2018-10-24", "Use `/idl rota swap 2018-10-24 @bob`"),
        (
            "rota swap 2018-10-31 @carol",
            f"Only the writer of the summary of Wed 2018-10-31 (@{ZWSP}bob) can ask",
        ),
        ("rota swap 2018-10-17 @bob", "has already started"),
        ("rota swap 2018-10-24 @sstober", f"@{ZWSP}sstober is not an active student"),
        ("rota accept 2018-10-24", "No swap of the summary of Wed 2018-10-24 is waiting for you"),
        ("rota assign 2018-10-31 @bob", "`/idl rota assign` is for tutors and instructors"),
    ],
)
async def test_refusals_name_what_to_do(
    course_settings: Settings, ports: Ports, text: str, says: str
) -> None:
    assert says in await run(course_settings, ports, "alice", text)


async def test_a_swap_asked_and_accepted_changes_the_writer_and_tells_the_asker(
    course_settings: Settings, ports: Ports
) -> None:
    asked = await run(course_settings, ports, "alice", "rota swap wed @carol")
    assert asked.startswith(f"Swap asked: @{ZWSP}carol is asked by DM"), asked
    assert "rota accept 2018-10-24" in outbox(ports).items[-1]["message"]
    assert "Swap declined" in await run(course_settings, ports, "carol", "rota decline 2018-10-24")
    await run(course_settings, ports, "alice", "rota swap 2018-10-24 @carol")
    accepted = await run(course_settings, ports, "carol", "rota accept 2018-10-24")
    assert accepted.startswith("Swap accepted: you write the summary of Wed 2018-10-24"), accepted
    assert f"- Wed 2018-10-24: @{ZWSP}carol (projected, swapped)" in await run(
        course_settings, ports, "bob", "rota"
    )
    keys = [i["key"] for i in outbox(ports).items]
    assert len(keys) == len(set(keys)) == 4  # asked, declined, asked again, accepted


async def test_staff_excuse_the_writer_and_a_new_one_is_picked(
    course_settings: Settings, ports: Ports
) -> None:
    text = await run(course_settings, ports, "tutor1", "rota excuse @alice 2018-10-24", Role.TUTOR)
    assert text.startswith(
        f"Excused: @{ZWSP}alice is not picked for Wed 2018-10-24. They were the writer;"
    ), text
    told = {i["dm_user_id"] for i in outbox(ports).items}
    assert "id-alice" in told and len(told) == 2


async def test_staff_assign_replaces_the_writer_and_tells_both(
    course_settings: Settings, ports: Ports
) -> None:
    text = await run(course_settings, ports, "sstober", "rota assign 2018-10-31 @carol", Role.INSTRUCTOR)
    assert text.startswith(f"Assigned: @{ZWSP}carol writes the summary of Wed 2018-10-31"), text
    messages = {i["dm_user_id"]: i["message"] for i in outbox(ports).items}
    assert "no longer write the session summary of Wed 2018-10-31" in messages["id-bob"]
    assert "create the wiki page `summaries/2018-10-31`" in messages["id-carol"]
    again = await run(course_settings, ports, "sstober", "rota assign 2018-10-31 @carol", Role.INSTRUCTOR)
    assert again == f"@{ZWSP}carol already writes the summary of Wed 2018-10-31."
    assert "void" in await run(course_settings, ports, "alice", "rota accept 2018-10-31")  # bob's request
