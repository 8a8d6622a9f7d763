"""A client of ha-agent's control socket that speaks the protocol directly:
a 4-byte big-endian length, then a serialized hafw.control.v1 Request or
Response (proto/hafw/control/v1/control.proto, haagent/control_channel.cc),
several requests over one connection. Waits poll through it, so no process
is started per poll.

The Python bindings are generated at build time into the build tree
(``<build>/proto/python/hafw/control/v1/control_pb2.py``, CMake target
``hafw_proto_python``) and found through HAFW_BUILD_DIR (or the build
directory given). Needs Debian's python3-protobuf.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import struct
import sys
import time
from pathlib import Path
from types import ModuleType

from .paths import PB2_RELATIVE, default_build_dir

MAX_FRAME = 4 << 20  # haagent/control_channel.h kMaxControlFrame
# The agent closes a session that sends nothing for 5 s (control_server.cc);
# reconnect before sending on a connection idle this long.
IDLE_RECONNECT = 4.0

_pb2_cache: dict[Path, ModuleType] = {}


class ControlError(RuntimeError):
    """The agent answered with an error (its code and context)."""

    def __init__(self, code: str, context: str) -> None:
        super().__init__(f"{code}: {context}")
        self.code = code
        self.context = context


class AgentUnreachable(ConnectionError):
    """No agent answered on the socket (not running, socket gone, timeout)."""


def pb2_path(build_dir: Path | str | None = None) -> Path:
    return Path(build_dir or default_build_dir()) / PB2_RELATIVE


def load_pb2(build_dir: Path | str | None = None) -> ModuleType:
    """The generated control_pb2 module of a build tree (loaded once)."""
    path = pb2_path(build_dir).resolve()
    if path in _pb2_cache:
        return _pb2_cache[path]
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the hafw_proto_python target "
                                f"(cmake --build {path.parents[5]}) and set HAFW_BUILD_DIR")
    # One module per process: the descriptor pool knows the .proto file once.
    if _pb2_cache:
        return next(iter(_pb2_cache.values()))
    spec = importlib.util.spec_from_file_location("hafw_control_v1_pb2", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    _pb2_cache[path] = module
    return module


def to_dict(message) -> dict:
    """A message as ``hactl status --json`` prints it (proto field names,
    default values of scalars included, unset sub-messages left out), but
    with 64-bit integers as ints where the proto3 JSON mapping has strings."""
    out: dict = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            vfield = field.message_type.fields_by_name["value"]
            out[field.name] = {k: _value(vfield, v) for k, v in value.items()}
        elif field.label == field.LABEL_REPEATED:
            out[field.name] = [_value(field, v) for v in value]
        elif field.message_type is not None:
            if message.HasField(field.name):
                out[field.name] = to_dict(value)
        else:
            out[field.name] = value
    return out


def _value(field, value):
    return to_dict(value) if field.message_type is not None else value


def parse_status_json(text: str, build_dir: Path | str | None = None) -> dict:
    """``hactl status --json`` output as a dict with the same types as to_dict
    (counters as ints whether hactl prints them as strings or numbers)."""
    from google.protobuf import json_format
    pb2 = load_pb2(build_dir)
    return to_dict(json_format.Parse(text, pb2.StatusReply(), ignore_unknown_fields=True))


class ControlClient:
    """One connection to an agent's control socket, reopened when needed.

        client = ControlClient("/tmp/x/fw1.sock")
        reply = client.status()              # a StatusReply message
        client.demote("edge", "test")        # the ActionReply's message text
    """

    def __init__(self, path: Path | str, build_dir: Path | str | None = None,
                 timeout: float = 5.0) -> None:
        self.path = str(path)
        self.timeout = timeout
        self.pb2 = load_pb2(build_dir)
        self._sock: socket.socket | None = None
        self._last_use = 0.0
        self.calls = 0

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            raise AgentUnreachable(f"cannot reach ha-agent at {self.path}: {e}") from e
        return s

    def _recv_exact(self, s: socket.socket, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionResetError("ha-agent closed the connection")
            buf += chunk
        return bytes(buf)

    def _roundtrip(self, payload: bytes) -> bytes:
        if self._sock is None or time.monotonic() - self._last_use > IDLE_RECONNECT:
            self.close()
            self._sock = self._connect()
        s = self._sock
        s.sendall(struct.pack("!I", len(payload)) + payload)
        (length,) = struct.unpack("!I", self._recv_exact(s, 4))
        if length > MAX_FRAME:
            raise ConnectionError(f"control frame of {length} bytes exceeds {MAX_FRAME}")
        body = self._recv_exact(s, length)
        self._last_use = time.monotonic()
        return body

    def call(self, request, retry: bool = False):
        """Sends a Request, returns the Response; raises ControlError on an error reply.

        With ``retry`` (idempotent requests only) a broken connection is
        reopened and the request sent once more.
        """
        payload = request.SerializeToString()
        try:
            body = self._roundtrip(payload)
        except (OSError, ConnectionError) as e:
            self.close()
            if not retry:
                raise AgentUnreachable(f"{self.path}: {e}") from e
            try:
                body = self._roundtrip(payload)
            except (OSError, ConnectionError) as e2:
                self.close()
                raise AgentUnreachable(f"{self.path}: {e2}") from e2
        self.calls += 1
        response = self.pb2.Response()
        response.ParseFromString(body)
        if response.HasField("error") and response.error.code:
            raise ControlError(response.error.code, response.error.context)
        return response

    def status(self):
        """The agent's StatusReply message."""
        request = self.pb2.Request()
        request.status.SetInParent()
        return self.call(request, retry=True).status

    def status_dict(self) -> dict:
        """The status as ``hactl status --json`` shows it, numbers as ints."""
        return to_dict(self.status())

    def _action(self, request) -> str:
        return self.call(request).action.message

    def demote(self, group: str, reason: str = "", by: int = 1) -> str:
        r = self.pb2.Request()
        r.demote.group, r.demote.reason, r.demote.by = group, reason, by
        return self._action(r)

    def undemote(self, group: str, reason: str = "") -> str:
        r = self.pb2.Request()
        r.undemote.group, r.undemote.reason = group, reason
        return self._action(r)

    def maintenance(self, on: bool, reason: str = "") -> str:
        r = self.pb2.Request()
        r.maintenance.on, r.maintenance.reason = on, reason
        return self._action(r)

    def failover(self, vhid: int = 0, force: bool = False) -> str:
        r = self.pb2.Request()
        r.failover.vhid, r.failover.force = vhid, force
        return self._action(r)


def socket_alive(path: Path | str) -> bool:
    """True when something accepts connections on the socket path."""
    if not os.path.exists(path):
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()
