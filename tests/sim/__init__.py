"""Tests of the Mattermost simulator (idlbot.devtools.sim) with real clients over real sockets."""
