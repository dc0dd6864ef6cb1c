"""Reminder scheduling (issue 4): the only package that imports apscheduler.

`firing.fire` is the plain job function; `runner.ReminderRunner` plans from our tables
and fires what is due (`ManualScheduler` in tests); `aps.ApsReminderScheduler` wakes it
on time with APScheduler's in-memory store; `service.ReminderService` is the
`Reminders` port the commands use. `periodic.Periodic` runs the bot's repeatable passes
(housekeeping, polls, reconciliations) on the injected clock; `passes` adapts service
calls to it."""
