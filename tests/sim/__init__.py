"""Tests of the Mattermost simulator (idlbot.sim) with real clients over real sockets."""
