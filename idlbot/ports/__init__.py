"""Ports: what commands and services need from the outside world, as Protocols.

Commands and services depend on these nouns only; the adapters (Mattermost, GitLab,
Slurm) and the SQL repositories implement them. That keeps `idlbot.commands` and
`idlbot.services` free of aiohttp, SQLAlchemy and the client libraries, and lets their
tests run against in-memory fakes. One module per area; nothing is re-exported here.
"""
