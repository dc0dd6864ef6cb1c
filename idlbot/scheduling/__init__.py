"""The alarm clock: the only package that imports apscheduler.

`aps.ApsReminderScheduler` wakes `services.reminders.ReminderRunner` on time with
APScheduler's in-memory store. What is due and what was sent is reminder business logic
and lives in `services/` (`reminders`, `reminder_firing`), on the store's port."""
