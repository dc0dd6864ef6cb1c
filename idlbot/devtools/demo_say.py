"""`idlbot say`: act as a demo user against a running demo, through the simulator's
public API as a user's client would, and print what that user sees.

Files the bot attaches (the overview chart, the CSV export) are downloaded with
`GET /api/v4/files/{id}` into a directory (default `<data dir>/files`) and their paths
printed, so they can be opened. A demo that is not running is one line and exit 1.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

STATE_FILE = "demo.json"
#: How long to wait for an answer the bot has announced ("Working on it…", "on its way to
#: your DM"); it is printed as soon as it arrives, so this only bounds a slow machine.
LATE_ANSWER_S = 30.0


def _gone(info: dict[str, Any], state_path: Path) -> int:
    print(
        f"no demo is running at {info.get('mattermost_url', '?')} (the demo of {state_path.parent} has "
        f"stopped): start it with `idlbot demo{_dir_option(state_path.parent)}`",
        file=sys.stderr,
    )
    return 1


def _dir_option(data_dir: Path) -> str:
    """` --data-dir X`, unless X is the default one."""
    from idlbot.devtools.demo_state import default_data_dir

    return "" if data_dir.resolve() == default_data_dir().resolve() else f" --data-dir {data_dir}"


async def say(
    user: str,
    text: str,
    *,
    data_dir: str | Path | None = None,
    dm: bool = False,
    wait: float = 3.0,
    files_dir: str | Path | None = None,
) -> int:
    """Act as a demo user: run a slash command or DM the bot, print what the user sees."""
    from idlbot.devtools.demo_state import default_data_dir

    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    state_path = directory / STATE_FILE
    if not state_path.exists():
        print(
            f"no demo found ({state_path} is missing): start one with `idlbot demo{_dir_option(directory)}`",
            file=sys.stderr,
        )
        return 1
    try:
        info = json.loads(state_path.read_text())
        token = info["tokens"].get(user)
    except (ValueError, KeyError, TypeError, AttributeError):
        again = f"`idlbot demo{_dir_option(directory)}`"
        print(f"{state_path} is not a demo's state: start the demo again with {again}", file=sys.stderr)
        return 1
    if token is None:
        print(f"unknown demo user {user!r}; users: {', '.join(info['tokens'])}", file=sys.stderr)
        return 1
    saver = FileSaver(Path(files_dir) if files_dir is not None else directory / "files", info, token)
    try:
        return await _say(info, user, token, text, dm=dm, wait=wait, saver=saver)
    except aiohttp.ClientConnectionError:
        return _gone(info, state_path)


async def _say(
    info: dict[str, Any], user: str, token: str, text: str, *, dm: bool, wait: float, saver: FileSaver
) -> int:
    base = info["mattermost_url"] + "/api/v4"
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=40)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
        if dm:
            return await _say_dm(http, base, info, user, text, wait, saver)
        command = text if text.startswith("/") else f"/idl {text}"
        dm_channel = await _dm_channel(http, base, info, user)
        started = int(time.time() * 1000)
        # slow commands answer later through response_url: an ephemeral post that only
        # the user's websocket sees, so listen like a client before asking
        ws_url = info["mattermost_url"].replace("http://", "ws://", 1) + "/api/v4/websocket"
        async with http.ws_connect(ws_url) as ws:
            await ws.send_json({"seq": 1, "action": "authentication_challenge", "data": {"token": token}})
            async with http.post(
                f"{base}/commands/execute", json={"channel_id": info["town_square"], "command": command}
            ) as resp:
                body = await resp.json(content_type=None)
            if str(body.get("text", "")).startswith("Working on it"):
                body = {**body, "text": await _late_answer(ws, wait) or body.get("text", "")}
        if resp.status != 200:
            print(f"Mattermost: {body.get('message', body)}")
            return 1
        print(f"[{user}] {command}")
        visibility = (
            "only visible to you" if body.get("response_type", "ephemeral") == "ephemeral" else "in channel"
        )
        print(f"idlbot ({visibility}):\n{body.get('text', '')}\n")
        if "your DM" in str(body.get("text", "")):  # announced: worth waiting for (a chart takes time)
            await _print_dms(http, base, info, dm_channel, started, max(wait, LATE_ANSWER_S), saver)
    return 0


async def _late_answer(ws: aiohttp.ClientWebSocketResponse, wait: float) -> str | None:
    """The first ephemeral post after "Working on it…", as the web client would show it."""
    deadline = time.monotonic() + max(wait, LATE_ANSWER_S)
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            return None
        if msg.type != aiohttp.WSMsgType.TEXT:
            return None
        frame = json.loads(msg.data)
        if frame.get("event") == "ephemeral_message":
            message = str(json.loads(frame["data"]["post"]).get("message", ""))
            if not message.startswith("Working on it"):
                return message
    return None


async def _say_dm(
    http: aiohttp.ClientSession,
    base: str,
    info: dict[str, Any],
    user: str,
    text: str,
    wait: float,
    saver: FileSaver,
) -> int:
    channel = await _dm_channel(http, base, info, user)
    async with http.post(f"{base}/posts", json={"channel_id": channel, "message": text}) as resp:
        sent = await resp.json(content_type=None)
    print(f"[{user} → @idlbot] {text}")
    return 0 if await _print_dms(http, base, info, channel, int(sent["create_at"]), wait, saver) else 1


async def _dm_channel(http: aiohttp.ClientSession, base: str, info: dict[str, Any], user: str) -> str:
    bot_id, user_id = info["users"]["idlbot"], info["users"][user]
    async with http.post(f"{base}/channels/direct", json=[user_id, bot_id]) as resp:
        channel = await resp.json(content_type=None)
    return str(channel["id"])


class FileSaver:
    """Downloads a post's attachments as the user (who may read their DM channel)."""

    def __init__(self, directory: Path, info: dict[str, Any], token: str) -> None:
        self.directory = directory
        self._base = info["mattermost_url"] + "/api/v4"
        self._token = token

    async def save(self, http: aiohttp.ClientSession, post_id: str, file: dict[str, Any]) -> Path:
        async with http.get(f"{self._base}/files/{file['id']}") as resp:
            resp.raise_for_status()
            data = await resp.read()
        # the post id keeps two charts of the same name apart; the name stays recognisable
        name = Path(re.sub(r"[^\w.-]", "_", str(file["name"])) or "file")
        path = self.directory / f"{name.stem}-{post_id[:8]}{name.suffix}"
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path.resolve()


async def _print_dms(
    http: aiohttp.ClientSession,
    base: str,
    info: dict[str, Any],
    channel: str,
    since: int,
    wait: float,
    saver: FileSaver,
) -> bool:
    """Print the bot's posts in the DM channel created after `since` (waiting up to `wait` s),
    saving their files."""
    deadline = time.monotonic() + max(wait, 0.5)
    while time.monotonic() < deadline:
        async with http.get(f"{base}/channels/{channel}/posts", params={"since": str(since)}) as resp:
            page = await resp.json(content_type=None)
        replies = [
            p
            for p in page.get("posts", {}).values()
            if p["user_id"] == info["users"]["idlbot"] and p["create_at"] >= since
        ]
        if replies:
            for post in sorted(replies, key=lambda p: p["create_at"]):
                files = post.get("metadata", {}).get("files", [])
                listed = [f"{f['name']} ({f['size']} bytes)" for f in files]
                attached = f"\n[attached: {', '.join(listed)}]" if files else ""
                saved = [f"[saved: {await saver.save(http, post['id'], f)}]" for f in files]
                print(f"idlbot (DM):\n{post['message']}{attached}" + "".join(f"\n{s}" for s in saved) + "\n")
            return True
        await asyncio.sleep(0.2)
    print("(no reply yet)")
    return False


async def prompt_loop(data_dir: Path, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            line = await loop.run_in_executor(None, input, "> ")
        except EOFError:
            stop.set()
            return
        user, dm, text = parse_prompt(line)
        if text:
            await say(user, text, data_dir=data_dir, dm=dm, wait=2.0)


def parse_prompt(line: str) -> tuple[str, bool, str]:
    """`bob: /idl help` → ("bob", False, "/idl help"); `alice dm: whoami` → ("alice", True, "whoami")."""
    head, sep, rest = line.partition(":")
    if sep and " " not in head.strip().removesuffix(" dm") and not head.strip().startswith("/"):
        who = head.strip()
        dm = who.endswith(" dm")
        return who.removesuffix(" dm").strip() or "alice", dm, rest.strip()
    return "alice", False, line.strip()
