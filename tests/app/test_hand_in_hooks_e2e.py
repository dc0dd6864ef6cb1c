"""Issue #12, item 1: hand-ins by webhook, through the whole bot and both simulators.

GitLab CE has no group webhooks, so a tag pushed to a student's repository reaches the
bot in seconds only through that repository's own hook (`setup-gitlab`, and the
reconciliation for repositories created later) or an admin's system hook. Each test
leaves the repositories without the hooks the harness otherwise seeds, and keeps the
reconciliation to its one run at start, so what reaches `/idl status` came by webhook."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import gitlab

from idlbot.domain.ledger import Student
from tests.app.conftest import WEBHOOK_SECRET, Harness, eventually, make_harness
from tests.app.test_cli import run_cli
from tests.support.configfile import write_config

RECONCILE = "gitlab reconciliation"
A_YEAR = 365 * 24 * 60.0  # minutes: the reconciliation runs once, at start
ROSTER = [
    Student(mattermost="alice", gitlab="alice", group_id="g1", team_id="lyrics-a"),
    Student(mattermost="bob", gitlab="bob", group_id="g2", team_id="lyrics-b"),
    Student(mattermost="carol", gitlab="carol", group_id="g3", team_id="lyrics-b"),
]


async def started(db_url: str, *, repository_hooks: bool = True) -> Harness:
    h = await make_harness(db_url, gitlab=True, reconcile_minutes=A_YEAR)
    h.seed_repo_hooks = False
    assert h.settings.gitlab is not None
    h.settings = replace(h.settings, gitlab=replace(h.settings.gitlab, repository_hooks=repository_hooks))
    bot = await h.start_bot()
    for student in ROSTER:
        await bot.roster.upsert(student, now=bot.clock.now())
    await eventually(
        lambda: bot.periodic.next_due(RECONCILE) > bot.clock.now(), what="the reconciliation at start"
    )
    return h


async def on_time(h: Harness, user: str, assignment: str) -> None:
    async def shown() -> bool:
        return f"{assignment}: on time" in str((await h.slash(user, "/idl status"))["text"])

    await eventually(shown, timeout=5, what=f"{assignment} on time in {user}'s /idl status")


def hook_url(h: Harness) -> str:
    return f"http://127.0.0.1:{h.bot.port}/gitlab/webhook"


async def test_a_tag_in_a_student_repository_reaches_status_by_its_hook(db_url: str, tmp_path: Path) -> None:
    h = await started(db_url)
    try:
        gl, bot = h.gitlab, h.bot
        assert gl is not None and bot.port is not None
        config = write_config(
            tmp_path / "c.toml", mattermost_url=h.sim.url, port=bot.port,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", gitlab_url=gl.url,
        )  # fmt: skip
        env = {**os.environ, "IDLBOT_GITLAB_TOKEN": h.gitlab_world["token"],
               "IDLBOT_GITLAB_WEBHOOK_SECRET": WEBHOOK_SECRET}  # fmt: skip
        setup = await asyncio.to_thread(run_cli, "setup-gitlab", "--config", str(config), env=env)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        due = bot.periodic.next_due(RECONCILE)
        gl.push_tag("idl2018/assignments/alice", "a02", user="alice")
        gl.push_tag("idl2018/assignments/bob-carol", "a02", user="carol")
        await on_time(h, "alice", "a02")
        await on_time(h, "bob", "a02")  # one member's tag counts for the assignment group
        assert bot.periodic.next_due(RECONCILE) == due  # no reconciliation ran meanwhile
        tag_hooks = [d for d in gl.deliveries if d.event == "Tag Push Hook"]
        assert len(tag_hooks) == 2 and all(d.ok and d.url == hook_url(h) for d in tag_hooks)
        assert "idl2018/assignments/alice: ok" in setup.stdout  # the bot's own pass was first
        assert setup.stdout.strip().endswith("3 of 3 projects in place")
    finally:
        await h.close()


async def test_setup_gitlab_reports_each_project(tmp_path: Path) -> None:
    """A token that is Maintainer of some repositories only: the others are reported and
    the run goes on; the exit code says whether everything is in place."""
    h = await make_harness(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", gitlab=True)
    try:
        gl = h.gitlab
        assert gl is not None
        group = "idl2018/assignments"
        gl.add_user("keeper")
        gl.add_member("stober/idl2018", "keeper", 40)
        gl.add_member(f"{group}/alice", "keeper", 40)
        gl.add_member(f"{group}/bob-carol", "keeper", 30)  # Developer: no hooks for it
        gl.add_group(f"{group}/late")
        gl.add_project(f"{group}/late/dave", members={"keeper": 40})
        gl.add_project(f"{group}/old", members={"keeper": 40})
        gl.archive(f"{group}/old")
        config = write_config(
            tmp_path / "c.toml", mattermost_url=h.sim.url, port=8765,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", gitlab_url=gl.url,
        )  # fmt: skip
        env = {**os.environ, "IDLBOT_GITLAB_TOKEN": gl.issue_token("keeper"),
               "IDLBOT_GITLAB_WEBHOOK_SECRET": WEBHOOK_SECRET}  # fmt: skip

        def setup() -> Any:
            return asyncio.to_thread(run_cli, "setup-gitlab", "--config", str(config), env=env)

        first = await setup()
        assert first.returncode == 1, first.stderr
        assert first.stderr == ""
        assert first.stdout.splitlines() == [
            "webhook http://127.0.0.1:8765/gitlab/webhook with the secret IDLBOT_GITLAB_WEBHOOK_SECRET",
            "stober/idl2018: created (the course project: tag_push_events, wiki_page_events, issues_events, "
            "confidential_issues_events, note_events, confidential_note_events, emoji_events)",
            f"{group}/alice: created",
            f"{group}/bob-carol: no permission (GitLab answered 403: the token's user needs Maintainer "
            "there)",
            f"{group}/late/dave: created",
            f"{group}/old: archived, skipped (nobody can push to it)",
            "4 of 5 projects in place; 1 not: hand-ins there wait for the reconciliation",
        ]
        [hook] = gl.hooks(f"{group}/alice")
        assert (hook.url, hook.token) == ("http://127.0.0.1:8765/gitlab/webhook", WEBHOOK_SECRET)
        assert [flag for flag, on in hook.events.items() if on] == ["tag_push_events"]
        gl.add_member(f"{group}/bob-carol", "keeper", 40)
        again = await setup()
        assert again.returncode == 0, again.stdout
        assert f"{group}/alice: ok" in again.stdout and f"{group}/bob-carol: created" in again.stdout
        assert "stober/idl2018: ok" in again.stdout and again.stdout.endswith("5 of 5 projects in place\n")
        assert len(gl.hooks(f"{group}/alice")) == 1
    finally:
        await h.close()


async def test_the_reconciliation_hooks_a_repository_created_later(db_url: str) -> None:
    h = await started(db_url)
    try:
        gl, bot = h.gitlab, h.bot
        assert gl is not None
        late = "idl2018/assignments/alice-resit"
        gl.add_project(late, members=["alice"])
        listed = len(gl.routed("/projects/:id/hooks"))
        await bot.periodic.run_now(RECONCILE)
        [hook] = gl.hooks(late)
        assert (hook.url, hook.token, hook.events["tag_push_events"]) == (hook_url(h), WEBHOOK_SECRET, True)
        assert len(gl.routed("/projects/:id/hooks")) == listed + 1  # only the new one was looked at
        gl.push_tag(late, "a02", user="alice")
        await on_time(h, "alice", "a02")
    finally:
        await h.close()


async def test_a_system_hook_delivers_tag_pushes_of_every_repository(db_url: str) -> None:
    """An admin's system hook instead of per-repository hooks ([gitlab] repository_hooks
    = false): a tag push arrives as `System Hook` with the same secret; other system
    events and projects outside the assignments group change nothing."""
    h = await started(db_url, repository_hooks=False)
    try:
        gl, bot = h.gitlab, h.bot
        assert gl is not None
        admin = gitlab.Gitlab(gl.url, private_token=h.gitlab_world["token"])
        data = {"url": hook_url(h), "token": WEBHOOK_SECRET, "tag_push_events": True}
        await asyncio.to_thread(admin.hooks.create, data)
        assert all(gl.hooks(p) == [] for p in h.gitlab_world["repos"].values())  # none of their own
        listings = len(gl.routed("/groups/:id/projects"))
        gl.push_tag("stober/idl2018", "a02", user="alice")  # the course project: not a hand-in
        gl.push_tag("idl2018/assignments/alice", "a02", user="alice")
        await on_time(h, "alice", "a02")
        await gl.flush_hooks()
        system = [d for d in gl.deliveries if d.event == "System Hook"]
        kinds = sorted(str(d.body["event_name"]) for d in system)
        assert kinds == ["repository_update", "repository_update", "tag_push", "tag_push"]
        assert all(d.ok for d in system)
        assert len(gl.routed("/groups/:id/projects")) == listings  # no re-read for a foreign project
        status = str((await h.slash("bob", "/idl status"))["text"])
        assert "a02: on time" not in status
        body = next(d.body for d in system if d.body["event_name"] == "tag_push")
        async with aiohttp.ClientSession() as http:
            forged = {"X-Gitlab-Event": "System Hook", "X-Gitlab-Token": "wrong"}
            bob = {**body, "user_username": "bob", "project_id": h.gitlab_world["repos"]["bob-carol"]}
            async with http.post(hook_url(h), json=bob, headers=forged) as resp:
                assert resp.status == 401
            good = {"X-Gitlab-Event": "System Hook", "X-Gitlab-Token": WEBHOOK_SECRET}
            for bad in ({**body, "project_id": "x"}, {**body, "ref": ["refs/tags/a03"]}):
                async with http.post(hook_url(h), json=bad, headers=good) as resp:
                    assert resp.status == 400, await resp.text()
            async with http.post(hook_url(h), data=b"[1,", headers=good) as resp:
                assert resp.status == 400
        assert "a02: on time" not in str((await h.slash("bob", "/idl status"))["text"])
        assert bot.periodic.next_due(RECONCILE) > bot.clock.now()
    finally:
        await h.close()
