"""deadlines, whoami, health against the example course at a fixed time."""

from __future__ import annotations

from idlbot.commands.registry import Registry
from idlbot.domain.roles import Role


async def test_deadlines_in_the_users_zone(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    berlin = await registry.run(make_ctx("alice"), "deadlines 3")
    new_york = await registry.run(make_ctx("bob", tz="America/New_York"), "deadlines 3")
    assert "Europe/Berlin" in berlin.text and "CEST" in berlin.text
    assert "America/New_York" in new_york.text and "EDT" in new_york.text
    assert len([line for line in berlin.text.splitlines() if line.startswith("- ")]) == 3
    # Tuesday 23 Oct 2018, 12:00 in Berlin is 06:00 in New York
    assert "Tue 23 Oct 2018, 12:00 CEST" in berlin.text
    assert "Tue 23 Oct 2018, 06:00 EDT" in new_york.text


async def test_deadlines_rejects_bad_counts(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    assert "Give a number" in (await registry.run(make_ctx(), "deadlines soon")).text
    assert "from 1 to 20" in (await registry.run(make_ctx(), "deadlines 0")).text


async def test_whoami_for_student_and_tutor(registry: Registry, make_ctx, settings) -> None:  # type: ignore[no-untyped-def]
    student = await registry.run(make_ctx("alice"), "whoami")
    assert "You are @alice, a student." in student.text
    tutor_name = settings.course.groups[0].tutors[0]
    tutor = await registry.run(make_ctx(tutor_name, Role.TUTOR), "whoami")
    assert "a tutor" in tutor.text and settings.course.groups[0].room in tutor.text


async def test_health_shows_connection_outbox_and_schema(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(make_ctx("jens", Role.INSTRUCTOR), "health")
    assert "Websocket: connected (2 reconnects)" in reply.text
    assert "Outbox: 3 pending; oldest pending 60 s ago" in reply.text
    assert "`reply:abc`: 503 server error" in reply.text
    assert "schema 0001 (at head)" in reply.text
    assert "Version 0.1.0, up 24 h." in reply.text
