"""Authorization through the whole bot: slash commands posted by the simulator (or, for
forged forms, straight to the bot's route with the right token), answered by the real
dispatcher, registry and SQL stores.

The holes these close: a tutor could `remind add` to any channel and cancel anyone's
reminder; a slash form's `user_id` went unchecked into the lookup's URL path, so
`../users/username/sstober` made the caller the instructor; and when the lookup failed,
the form's `user_name` was taken instead. The caller is now whoever Mattermost says the
id belongs to, or nobody: a refusal, and nothing is run.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.app.conftest import Harness, slash_form

UNKNOWN_ID = "y" * 26  # the shape of a Mattermost id, but no account has it


async def _post_form(h: Harness, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{h.bot.port}/mattermost/command"
    headers = {
        "Authorization": f"Token {form['token']}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=urlencode(sorted(form.items())), headers=headers) as resp,
    ):
        return resp.status, await resp.json()


def _lookups_by_name(h: Harness, username: str) -> list[str]:
    return [r.path for r in h.sim.requests if r.path.endswith(f"/users/username/{username}")]


async def _custom_reminders(h: Harness) -> list[str]:
    listing = await h.answer("sstober", "/idl remind list")
    return [line for line in listing.splitlines() if " #" in line]


async def test_a_tutor_cannot_remind_in_town_square(harness: Harness) -> None:
    refused = await harness.answer("tutor1", "/idl remind add in 2h town-square Free pizza in G29!")
    assert refused == (
        "Tutors can remind only in their exercise group's channel (~exercise-group-1); "
        "~town-square is not one of them."
    )
    other_group = await harness.answer("tutor1", "/idl remind add in 2h group2 Session moved")
    assert "~exercise-group-2 is not one of them" in other_group
    assert await _custom_reminders(harness) == []
    mine = await harness.answer("tutor1", "/idl remind add in 2h group1 Bring your laptops")
    assert mine.startswith("Reminder 1 set:") and mine.endswith("to ~group1.")


async def test_a_tutor_cannot_cancel_the_instructors_reminder(harness: Harness) -> None:
    added = await harness.answer("sstober", "/idl remind add tue 10:00 questions Two hours left")
    assert added.startswith("Reminder 1 set:")
    refused = await harness.answer("tutor1", "/idl remind cancel 1")
    assert refused == "Tutors can cancel only their own reminders; reminder 1 was created by @sstober."
    assert "Tutors can test only their own reminders" in await harness.answer("tutor1", "/idl remind test 1")
    assert len(await _custom_reminders(harness)) == 1  # still planned
    assert await harness.answer("sstober", "/idl remind cancel 1") == "Reminder 1 cancelled."


async def test_a_path_in_user_id_never_makes_the_caller_the_instructor(harness: Harness) -> None:
    before = len(_lookups_by_name(harness, "sstober"))
    for text in ("whoami", "remind add in 2h town-square pwned"):
        form = slash_form(harness, user_id="../users/username/sstober", user_name="alice", text=text)
        status, body = await _post_form(harness, form)
        # the slash route may refuse the malformed id itself (400); if it passes it on,
        # the dispatcher must refuse it before anything is looked up or run
        assert status in (200, 400), body
        shown = str(body.get("text", body.get("error", "")))
        assert "instructor" not in shown and "Reminder" not in shown and "alice" not in shown
        if status == 200:
            assert shown == "That request does not carry a Mattermost user id, so I cannot tell who you are."
    assert len(_lookups_by_name(harness, "sstober")) == before
    assert await _custom_reminders(harness) == []


async def test_an_unknown_user_is_refused_not_taken_from_user_name(harness: Harness) -> None:
    form = slash_form(harness, user_id=UNKNOWN_ID, user_name="sstober")
    status, body = await _post_form(harness, form)
    assert status == 200
    assert body["text"] == "Mattermost does not know your account (unknown user), so I ran nothing."


async def test_a_failed_lookup_is_a_refusal_not_the_forms_name(harness: Harness) -> None:
    """While Mattermost answers the lookup with errors, the command is not run under the
    name the form claims (here the real one, alice; a forger could claim anyone)."""
    lookup = "GET /api/v4/users/{user_id}"
    harness.sim.faults.fail_route(lookup, 5, status=500)  # a 500 is not retried by the driver
    try:
        result = await harness.slash("alice", "/idl whoami")
    finally:
        harness.sim.faults.fail_route(lookup, 0)
    assert result["text"] == "I could not look you up in Mattermost right now; try again in a minute."
    assert (await harness.slash("alice", "/idl whoami"))["text"].startswith("You are @alice, a student.")


async def test_a_dm_goes_through_the_same_checked_lookup(harness: Harness) -> None:
    assert (await harness.dm("tutor1", "remind add in 2h town-square hi")).startswith(
        "Tutors can remind only in their exercise group's channel (~exercise-group-1)"
    )
    assert (await harness.dm("tutor1", "whoami")).startswith("You are @tutor1, a tutor.")
