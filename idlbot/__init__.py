"""idlbot: a Mattermost bot that runs a university course's routine communication."""

__version__ = "0.1.0"
