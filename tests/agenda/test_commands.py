"""`/idl agenda …` through the registry, with the real service on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from idlbot.clock import FakeClock
from idlbot.commands import agenda as agenda_commands
from idlbot.commands.context import Context, Ports, User
from idlbot.commands.registry import Registry
from idlbot.config import Settings
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.domain.roles import Role
from tests.agenda.conftest import BERLIN, COURSE, CUTOFF, Rig, file_questions


def ctx_for(rig: Rig | None, settings: Settings, clock: FakeClock, role: Role) -> Context:
    user = User(id=f"id-{role.name}", username=role.name.lower(), role=role, tz=BERLIN)
    return Context(user=user, channel_id="chan", via="slash", clock=clock, course=settings.course,
                   ports=Ports(agenda=rig.service if rig else None))  # fmt: skip


async def test_students_see_the_ranking_instructors_run_the_rest(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock, settings: Settings
) -> None:
    file_questions(sim, 12, at=CUTOFF - timedelta(days=2), votes=lambda iid: iid % 5)
    rig = make_rig()
    registry = Registry([agenda_commands.group])
    student = ctx_for(rig, settings, clock, Role.STUDENT)
    boss = ctx_for(rig, settings, clock, Role.INSTRUCTOR)
    clock.set(CUTOFF - timedelta(hours=2))

    shown = await registry.run(student, "agenda")
    assert shown.ephemeral and "top 10 of 12" in shown.text and "(in 2 h)" in shown.text
    assert "is for instructors" in (await registry.run(student, "agenda freeze")).text
    assert "Usage" in (await registry.run(student, "agenda bogus")).text

    preview = await registry.run(boss, "agenda preview")
    assert preview.text.startswith("_Preview") and sum((await rig.outbox.count_by_state()).values()) == 0
    assert "is left out of the agenda for 2018-10-17" in (await registry.run(boss, "agenda skip #4")).text
    assert "issue number" in (await registry.run(boss, "agenda skip four")).text
    frozen = await registry.run(boss, "agenda freeze")
    assert frozen.text.startswith("Frozen: the agenda for 2018-10-17 has 10 questions"), frozen.text
    again = await registry.run(boss, "agenda freeze")
    assert again.text.startswith("Rebuilt (revision 2)"), again.text
    assert "Class agenda for Wednesday 17 October 2018" in (await registry.run(student, "agenda")).text
    done = await registry.run(boss, "agenda done #4")
    assert "marked as discussed" in done.text and "agenda::discussed" in sim.issue(COURSE, 4).labels
    assert "already" in (await registry.run(boss, "agenda done 4")).text
    assert "no issue #999" in (await registry.run(boss, "agenda done #999")).text


async def test_without_the_port_the_command_says_so(settings: Settings, clock: FakeClock) -> None:
    registry = Registry([agenda_commands.group])
    reply = await registry.run(ctx_for(None, settings, clock, Role.STUDENT), "agenda")
    assert reply.text == "`/idl agenda` is not set up on this bot: it needs GitLab."
