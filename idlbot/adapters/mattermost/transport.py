"""The driver's HTTP transport on aiohttp's client, in place of httpcore.

Why: mattermostautodriver sends every REST call through httpx, whose default transport
(httpcore on anyio) was most of an httpx request's CPU: an upload and a post, an
overview's DM, cost 2.7-3.4 ms against the simulator, 1.7-2.4 ms through this transport
(1 800 pairs each, the simulator in another process). aiohttp is already the bot's server,
so it adds no dependency. The driver takes a transport as a documented option
(`options["transport"]`); httpx keeps everything above it (auth headers, cookies,
redirects, the driver's retries), and this class only moves bytes.

What the rest of the bot relies on, kept here:
- failures are httpx's own exceptions, so `rest.classify` and the driver's retries see
  what they saw before: a refused connection is `httpx.ConnectError` (the post was
  certainly not sent), a timeout a `httpx.TimeoutException` subclass, any other broken
  exchange a `httpx.TransportError` (the post may have been created: the outbox looks it
  up by key before it resends);
- httpx's timeouts hold: `connect` for the connection, `read` between two reads, and all
  three together bound the whole exchange (aiohttp has no write timeout of its own);
- aiohttp neither decompresses, stores cookies, follows redirects nor adds headers:
  httpx does each once, as with its own transport;
- the body is read whole (Mattermost's answers are small JSON); the session is made at
  the first request, inside the running loop, and closed with the driver.
"""

from __future__ import annotations

import aiohttp
import httpx
import yarl

KEEPALIVE = 5.0
"""Seconds an idle connection is kept for reuse (httpx's default keepalive expiry)."""

SKIP_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
"""Headers aiohttp would add when a request lacks them: httpx already set what it sends."""


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` over one `aiohttp.ClientSession` (HTTP/1.1,
    keep-alive, at most `limit` connections)."""

    def __init__(self, *, limit: int = 100) -> None:
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # idle connections closed after 5 s, as httpx's pool did: a proxy with a
                # short idle timeout must not be the one that closes them mid-request
                connector=aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=KEEPALIVE),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        limits = request.extensions.get("timeout", {})
        connect, read, write = (limits.get(k) for k in ("connect", "read", "write"))
        whole = None if None in (connect, read, write) else connect + read + write
        timeout = aiohttp.ClientTimeout(total=whole, sock_connect=connect, sock_read=read)
        # the body is sent whole, so aiohttp sets its length: a streamed body's chunked
        # framing, if httpx chose it, must not be claimed as well
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers.raw
            if k.lower() != b"transfer-encoding"
        ]
        try:
            async with self._client().request(
                request.method,
                yarl.URL(str(request.url), encoded=True),  # as httpx encoded it, byte for byte
                data=body or None,
                headers=headers,
                skip_auto_headers=SKIP_HEADERS,
                allow_redirects=False,
                timeout=timeout,
            ) as resp:
                content = await resp.read()  # as sent: httpx decodes gzip itself
                reason = (resp.reason or "").encode("latin-1", "replace")
                return httpx.Response(
                    resp.status,
                    headers=list(resp.raw_headers),
                    stream=httpx.ByteStream(content),
                    extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
                    request=request,
                )
        except aiohttp.ClientConnectorError as err:  # the connection never opened
            raise httpx.ConnectError(str(err) or type(err).__name__, request=request) from err
        except aiohttp.ConnectionTimeoutError as err:
            raise httpx.ConnectTimeout(str(err) or "connect timed out", request=request) from err
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise httpx.ReadTimeout(str(err) or "timed out", request=request) from err
        except aiohttp.ServerDisconnectedError as err:
            raise httpx.RemoteProtocolError(str(err) or "server disconnected", request=request) from err
        except (aiohttp.ClientPayloadError, aiohttp.ClientOSError) as err:
            raise httpx.ReadError(str(err) or type(err).__name__, request=request) from err
        except aiohttp.ClientError as err:
            raise httpx.RemoteProtocolError(str(err) or type(err).__name__, request=request) from err

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
