"""What a refusal says: it names what the user may do instead, and it is decided by the
Mattermost id of a reminder's or announcement's creator, not by a username.

Same world as the table (`test_authorization_table.py`): tutor1 tutors g1, whose channel
is ~exercise-group-1; reminder 1 is tutor1's, 2 sstober's, 3 has no recorded creator;
announcement 1 is jens's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from idlbot.commands import build_registry
from idlbot.commands.context import Context, User
from idlbot.commands.policy import ChannelScope, refusal
from idlbot.config import Settings, load
from idlbot.domain.roles import Role
from tests.commands.conftest import ENV
from tests.commands.test_authorization_table import INSTRUCTOR, STUDENT, TUTOR1, context_for, seeded_ports

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = build_registry()


@pytest.fixture(scope="module")
def course_settings() -> Settings:
    return load(ROOT / "config.example.toml", env=ENV)


REFUSALS = [
    (TUTOR1, "remind add in 2h town-square Pizza",
     "Tutors can remind only in their exercise group's channel (~exercise-group-1); "
     "~town-square is not one of them."),
    (TUTOR1, "remind add in 2h @all Hi",
     "Tutors can remind only in their exercise group's channel (~exercise-group-1); "
     "~@\u200ball is not one of them."),
    (TUTOR1, "announce --yes --channel group2 Hi",
     "Tutors can announce only in their exercise group's channel (~exercise-group-1); "
     "~exercise-group-2 is not one of them."),
    (TUTOR1, "overview g2",
     "Tutors can see the overview of only exercise groups they tutor (g1); g2 is not one of them."),
    (TUTOR1, "roster @alice group=g3",
     "Tutors can move students into only exercise groups they tutor (g1); g3 is not one of them."),
    (TUTOR1, "roster @alice group=", "Tutors can move students into only exercise groups they tutor (g1)."),
    (TUTOR1, "status @bob", "@bob is not in an exercise group you tutor (you tutor g1)."),
    (STUDENT, "status @bob", "You can only see your own records."),
    (TUTOR1, "remind cancel 2",
     "Tutors can cancel only their own reminders; reminder 2 was created by @sstober."),
    (TUTOR1, "remind cancel 3",
     "Tutors can cancel only their own reminders; reminder 3 was created by @tutor1 before I recorded "
     "creators, so only instructors can."),
    (TUTOR1, "remind test rem:questions:2018-10-23:-2h",
     "Tutors can test only their own reminders; reminder `rem:questions:2018-10-23:-2h` comes from the "
     "course config."),
    (TUTOR1, "announce cancel 1",
     "Tutors can cancel only their own announcements; announcement 1 was created by @jens."),
    (TUTOR1, "announce --yes --notify all Exam",
     "Only instructors can notify @all; use `--notify channel` in your group channel."),
    (STUDENT, "remind add in 2h group1 Hi",
     "`/idl remind add` is for tutors and instructors; you are a student."),
    (TUTOR1, "agenda freeze", "`/idl agenda freeze` is for instructors; you are a tutor."),
]  # fmt: skip


@pytest.mark.parametrize(("role", "text", "said"), REFUSALS, ids=[f"{r}: {t}" for r, t, _ in REFUSALS])
async def test_the_refusal_names_what_is_allowed(
    role: str, text: str, said: str, course_settings: Settings
) -> None:
    reply = await REGISTRY.run(context_for(course_settings, role, seeded_ports(course_settings)), text)
    assert reply.text == said


def _as(ctx: Context, user_id: str) -> Context:
    return replace(ctx, user=replace(ctx.user, id=user_id))


async def test_a_reminder_belongs_to_an_id_not_to_a_name(course_settings: Settings) -> None:
    """Someone who later got the name `tutor1` (another account, another id) cannot cancel
    the reminder the first tutor1 set; the account that set it can, whatever it is called now."""
    ports = seeded_ports(course_settings)
    tutor = context_for(course_settings, TUTOR1, ports)
    newcomer = await REGISTRY.run(_as(tutor, "id-someone-else"), "remind cancel 1")
    assert newcomer.text.startswith("Tutors can cancel only their own reminders")
    renamed = replace(tutor, user=replace(tutor.user, username="tutor-one"))
    assert (await REGISTRY.run(renamed, "remind cancel 1")).text == "Reminder 1 cancelled."


async def test_an_added_reminder_records_its_creators_id(course_settings: Settings) -> None:
    ports = seeded_ports(course_settings)
    tutor = context_for(course_settings, TUTOR1, ports)
    added = await REGISTRY.run(tutor, "remind add in 2h group1 Bring your laptops")
    assert added.text.startswith("Reminder 4 set:")
    reminder = await ports.reminders.custom(4)
    assert reminder is not None and (reminder.created_by, reminder.created_by_id) == ("tutor1", "id-tutor1")
    assert (await REGISTRY.run(_as(tutor, "id-tutor2"), "remind cancel 4")).text.startswith("Tutors can")
    assert (await REGISTRY.run(context_for(course_settings, INSTRUCTOR, ports), "remind cancel 4")).text == (
        "Reminder 4 cancelled."
    )


def test_a_tutor_of_two_groups_is_told_both_channels(course_settings: Settings) -> None:
    course = course_settings.course
    groups = tuple(replace(g, tutors=("tutor1",)) if g.id == "g2" else g for g in course.groups)
    two = replace(course, groups=groups)
    user = User("id-tutor1", "tutor1", Role.TUTOR, ZoneInfo("Europe/Berlin"))
    assert refusal(user, two, ChannelScope("exercise-group-2"), "remind") is None
    assert refusal(user, two, ChannelScope("questions"), "remind") == (
        "Tutors can remind only in their exercise groups' channels (~exercise-group-1, ~exercise-group-2); "
        "~questions is not one of them."
    )
