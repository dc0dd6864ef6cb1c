"""The example course's GitLab, seeded into the GitLab simulator (demo and tests).

The course project holds the questions and the wiki; each student has a repository in
the assignments group, and bob and carol share one as an assignment group, so one
member's tag counts for both."""

from __future__ import annotations

from typing import Any

from idlbot.config import Settings
from idlbot.devtools.sim.gitlab import GitLabSim

HOOK_EVENTS = ("tag_push_events", "wiki_page_events", "issues_events", "note_events", "emoji_events")
SHARED_REPO = ("bob", "carol")


def seed_gitlab(sim: GitLabSim, settings: Settings, students: list[str]) -> dict[str, Any]:
    """Users (GitLab usernames = Mattermost usernames), groups, projects; the bot's token."""
    gl = settings.gitlab
    assert gl is not None, "the example config has a [gitlab] section"
    sim.add_user("idlbot", name="idlbot", admin=True, bot=False)
    staff = list(dict.fromkeys([*settings.roles.instructors, *settings.roles.tutors]))
    for name in [*staff, *students]:
        sim.add_user(name, name=name.title())
    _groups(sim, gl.project.rpartition("/")[0])
    course = sim.add_project(gl.project, members=[*staff, *students], description=settings.course.name)
    _groups(sim, gl.assignments_group)
    repos: dict[str, int] = {}
    for name in students:
        if name in SHARED_REPO:
            continue
        repos[name] = sim.add_project(f"{gl.assignments_group}/{name}", members=[name])["id"]
    shared = [s for s in SHARED_REPO if s in students]
    if shared:
        path = f"{gl.assignments_group}/{'-'.join(shared)}"
        repos["-".join(shared)] = sim.add_project(path, members=shared)["id"]
    return {"token": sim.issue_token("idlbot"), "course_project": course["id"], "repos": repos}


def _groups(sim: GitLabSim, path: str) -> None:
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        sub = "/".join(parts[:i])
        if sim.state.group(sub) is None:
            sim.add_group(sub)


def register_hooks(sim: GitLabSim, world: dict[str, Any], url: str, secret: str) -> None:
    """One hook per project; a resumed demo's hooks are pointed at the bot's new URL."""
    for project in [world["course_project"], *world["repos"].values()]:
        hooks = sim.state.require_project(project).hooks.values()
        for hook in hooks:
            hook.url, hook.token = url, secret
        if not hooks:
            sim.add_hook(project, url, token=secret, events=HOOK_EVENTS)
