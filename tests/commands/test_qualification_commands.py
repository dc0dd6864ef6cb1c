"""status, record, present, overview, export, roster, audit on real SQL ports."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from idlbot.clock import FakeClock
from idlbot.commands.context import Ports
from idlbot.commands.registry import Registry
from idlbot.domain.overview import Overview
from idlbot.domain.roles import Role
from idlbot.ports.chart import ChartUnavailable
from idlbot.storage.outbox import OutboxItem, SqlOutbox
from tests.commands.conftest import MakeCtx


async def pending(ports: Ports, clock: FakeClock) -> list[OutboxItem]:
    assert isinstance(ports.outbox, SqlOutbox)
    return await ports.outbox.claim_due(clock.now() + timedelta(days=1), limit=100)


async def test_student_sees_own_status_only(registry: Registry, make_ctx: MakeCtx) -> None:
    own = await registry.run(make_ctx("alice"), "status")
    assert "a01" in own.text and own.ephemeral
    refused = await registry.run(make_ctx("alice"), "status @bob")
    assert refused.text == "You can only see your own records."
    nobody = await registry.run(make_ctx("carol"), "status")
    assert "not in the course roster" in nobody.text


async def test_tutor_sees_own_group_and_instructor_everyone(registry: Registry, make_ctx: MakeCtx) -> None:
    tutor = make_ctx("tutor1", Role.TUTOR)  # tutors exercise group g1 (alice), not g2 (bob)
    assert "a01" in (await registry.run(tutor, "status @alice")).text
    assert "not in an exercise group you tutor" in (await registry.run(tutor, "status @bob")).text
    assert "a01" in (await registry.run(make_ctx("jens", Role.INSTRUCTOR), "status @bob")).text
    assert "Staff have no status" in (await registry.run(tutor, "status")).text
    assert "not in the roster" in (await registry.run(tutor, "status @zed")).text


async def test_record_override_is_audited_and_shown(registry: Registry, make_ctx: MakeCtx) -> None:
    staff = make_ctx("sstober", Role.INSTRUCTOR)
    no_reason = await registry.run(staff, "record a01 @alice excused")
    assert "Say why" in no_reason.text
    reply = await registry.run(staff, 'record a01 @alice excused --reason "medical certificate"')
    assert reply.text.startswith("a01 for @alice:") and "excused" in reply.text
    status = await registry.run(make_ctx("alice"), "status")
    assert "excused" in status.text and "medical certificate" in status.text
    audit = await registry.run(staff, "audit @alice")
    assert "@sstober" in audit.text and "medical certificate" in audit.text
    assert "is for instructors" in (await registry.run(make_ctx("tutor1", Role.TUTOR), "audit")).text


async def test_failed_presentations_tell_the_student_and_then_the_instructors(
    registry: Registry, make_ctx: MakeCtx, ports: Ports, clock: FakeClock
) -> None:
    tutor = make_ctx("tutor1", Role.TUTOR)
    first = await registry.run(tutor, 'present a01 @alice fail --note "could not explain the loss"')
    assert "The student was told by DM." in first.text
    assert "instructors" not in first.text
    second = await registry.run(tutor, "present a02 @alice fail")
    assert "@alice is now excluded from the exam: the student and the instructors were told." in second.text
    items = await pending(ports, clock)
    to_alice = [i.message for i in items if i.dm_user_id == "id-alice"]
    assert len(to_alice) == 3  # the two fails, then the exclusion
    assert "a01 no longer counts" in to_alice[0] and "fail 1 of 2" in to_alice[0]
    assert "a02 no longer counts" in to_alice[1] and "fail 2 of 2" in to_alice[1]
    assert "no longer sit the exam" in to_alice[2]
    to_staff = {i.dm_user_id: i.message for i in items if i.dm_user_id != "id-alice"}
    assert set(to_staff) == {"id-sstober", "id-jens"}
    assert all("@alice now has 2 fails" in m for m in to_staff.values())
    refused = await registry.run(tutor, "present a01 @bob ok")
    assert "not in an exercise group you tutor" in refused.text


async def test_a_fail_corrected_to_ok_is_told_and_the_same_fail_again_is_not(
    registry: Registry, make_ctx: MakeCtx, ports: Ports, clock: FakeClock
) -> None:
    tutor, staff = make_ctx("tutor1", Role.TUTOR), make_ctx("sstober", Role.INSTRUCTOR)
    await registry.run(tutor, "present a01 @alice fail")
    again = await registry.run(staff, "present a01 @alice fail")
    assert again.text.endswith("The outcome did not change, so nobody was told again.")
    corrected = await registry.run(staff, 'present a01 @alice ok --note "explained it after all"')
    assert corrected.text.endswith("The student was told by DM.")
    to_alice = [i.message for i in await pending(ports, clock) if i.dm_user_id == "id-alice"]
    assert len(to_alice) == 2 and "fail 1 of 2" in to_alice[0]
    assert to_alice[1].startswith("Your presentation of a01 is now recorded as ok (by @sstober)")
    assert "that fail is withdrawn: 0 of 2 fails now" in to_alice[1]


async def test_overview_and_export_go_to_the_staff_dm_with_files(
    registry: Registry, make_ctx: MakeCtx, ports: Ports, clock: FakeClock
) -> None:
    reply = await registry.run(make_ctx("tutor1", Role.TUTOR), "overview")
    assert "exercise group g1 (1 students)" in reply.text
    export = await registry.run(make_ctx("jens", Role.INSTRUCTOR), "export")
    assert export.text.startswith("`ledger-2018-10-22-0900.csv` (2 students)")
    items = {item.dm_user_id: item for item in await pending(ports, clock)}
    [chart] = items["id-tutor1"].files
    assert chart.content_type == "image/png" and chart.data.startswith(b"\x89PNG")
    assert "bob" not in items["id-tutor1"].message  # a tutor's overview is their group only
    [csv] = items["id-jens"].files
    assert csv.data.decode().splitlines()[0].startswith("mattermost")
    assert len(csv.data.decode().strip().splitlines()) == 3
    assert "is for instructors" in (await registry.run(make_ctx("tutor1", Role.TUTOR), "export")).text


async def test_roster_edit_from_chat(registry: Registry, make_ctx: MakeCtx) -> None:
    staff = make_ctx("sstober", Role.INSTRUCTOR)
    shown = await registry.run(staff, "roster @alice")
    assert shown.text == "@alice: GitLab alice-gl, cluster -, group g1, team lyrics-a."
    changed = await registry.run(staff, "roster @alice cluster=alice1 group=g2")
    assert changed.text == "@alice: GitLab alice-gl, cluster alice1, group g2, team lyrics-a."
    tutor = make_ctx("tutor1", Role.TUTOR)
    assert "not in an exercise group you tutor" in (await registry.run(tutor, "roster @alice")).text
    bad = (await registry.run(staff, "roster @bob colour=blue")).text
    assert bad.startswith("Usage: `/idl roster @student [gitlab=… cluster=…") and "“colour=blue”" in bad


async def test_an_overview_whose_chart_fails_comes_without_it_and_says_why(
    registry: Registry, make_ctx: MakeCtx, ports: Ports, clock: FakeClock
) -> None:
    class BusyChart:
        async def render(self, overview: Overview, *, title: str | None = None) -> bytes:
            raise ChartUnavailable("the chart renderer is busy; try again in a minute")

    broken = Ports(qualification=ports.qualification, outbox=ports.outbox, chart=BusyChart())
    ctx = replace(make_ctx("tutor1", Role.TUTOR), ports=broken)
    reply = await registry.run(ctx, "overview")
    assert reply.text.endswith(
        "your DM. It comes without the chart: the chart renderer is busy; try again in a minute."
    )
    [item] = await pending(ports, clock)
    assert not item.files
    assert "Qualification overview" in item.message
