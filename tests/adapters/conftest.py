"""The seeded Mattermost simulator of the sim tests, for the adapter tests that need one."""

from tests.sim.conftest import sim, world  # noqa: F401 - fixtures
