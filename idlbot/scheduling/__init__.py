"""Time-driven work: the reminder alarm clock and the bot's periodic passes.

`aps.ApsReminderScheduler` wakes `services.reminders.ReminderRunner` on time with
APScheduler's in-memory store (the only importer of apscheduler). What is due and what was
sent is reminder business logic and lives in `services/` (`reminders`, `reminder_firing`),
on the store's port. `periodic.Periodic` runs the bot's repeatable passes (housekeeping,
polls, reconciliations) on the injected clock; `passes` adapts service calls to it."""
