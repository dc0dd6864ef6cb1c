"""The example course's settings, as the reminder tests load them."""

from tests.reminders.conftest import settings

__all__ = ["settings"]
