"""Write a real config file (the example course, with local endpoints) for CLI tests."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from idlbot.config import example_config_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def set_key(text: str, section: str, key: str, value: str) -> str:
    """Replace `key = …` inside `[section]` (the first occurrence after the header)."""
    header = re.search(rf"^\[{re.escape(section)}\]\s*$", text, re.MULTILINE)
    assert header is not None, section
    pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.MULTILINE)
    match = pattern.search(text, header.end())
    assert match is not None, (section, key)
    return text[: match.start()] + f"{key} = {value}" + text[match.end() :]


def write_config(
    path: Path, *, mattermost_url: str, database_url: str, port: int, gitlab_url: str | None = None
) -> Path:
    text = example_config_path().read_text()
    if gitlab_url is not None:
        text = set_key(text, "gitlab", "url", f'"{gitlab_url}"')
    text = set_key(text, "mattermost", "url", f'"{mattermost_url}"')
    text = set_key(text, "server", "port", str(port))
    text = set_key(text, "server", "public_url", f'"http://127.0.0.1:{port}"')
    text = set_key(text, "database", "url", f'"{database_url}"')
    path.write_text(text)
    return path
