"""`use <course>`: which course your DMs to the bot are about.

A slash command is typed in a team, and each course has its own team, so it needs no
choice. A DM has no team: it belongs to the one course its sender is in, and someone in
several courses (a tutor in one, a student in another) is asked once which one they mean.
This is the answer, and the way to change it later."""

from __future__ import annotations

from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup
from idlbot.commands.reply import Reply
from idlbot.domain.defuse import defuse
from idlbot.ports.course_choice import CourseRef

group = CommandGroup("Course")


def _named(course: CourseRef) -> str:
    return f"**{defuse(course.name)}** (`{course.id}`)"


@group.command(
    "use",
    summary="Choose which of your courses your DMs to me are about.",
    usage="use [course]",
    examples={
        "use": "Your DMs to me are about **Introduction to Deep Learning** (`main`).",
        "use nlp": "Done: your DMs to me are about **Natural Language Processing** (`nlp`) from now on.",
    },
    needs=("courses",),  # a one-course deployment has nothing to choose (nor shows `use`)
)
async def use(ctx: Context, args: str) -> Reply:
    choices, user = ctx.ports.courses, ctx.user
    mine = await choices.courses_of(user.username)
    wanted = args.strip().lower()
    if not wanted:
        current = await choices.current(user.id, user.username)
        if current is None:
            every = ", ".join(_named(c) for c in choices.courses())
            return Reply.private(f"You are in none of my courses ({every}). Ask an instructor to add you.")
        others = [c for c in mine if c.id != current.id]
        switch = "; ".join(f"`use {c.id}` for {defuse(c.name)}" for c in others)
        return Reply.private(
            f"Your DMs to me are about {_named(current)}." + (f" To switch: {switch}." if switch else "")
        )
    found = next((c for c in mine if c.id == wanted), None)
    if found is None:
        listed = ", ".join(f"`{c.id}` ({defuse(c.name)})" for c in mine) or "none"
        return Reply.private(f"You are not in a course `{defuse(wanted)}`. Your courses: {listed}.")
    await choices.choose(user.id, found.id)
    return Reply.private(
        f"Done: your DMs to me are about {_named(found)} from now on. `use` again to switch."
    )
