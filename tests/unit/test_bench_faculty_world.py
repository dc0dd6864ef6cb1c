"""What `benchmarks/bench_faculty` runs the bot with: a deployment the real loader accepts,
one course per team, each with its own id and /idl token variable, no GitLab and none of
the per-student DMs; and the forms rotate over every course's students."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from benchmarks.faculty_world import build_faculty, register
from idlbot.config.deployment import load_deployment


async def test_the_deployment_is_every_course_on_its_own_team(tmp_path: Path) -> None:
    faculty = await build_faculty(tmp_path, 3, 2, others=1)
    try:
        await register(faculty, "http://127.0.0.1:9123")
        assert len({c.token for c in faculty.courses}) == 3  # one /idl per team, each its own
        path = faculty.write_files("d", "postgresql+asyncpg://postgres@127.0.0.1:5432/x", 9123)
        env = faculty.env({})
        assert env["IDLBOT_SLASH_TOKEN_C02"] == faculty.courses[1].token
        deployment = load_deployment(path, env=env)
        assert deployment.ids == ("c01", "c02", "c03")
        for settings in deployment.courses:
            assert settings.mattermost.team == settings.course.id
            assert settings.mattermost.url == faculty.sim.url and settings.gitlab is None
            assert not settings.warnings.enabled and not settings.presenters.enabled
            assert not settings.blog_nudge.enabled and not settings.summaries.enabled
            assert settings.server.port == 9123
        forms = faculty.forms("status")
        teams = [urllib.parse.parse_qs(body)["team_id"][0] for _, body in forms]
        assert teams[:3] == [c.team_id for c in faculty.courses] and len(forms) == 6
        assert all(f"token={token}" in body for token, body in forms)
        assert len(faculty.dm_targets(100)) == 7  # 3 x 2 students and the one other user
    finally:
        await faculty.sim.stop()
