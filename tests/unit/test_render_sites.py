"""The render functions defuse what they are given: hostile values straight into the
functions that build posts, no caller-side escaping. The only mention left is the bot's own
(`@all` of a maintenance notice, `@<notify>` of an announcement)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings

from idlbot.devtools.sim.mm_mentions import parse_post
from idlbot.domain import agenda
from idlbot.domain.announce import render_announcement
from idlbot.domain.job_render import render_job
from idlbot.domain.jobs import ExitCode, JobRecord
from idlbot.domain.maintenance import Window, render_announce, render_job_warning
from tests.support.markdown import links, tags
from tests.unit.test_defuse import hostile

T0 = datetime(2018, 10, 16, 12, 0, tzinfo=UTC)
KEYWORDS = {"@someuser", "@tutors"}


@dataclass(frozen=True)
class Question:
    iid: int
    title: str
    author: str
    upvotes: int = 1
    notes: int = 0
    created_at: datetime = T0 - timedelta(days=1)
    labels: tuple[str, ...] = ("question",)

    @property
    def web_url(self) -> str:
        return f"https://gitlab.example/issues/{self.iid}"


def assert_inert(message: str, *, own_links: str = "https://gitlab.example/") -> None:
    assert not parse_post(message, KEYWORDS).any, message
    assert all(t.startswith(own_links) for t in links(message)), (links(message), message)


@settings(max_examples=200, deadline=None)
@given(hostile, hostile)
def test_agenda_titles_and_authors(title: str, author: str) -> None:
    slot = agenda.ClassSlot(date(2018, 10, 17), T0)
    built = agenda.build([Question(5, title, author)], cutoff=T0, top=3)
    message = agenda.render_frozen(agenda.FrozenAgenda(slot, T0, built), UTC)
    assert_inert(message)
    assert tags(message) <= {"h4", "p", "ol", "li", "a", "em", "strong"}


@settings(max_examples=200, deadline=None)
@given(hostile)
def test_announcement_bodies(text: str) -> None:
    assert_inert(render_announcement(text, "none"))
    loud = render_announcement(text, "all")
    assert loud.startswith("@all ") and not parse_post(loud.removeprefix("@all "), KEYWORDS).any
    assert tags(loud) <= {"p"}


@settings(max_examples=200, deadline=None)
@given(hostile, hostile, hostile)
def test_maintenance_reasons_clusters_and_job_names(reason: str, cluster: str, name: str) -> None:
    w = Window("m1", T0, T0 + timedelta(hours=2), "m1:base", reason=reason)
    notice = render_announce(w, UTC, cluster)
    assert notice.startswith("@all ")
    assert_inert(notice.removeprefix("@all "))
    record = JobRecord(
        cluster=cluster, job_id=7, submit=T0, user="alice", name=name, state="FAILED",
        exit_code=ExitCode(1, 0), elapsed=timedelta(seconds=5), gpus=1, nodes="n1", partition="gpu",
        start=T0, end=T0 + timedelta(seconds=5), uid=1001,
    )  # fmt: skip
    assert_inert(render_job(record, UTC))
    running = replace(record, state="RUNNING", end=None, time_limit=timedelta(days=1))
    assert_inert(render_job_warning(w, [running], UTC))
