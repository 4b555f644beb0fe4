"""The action server: one action's functions over HTTP, in Jaseci's wire protocol.

`GET /jaseci_actions_spec/` lists `{"group.func": [params...]}`; `POST /<func>/` (with or
without the trailing slash) takes the named parameters as a JSON object and answers
with the result as JSON. Protocol errors are 4xx with `{"detail": ...}`; an action that
raises is a 500 with its error. Connections are kept alive (HTTP/1.1).
Run as `python -m jsorc.server --name NAME --module MODULE [--port-file PATH]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jsorc.actions.configs import ActionConfig
from jsorc.actions.modules import HOST
from jsorc.actions.registry import ActionFunction
from jsorc.actions.wire import decode_call, dumps
from jsorc.errors import BadRequest

logger = logging.getLogger(__name__)

SPEC_PATH = "/jaseci_actions_spec/"
# Bytes; a request body larger than this is refused with 413.
MAX_BODY = 16 * 1024 * 1024


class ActionHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Pending connections the kernel queues; socketserver's 5 overflows under bursts, and
    # each overflow costs the client a one-second SYN retransmit.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], functions: Mapping[str, ActionFunction]):
        super().__init__(address, ActionRequestHandler)
        self.spec = {name: list(fn.params) for name, fn in functions.items()}
        self.routes: dict[str, ActionFunction] = {}
        for name, fn in functions.items():
            self.routes.setdefault(name.rsplit(".", 1)[-1], fn)
            self.routes[name] = fn

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class ActionRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave as two writes; with Nagle on, the body would wait for the
    # client's delayed ACK (~40 ms on Linux) on every kept-alive call.
    disable_nagle_algorithm = True
    server: ActionHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.rstrip("/") in ("", SPEC_PATH.rstrip("/")):
            self._reply(200, self.server.spec)
        else:
            self._reply(404, {"detail": f"no such path {self.path!r}; try {SPEC_PATH}"})

    def do_POST(self) -> None:  # noqa: N802
        fn = self.server.routes.get(self.path.strip("/"))
        if fn is None:
            self._drain()
            self._reply(404, {"detail": f"no action at {self.path!r}; see {SPEC_PATH}"})
            return
        try:
            body = self._read_json()
            args, kwargs = decode_call(fn.func, body)
        except BadRequest as exc:
            self._reply(422 if not isinstance(exc, _TooLarge) else 413, {"detail": str(exc)})
            return
        try:
            result = fn.func(*args, **kwargs)
        except TypeError as exc:
            self._reply(422, {"detail": f"bad arguments for {fn.name}: {exc}"})
            return
        except Exception as exc:  # the action's own failure, reported to the caller
            logger.warning("Action %s raised.", fn.name, exc_info=True)
            self._reply(500, {"detail": f"{fn.name} raised {exc!r}", "error": type(exc).__name__})
            return
        try:
            payload = dumps(result)
        except (TypeError, ValueError) as exc:
            self._reply(500, {"detail": f"{fn.name} returned a value that is not JSON: {exc}"})
            return
        self._send(200, payload)

    def do_PUT(self) -> None:  # noqa: N802
        self._drain()
        self._reply(405, {"detail": "use GET for the spec and POST to call an action"})

    do_DELETE = do_PATCH = do_PUT  # noqa: N815

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            raise _TooLarge(f"request body of {length} bytes exceeds {MAX_BODY}")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            return json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}") from exc

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= MAX_BODY:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    def _reply(self, status: int, value: Any) -> None:
        self._send(status, dumps(value))

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s " + format, self.address_string(), *args)


class _TooLarge(BadRequest):
    pass


def serve(
    config: ActionConfig, *, host: str = "127.0.0.1", port: int = 0, port_file: Path | None = None
) -> ActionHTTPServer:
    """Load the action's module, bind, and return the server (not yet serving)."""
    functions = HOST.load(config)
    server = ActionHTTPServer((host, port), functions)
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(server.server_address[1]))
        os.replace(tmp, port_file)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jsorc.server")
    parser.add_argument("--name", required=True)
    parser.add_argument("--module", required=True)
    parser.add_argument("--loaded-module")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = ActionConfig(opts.name, opts.module, opts.loaded_module or opts.module)
    server = serve(config, host=opts.host, port=opts.port, port_file=opts.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    logger.info("Action server %r serving %s at %s", opts.name, sorted(server.spec), server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
