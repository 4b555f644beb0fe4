"""Kept-alive HTTP connections to one action server, shared by threads.

A small LIFO pool over `http.client`: a caller takes a connection (or opens one), sends
one request, reads the whole reply, and puts the connection back. A connection that
fails is closed and dropped, never reused; a request is never retried, since an action
call need not be idempotent. Leaner per call than a general HTTP client.
"""

from __future__ import annotations

import http.client
import threading

# Connections kept idle per server; more may be open while many threads call at once.
MAX_IDLE = 16


class KeepAlivePool:
    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.opened = 0
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST a JSON body; the status and the whole reply body. OSError and
        http.client.HTTPException pass through to the caller."""
        conn = self._take()
        try:
            conn.request("POST", path, body=body, headers=_JSON_HEADERS)
            response = conn.getresponse()
            payload = response.read()
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            self._give_back(conn)
        return response.status, payload

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _take(self) -> http.client.HTTPConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.opened += 1
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()


_JSON_HEADERS = {"Content-Type": "application/json"}
