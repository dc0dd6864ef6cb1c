"""The simulator's `/api/v4/websocket`, framed as the Mattermost server frames it.

Each connection gets an outgoing queue drained by one writer task, so `seq` numbers are
assigned in the order frames hit the wire and REST handlers can publish synchronously.
The keepalive follows gorilla: PING every `ping_interval`, and a peer that sent nothing
(no frame, no PONG) for `ping_interval * 100/60` is dropped without a close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from idlbot.devtools.sim.mm_state import VERSION_ID, SimState, go_json, new_id

AUTH_OK_ACTIONS = {"user_typing", "get_statuses", "get_statuses_by_ids", "presence"}


def token_from_request(request: web.Request) -> str:
    """`ParseAuthTokenFromRequest`: `Bearer`/`Token` header, MMAUTHTOKEN cookie, `access_token`."""
    header = request.headers.get("Authorization", "")
    if len(header) > 6 and header[:6].upper() == "BEARER":
        return header[7:]
    if len(header) > 5 and header[:5].lower() == "token":
        return header[6:]
    cookie = request.cookies.get("MMAUTHTOKEN")
    if cookie:
        return cookie
    return request.query.get("access_token", "")


class WsConn:
    """One websocket connection (a `platform.WebConn`)."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None) -> None:
        self.ws = ws
        self.transport = transport
        self.user_id: str | None = None
        self.connection_id = new_id()
        self.seq = 0
        self.last_seen = time.monotonic()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.closed = False

    def enqueue_event(self, event: str, data: dict[str, Any], broadcast: dict[str, Any]) -> None:
        """Queue an event and give it this connection's next `seq` (events only, not replies)."""
        if self.closed:
            return
        frame = {"event": event, "data": dict(sorted(data.items())), "broadcast": broadcast, "seq": self.seq}
        self.seq += 1
        self.queue.put_nowait(go_json(frame))

    def enqueue_reply(self, seq_reply: int, status: str, error: dict[str, Any] | None = None) -> None:
        frame: dict[str, Any] = {"status": status, "seq_reply": seq_reply}
        if error is not None:
            frame["error"] = error
        if not self.closed:
            self.queue.put_nowait(go_json(frame))

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (the client sees 1006)."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def reset(self) -> None:
        """SO_LINGER {on, 0} then close: the kernel answers with RST instead of FIN."""
        self.closed = True
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


def broadcast_shape(user_id: str = "", channel_id: str = "", team_id: str = "") -> dict[str, Any]:
    return {
        "omit_users": None,
        "user_id": user_id,
        "channel_id": channel_id,
        "team_id": team_id,
        "connection_id": "",
        "omit_connection_id": "",
    }


class WsHub:
    """All live connections plus the upgrade handler."""

    def __init__(self, state: SimState, *, ping_interval: float) -> None:
        self.state = state
        self.ping_interval = ping_interval
        self.auth_timeout = 5.0  # authCheckInterval
        self.conns: set[WsConn] = set()
        self.reject_auth: Callable[[], bool] = lambda: False

    # ---- publishing ----------------------------------------------------------------------
    def _authed(self) -> list[WsConn]:
        return [c for c in self.conns if c.user_id is not None and not c.closed]

    def to_user(self, user_id: str, event: str, data: dict[str, Any], broadcast: dict[str, Any]) -> None:
        for conn in self._authed():
            if conn.user_id == user_id:
                conn.enqueue_event(event, data, broadcast)

    def to_channel(
        self,
        channel_id: str,
        event: str,
        data: dict[str, Any],
        broadcast: dict[str, Any],
        per_user: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Deliver to every connected channel member; `per_user` is the hub hook (mentions)."""
        members = self.state.channel_members.get(channel_id, {})
        for conn in self._authed():
            if conn.user_id in members:
                assert conn.user_id is not None
                payload = per_user(conn.user_id, dict(data)) if per_user else data
                conn.enqueue_event(event, payload, broadcast)

    # ---- faults / shutdown ----------------------------------------------------------------
    async def drop_all(self, code: int) -> None:
        conns = list(self.conns)
        for conn in conns:
            if code in (1000, 1001):
                conn.closed = True
                conn.queue.put_nowait(None)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=code, message=b"server going away"), 2.0)
                conn.abort()
            else:
                conn.abort()

    def reset_all(self) -> None:
        for conn in list(self.conns):
            conn.reset()

    # ---- connection ----------------------------------------------------------------------
    def _authenticate(self, conn: WsConn, token: str) -> bool:
        user_id = self.state.tokens.get(token)
        if user_id is None or self.reject_auth():
            return False
        conn.user_id = user_id
        conn.enqueue_event(
            "hello",
            {"connection_id": conn.connection_id, "server_hostname": "mm-sim", "server_version": VERSION_ID},
            broadcast_shape(user_id=user_id),
        )
        return True

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Upgrade, authenticate (header or challenge), then pump frames until the end."""
        ws = web.WebSocketResponse(autoping=False, max_msg_size=8192)
        await ws.prepare(request)
        conn = WsConn(ws, request.transport)
        self.conns.add(conn)
        header_token = token_from_request(request)
        if header_token:
            # An invalid header token leaves the connection unauthenticated (TrustRequester).
            self._authenticate(conn, header_token)
        tasks = [asyncio.create_task(self._writer(conn)), asyncio.create_task(self._keepalive(conn))]
        try:
            await self._reader(conn)
        finally:
            conn.closed = True
            conn.queue.put_nowait(None)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.conns.discard(conn)
        return ws

    async def _reader(self, conn: WsConn) -> None:
        ws = conn.ws
        while not conn.closed:
            msg = await ws.receive()
            conn.last_seen = time.monotonic()
            if msg.type == WSMsgType.TEXT:
                if not self._on_text(conn, msg.data):
                    conn.abort()
                    return
            elif msg.type == WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type in (WSMsgType.PONG, WSMsgType.BINARY):
                continue  # binary (msgpack) requests are not simulated
            else:
                if msg.type == WSMsgType.CLOSE:
                    with contextlib.suppress(Exception):
                        await ws.close()
                return

    def _on_text(self, conn: WsConn, text: str) -> bool:
        """Handle one client request; False means "close the socket without a reply"."""
        try:
            req = json.loads(text)
        except ValueError:
            return True  # the server logs and ignores undecodable frames
        if not isinstance(req, dict):
            return True
        raw_seq, action, raw_data = req.get("seq"), req.get("action"), req.get("data")
        seq = raw_seq if isinstance(raw_seq, int) else 0
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if action == "authentication_challenge":
            if conn.user_id is not None:
                return True  # already authenticated (header): silently ignored
            token = data.get("token")
            if not isinstance(token, str) or not self._authenticate(conn, token):
                return False
            conn.enqueue_reply(seq, "OK")
            return True
        if conn.user_id is None:
            conn.enqueue_reply(
                seq,
                "FAIL",
                {
                    "id": "api.web_socket_router.not_authenticated.app_error",
                    "message": "WebSocket connection is not authenticated. Please log in and try again.",
                    "detailed_error": "",
                    "status_code": 401,
                },
            )
            return True
        if action in AUTH_OK_ACTIONS:
            conn.enqueue_reply(seq, "OK")
        else:
            conn.enqueue_reply(
                seq,
                "FAIL",
                {
                    "id": "api.web_socket_router.bad_action.app_error",
                    "message": "Unknown WebSocket action.",
                    "detailed_error": "",
                    "status_code": 501,
                },
            )
        return True

    async def _writer(self, conn: WsConn) -> None:
        while True:
            frame = await conn.queue.get()
            if frame is None or conn.ws.closed:
                return
            try:
                await conn.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return

    async def _keepalive(self, conn: WsConn) -> None:
        """PING every interval; drop a silent peer; close an unauthenticated one after 5 s."""
        start = time.monotonic()
        pong_wait = self.ping_interval * 100 / 60
        next_ping = start + self.ping_interval
        while not conn.closed:
            now = time.monotonic()
            wake = min(next_ping, conn.last_seen + pong_wait)
            if conn.user_id is None:
                wake = min(wake, start + self.auth_timeout)
            await asyncio.sleep(max(0.0, wake - now))
            now = time.monotonic()
            if now >= conn.last_seen + pong_wait or (
                conn.user_id is None and now >= start + self.auth_timeout
            ):
                conn.abort()
                return
            if now >= next_ping:
                next_ping += self.ping_interval
                with contextlib.suppress(Exception):
                    await conn.ws.ping()
