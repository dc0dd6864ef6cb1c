"""State changes of the GitLab simulator that GitLab also turns into events and webhooks.

REST handlers and the seeding API both come through here, so a tag pushed by a test
and an issue edited by the bot leave the same traces: an Events API row where GitLab
writes one, and a webhook on the project's hooks that subscribe to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from idlbot.devtools.sim import gitlab_hooks as hooks
from idlbot.devtools.sim.gitlab_faults import SimError, bad_param, forbidden, not_found
from idlbot.devtools.sim.gitlab_json import wiki_title
from idlbot.devtools.sim.gitlab_state import (
    Award,
    Event,
    Issue,
    Note,
    Project,
    SimState,
    Tag,
    User,
    WikiPage,
    new_sha,
)

ZERO_SHA = "0" * 40


def slug_for(title: str) -> str:
    """Spaces become dashes; `/` makes directories (WikiPage#title= / Wiki.sluggified_title)."""
    return "/".join(part.strip().replace(" ", "-") for part in title.strip().split("/"))


class Ops:
    def __init__(self, state: SimState, emitter: hooks.Emitter, base: Callable[[], str]) -> None:
        self.state = state
        self.emitter = emitter
        self.base = base

    def _event(self, p: Project, user: User, action: str, name: str, at: datetime, **kw: Any) -> Event:
        event = Event(self.state.next_id("event", 9001), p.id, action, name, user.id, at, **kw)
        self.state.events.append(event)
        return event

    # ---- tags ----------------------------------------------------------------------------
    def push_tag(self, p: Project, tag: str, user: User, at: datetime | None, message: str = "") -> Tag:
        """A `git push origin <tag>`: push event with the receive time, then a Tag Push Hook."""
        at = at or self.state.now()
        if p.archived:
            raise ValueError(f"{p.path_with_namespace} is archived: GitLab refuses pushes to it")
        if tag in p.tags:
            raise ValueError(f"tag {tag} already exists in {p.path_with_namespace}")
        created = Tag(tag, new_sha(), at, message)
        p.tags[tag] = created
        push_data = {
            "commit_count": 0, "action": "created", "ref_type": "tag", "commit_from": None,
            "commit_to": created.target, "ref": tag, "commit_title": message or None, "ref_count": None,
        }  # fmt: skip
        self._event(p, user, "pushed", "pushed new", at, push_data=push_data)
        body = hooks.tag_push_hook(p, user, tag, ZERO_SHA, created.target, self.base(), message)
        self.emitter.emit(p, "tag_push_events", "Tag Push Hook", body)
        self._repository_update(p, user, tag, ZERO_SHA, created.target)
        return created

    def _repository_update(self, p: Project, user: User, tag: str, before: str, after: str) -> None:
        body = hooks.repository_update_hook(p, user, f"refs/tags/{tag}", before, after, self.base())
        self.emitter.emit_system("repository_update_events", body)

    def delete_tag(self, p: Project, tag: str, user: User, at: datetime | None) -> None:
        at = at or self.state.now()
        old = p.tags.pop(tag, None)
        if old is None:
            raise ValueError(f"no tag {tag} in {p.path_with_namespace}")
        push_data = {
            "commit_count": 0, "action": "removed", "ref_type": "tag", "commit_from": old.target,
            "commit_to": None, "ref": tag, "commit_title": None, "ref_count": None,
        }  # fmt: skip
        self._event(p, user, "pushed", "deleted", at, push_data=push_data)
        body = hooks.tag_push_hook(p, user, tag, old.target, ZERO_SHA, self.base())
        self.emitter.emit(p, "tag_push_events", "Tag Push Hook", body)
        self._repository_update(p, user, tag, old.target, ZERO_SHA)

    # ---- wiki ----------------------------------------------------------------------------
    def _wiki_event(self, p: Project, page: WikiPage, user: User, action: str, at: datetime) -> None:
        names = {"create": ("created", "created"), "update": ("updated", "updated")}
        code, name = names.get(action, ("destroyed", "destroyed"))
        meta = {"format": page.format, "slug": page.slug, "title": wiki_title(page.slug),
                "wiki_page_meta_id": page.meta_id}  # fmt: skip
        self._event(
            p, user, code, name, at, target_type="WikiPage::Meta", target_id=page.meta_id,
            target_title=wiki_title(page.slug), wiki_page=meta,
        )  # fmt: skip
        body = hooks.wiki_hook(p, page, user, action, new_sha(), self.base())
        self.emitter.emit(p, "wiki_page_events", "Wiki Page Hook", body)

    def create_wiki(
        self, p: Project, title: str, content: str, user: User, *, fmt: str = "markdown",
        at: datetime | None = None,
    ) -> WikiPage:  # fmt: skip
        slug = slug_for(title)
        if not slug:
            raise bad_param("title is missing")
        if slug in p.wiki:
            raise SimError(
                400, {"message": {"base": ["Duplicate page: A page with that title already exists"]}}
            )
        page = WikiPage(slug, content, fmt, self.state.next_id("wiki_meta"))
        p.wiki[slug] = page
        self._wiki_event(p, page, user, "create", at or self.state.now())
        return page

    def update_wiki(
        self, p: Project, slug: str, user: User, *, content: str | None = None, title: str | None = None,
        fmt: str | None = None,
    ) -> WikiPage:  # fmt: skip
        page = p.wiki.get(slug)
        if page is None:
            raise not_found("Wiki Page")
        if title is not None:
            new_slug = slug_for(title)
            if new_slug != slug:
                if new_slug in p.wiki:
                    raise SimError(
                        400, {"message": {"base": ["Duplicate page: A page with that title already exists"]}}
                    )
                del p.wiki[slug]
                page.slug = new_slug
                p.wiki[new_slug] = page
        if content is not None:
            page.content = content
        if fmt is not None:
            page.format = fmt
        self._wiki_event(p, page, user, "update", self.state.now())
        return page

    def delete_wiki(self, p: Project, slug: str, user: User) -> None:
        page = p.wiki.pop(slug, None)
        if page is None:
            raise not_found("Wiki Page")
        self._wiki_event(p, page, user, "delete", self.state.now())

    # ---- issues --------------------------------------------------------------------------
    def _issue_hook(self, p: Project, i: Issue, user: User, action: str, changes: dict[str, Any]) -> None:
        confidential = i.confidential
        body = hooks.issue_hook(self.state, p, i, user, action, changes, self.base())
        if confidential:
            body["event_type"] = "confidential_issue"
            self.emitter.emit(p, "confidential_issues_events", "Confidential Issue Hook", body)
        else:
            self.emitter.emit(p, "issues_events", "Issue Hook", body)

    def create_issue(
        self, p: Project, title: str, author: User, *, labels: Iterable[str] = (),
        description: str | None = None, at: datetime | None = None, confidential: bool = False,
    ) -> Issue:  # fmt: skip
        at = at or self.state.now()
        iid = self.state.next_id(f"iid:{p.id}")
        issue = Issue(
            self.state.next_id("issue", 1100), iid, p.id, title, description, author.id, set(labels), at, at,
            confidential=confidential,
        )  # fmt: skip
        p.issues[iid] = issue
        self._event(p, author, "created", "opened", at, target_type="Issue", target_id=issue.id,
                    target_iid=iid, target_title=title)  # fmt: skip
        self._issue_hook(p, issue, author, "open", {"title": {"previous": None, "current": title}})
        return issue

    def update_issue(self, p: Project, i: Issue, user: User, params: dict[str, Any]) -> Issue:
        """PUT /issues/:iid: `labels` replaces, `add_labels`/`remove_labels` patch."""
        before_labels = set(i.labels)
        before_state = i.state
        if "title" in params:
            i.title = str(params["title"])
        if "description" in params:
            i.description = params["description"]
        if "labels" in params:
            i.labels = set(as_list(params["labels"]))
        i.labels |= set(as_list(params.get("add_labels")))
        i.labels -= set(as_list(params.get("remove_labels")))
        action = "update"
        event = params.get("state_event")
        if event == "close" and i.state == "opened":
            i.state, i.closed_at, action = "closed", self.state.now(), "close"
        elif event == "reopen" and i.state == "closed":
            i.state, i.closed_at, action = "opened", None, "reopen"
        i.updated_at = self.state.now()
        changes: dict[str, Any] = {}
        if i.labels != before_labels:
            changes["labels"] = {
                "previous": [hooks.hook_label(self.state, p, t) for t in sorted(before_labels)],
                "current": [hooks.hook_label(self.state, p, t) for t in sorted(i.labels)],
            }
        if i.state != before_state:
            changes["state_id"] = {"previous": 1 if before_state == "opened" else 2,
                                   "current": 1 if i.state == "opened" else 2}  # fmt: skip
        changes["updated_at"] = {"previous": None, "current": hooks.hook_time(i.updated_at)}
        if action != "update":  # Event actions "closed"/"reopened" (action_name is the same word)
            done = "closed" if action == "close" else "reopened"
            self._event(p, user, done, done, i.updated_at, target_type="Issue", target_id=i.id,
                        target_iid=i.iid, target_title=i.title)  # fmt: skip
        self._issue_hook(p, i, user, action, changes)
        return i

    def award(self, p: Project, i: Issue, name: str, user: User) -> Award:
        """One award per (user, issue, name); fires only the Emoji Hook, bumps updated_at."""
        if not name or not name.replace("_", "").replace("+", "").replace("-", "").isalnum():
            raise not_found("Award Emoji Name is not a valid emoji name")
        if any(a.name == name and a.user_id == user.id for a in i.awards):
            raise not_found("Award Emoji Name has already been taken")
        award = Award(self.state.next_id("award", 300), name, user.id, i.id, self.state.now())
        i.awards.append(award)
        i.updated_at = award.created_at
        body = hooks.emoji_hook(self.state, p, i, award, user, "award", self.base())
        self.emitter.emit(p, "emoji_events", "Emoji Hook", body)
        return award

    def revoke(self, p: Project, i: Issue, award_id: int, user: User) -> None:
        award = next((a for a in i.awards if a.id == award_id), None)
        if award is None:
            raise not_found("Award Emoji")
        if award.user_id != user.id and not user.admin:
            raise forbidden()
        i.awards.remove(award)
        body = hooks.emoji_hook(self.state, p, i, award, user, "revoke", self.base())
        self.emitter.emit(p, "emoji_events", "Emoji Hook", body)

    def add_note(self, p: Project, i: Issue, body: str, user: User) -> Note:
        if not body:
            raise bad_param("body is missing")
        now = self.state.now()
        note = Note(self.state.next_id("note", 5400), body, user.id, now, now)
        i.notes.append(note)
        i.updated_at = now
        self._event(p, user, "commented", "commented on", now, target_type="Note", target_id=note.id,
                    target_title=i.title)  # fmt: skip
        payload = hooks.note_hook(self.state, p, i, note, user, self.base())
        if i.confidential:
            payload["event_type"] = "confidential_note"
            self.emitter.emit(p, "confidential_note_events", "Confidential Note Hook", payload)
        else:
            self.emitter.emit(p, "note_events", "Note Hook", payload)
        return note


def as_list(value: Any) -> list[str]:
    """`labels` is a comma string in queries and a JSON array in bodies; GitLab takes both."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]
