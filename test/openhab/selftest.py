#!/usr/bin/env python3
# selftest.py - checks openhab_double.py against the openHAB contract it claims
# (shared/reference/openhab_rest.md D.3/D.4/D.7 and the openhab-core sources cited in the
# double's header). Standard library only. Exit 0 when every check passes; otherwise the
# failing checks are printed with what was expected and what came back, and the exit is 1.
#
#   python3 test/openhab/selftest.py [-v] [-k NAME]     (-v: show the doubles' stderr)
#
# The checks compare exact bytes (SSE framing, chunk boundaries, JSON error bodies), exact
# status codes and event sequences, so a regression in the double makes this fail.

import base64
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DOUBLE = os.path.join(HERE, "openhab_double.py")
MAKE_CERTS = os.path.join(HERE, "..", "..", "certs", "make-certs.sh")
VERBOSE = "-v" in sys.argv

BODY_404_NOPE = b'{"error":{"message":"Item Nope does not exist!","http-code":404}}'
BODY_400_ERROR = b'{"error":{"message":"State could not be parsed: ERROR","http-code":400}}'
BODY_400_ESCAPED = b'{"error":{"message":"State could not be parsed: a\\u003db","http-code":400}}'
BODY_401_INVALID = b'{"error":{"message":"Invalid credentials","http-code":401}}'
BODY_401_REQUIRED = b'{"error":{"message":"Authentication required","http-code":401}}'


def jaxrs_error(status, phrase, cls):
    msg = f"HTTP {status} {phrase}"
    return (f'{{"error":{{"message":"{msg}","http-code":{status},"exception":{{"class":"{cls}",'
            f'"message":"{msg}","localized-message":"{msg}"}}}}}}').encode()


BODY_415_OLD = jaxrs_error(415, "Unsupported Media Type", "javax.ws.rs.NotSupportedException")
BODY_404_OLD = jaxrs_error(404, "Not Found", "javax.ws.rs.NotFoundException")

PREFIX = {"oh2": "smarthome", "oh3.0": "openhab", "oh3.3": "openhab", "oh4": "openhab",
          "oh5.1": "openhab"}
API = {"oh2": "3", "oh3.0": "4", "oh3.3": "5", "oh4": "8", "oh5.1": "8"}
RUNTIME = {"oh3.0": "3.0.4", "oh3.3": "3.3.0", "oh4": "4.2.1", "oh5.1": "5.1.0"}
ALIVE = {  # mode -> (--alive-interval, exact frame)
    "oh3.3": ("0.4", b'event: event\ndata: {"type":"ALIVE"}\n\n'),
    "oh4": ("1", b'event: alive\ndata: {"type":"ALIVE","interval":1}\n\n'),
    "oh5.1": ("0.5", b'event: alive\ndata: {"type":"ALIVE","interval":0.5}\n\n'),
}


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def equal(actual, expected, what):
    if actual != expected:
        raise CheckFailed(f"{what}:\n      expected {expected!r}\n      got      {actual!r}")


# --------------------------------------------------------------------------------------------
# Running the double and talking to it.
# --------------------------------------------------------------------------------------------

RUNNING = []


class Double:
    def __init__(self, *args, port=0, tls_ca=None):
        self.args = args
        self.log = tempfile.TemporaryFile()
        self.tls_ca = tls_ca
        env = dict(os.environ, TZ="UTC")
        self.proc = subprocess.Popen([sys.executable, DOUBLE, "--port", str(port), *args],
                                     stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.owner = threading.current_thread()
        RUNNING.append(self)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline() if ready else b""
        m = re.fullmatch(rb"LISTENING (\d+)\n", line)
        if not m:
            raise CheckFailed(f"double {args} did not print LISTENING: {line!r}\n{self.log_tail()}")
        self.port = int(m.group(1))

    def connection(self, timeout=5):
        if self.tls_ca:
            ctx = ssl.create_default_context(cafile=self.tls_ca)
            return http.client.HTTPSConnection("localhost", self.port, timeout=timeout,
                                               context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def http(self, method, path, body=None, headers=None, timeout=5):
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def put(self, item, body, ctype="text/plain", headers=None):
        hdrs = dict(headers or {})
        if ctype is not None:
            hdrs["Content-Type"] = ctype
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.http("PUT", f"/rest/items/{item}/state", data, hdrs)

    def command(self, item, body, ctype="text/plain"):
        hdrs = {"Content-Type": ctype} if ctype else {}
        return self.http("POST", f"/rest/items/{item}", body.encode("utf-8"), hdrs)

    def ctl(self, method, name, obj=None, query="", timeout=15):
        body = json.dumps(obj).encode() if obj is not None else None
        hdrs = {"Content-Type": "application/json"} if obj is not None else {}
        status, _, data = self.http(method, f"/__double/{name}{query}", body, hdrs, timeout)
        return status, json.loads(data)

    def state(self, item):
        status, _, data = self.http("GET", f"/rest/items/{item}/state")
        equal(status, 200, f"GET state of {item}")
        return data.decode("utf-8")

    def stop(self, timeout=5):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise CheckFailed(f"double {self.args} did not stop within {timeout}s on SIGTERM")
        finally:
            if self in RUNNING:
                RUNNING.remove(self)
            if VERBOSE:
                sys.stderr.write(self.log_tail(200))

    def log_tail(self, lines=15):
        self.log.seek(0)
        text = self.log.read().decode("utf-8", "replace").splitlines()
        return "\n".join("      | " + l for l in text[-lines:]) + "\n"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.stop()


class SSE:
    """A raw-socket event stream client that sees the HTTP chunk boundaries."""

    def __init__(self, double, query="", headers=(), timeout=2.0):
        self.sock = socket.create_connection(("127.0.0.1", double.port), timeout=timeout)
        if double.tls_ca:
            ctx = ssl.create_default_context(cafile=double.tls_ca)
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        lines = [f"GET /rest/events{query} HTTP/1.1", f"Host: 127.0.0.1:{double.port}",
                 "Accept: text/event-stream", *headers]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        # D.3: headers are flushed at once, before any event exists.
        head = self._until(b"\r\n\r\n", time.monotonic() + timeout).decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {}
        for line in header_lines:
            key, _, value = line.partition(":")
            self.headers[key.strip().lower()] = value.strip()
        self.raw = self.buf  # everything after the header block

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no data in time") from None
        if not data:
            raise EOFError("connection closed")
        self.buf += data
        if hasattr(self, "raw"):
            self.raw += data

    def _until(self, sep, deadline):
        while sep not in self.buf:
            self._fill(deadline)
        data, _, self.buf = self.buf.partition(sep)
        return data

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def chunk(self, timeout=3.0):
        """One HTTP chunk's data; None for the terminating zero chunk."""
        deadline = time.monotonic() + timeout
        size = int(self._until(b"\r\n", deadline), 16)
        if size == 0:
            equal(self._until(b"\r\n", deadline), b"", "end of the terminating chunk")
            return None
        data = self._exact(size, deadline)
        equal(self._exact(2, deadline), b"\r\n", "chunk trailer")
        return data

    def event(self, timeout=3.0):
        """Next chunk that is not an alive event."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.chunk(max(0.01, deadline - time.monotonic()))
            if data is None or not (data.startswith(b"event: alive\n")
                                    or data.startswith(b"event: event\n")):
                return data

    def silent_for(self, seconds):
        """True if nothing arrives for `seconds` (and the connection stays open)."""
        if self.buf:
            return False
        ready, _, _ = select.select([self.sock], [], [], seconds)
        if not ready:
            return True
        self._fill(time.monotonic() + 1)
        return False

    def close(self):
        self.sock.close()


def message_frame(topic, payload_json, event_type):
    """The D.4 frame, built independently of the double: payload double-encoded."""
    dto = '{"topic":' + json.dumps(topic) + ',"payload":' + json.dumps(payload_json) \
        + ',"type":' + json.dumps(event_type) + "}"
    return b"event: message\ndata: " + dto.encode() + b"\n\n"


def topic_of(frame):
    check(frame is not None and frame.startswith(b"event: message\ndata: "),
          f"not a message frame: {frame!r}")
    return json.loads(frame[len(b"event: message\ndata: "):])["topic"]


# --------------------------------------------------------------------------------------------
# Checks.
# --------------------------------------------------------------------------------------------

def mode_args(mode):
    args = ["--mode", mode, "--item", "Lamp:Switch", "--item", "Lamp_2:Switch",
            "--item", "Temp:Number", "--item", "S:String", "--item", "D:DateTime"]
    if mode in ALIVE:
        args += ["--alive-interval", ALIVE[mode][0]]
    return args


def test_mode(mode):
    """Root JSON, stream headers, alive and command framing, prefix, 415/404/400, SIGTERM."""
    prefix = PREFIX[mode]
    with Double(*mode_args(mode)) as d:
        # GET /rest
        status, headers, body = d.http("GET", "/rest")
        equal(status, 200, "GET /rest status")
        root = json.loads(body)
        equal(root["version"], API[mode], "GET /rest API version")
        if mode == "oh2":
            check("runtimeInfo" not in root, "oh2 must not have runtimeInfo")
        else:
            equal(root["runtimeInfo"]["version"], RUNTIME[mode], "runtimeInfo.version")
        equal("timezone" in root, mode == "oh5.1", "timezone in GET /rest")
        equal(d.http("GET", "/rest/")[0], 200, "GET /rest/ status")

        # stream headers
        sse = SSE(d)
        equal(sse.status, 200, "stream status")
        equal(sse.headers.get("content-type"), "text/event-stream", "stream Content-Type")
        equal(sse.headers.get("transfer-encoding"), "chunked", "stream Transfer-Encoding")
        equal(sse.headers.get("x-accel-buffering"), "no", "X-Accel-Buffering")
        equal(sse.headers.get("content-encoding"), "identity", "Content-Encoding")
        check("content-length" not in sse.headers, "a stream has no Content-Length")

        # alive events
        if mode in ALIVE:
            interval, frame = ALIVE[mode]
            equal(sse.chunk(timeout=3 * float(interval) + 1), frame, f"{mode} alive frame")
            equal(sse.chunk(timeout=2 * float(interval) + 1), frame, f"{mode} second alive")
        else:
            check(sse.silent_for(0.8), f"{mode} must not send alive events")

        # command framing and the autoupdate noise after it
        equal(d.command("Lamp", "ON")[0], 200, "POST command status")
        expected = (b'event: message\ndata: {"topic":"' + prefix.encode()
                    + b'/items/Lamp/command","payload":"{\\"type\\":\\"OnOff\\",\\"value\\":'
                    b'\\"ON\\"}","type":"ItemCommandEvent"}\n\n')
        equal(sse.event(), expected, f"{mode} command frame bytes")
        noise = ["statepredicted", "state"] + (["stateupdated"] if mode in ("oh4", "oh5.1")
                                               else []) + ["statechanged"]
        got = [topic_of(sse.event()) for _ in noise]
        equal(got, [f"{prefix}/items/Lamp/{n}" for n in noise], f"{mode} events after a command")

        # Gson HTML escaping, payload double-encoded
        equal(d.command("S", "a=b<c>&'d")[0], 200, "POST String command")
        frame = sse.event()
        raw = (r'event: message' '\n' r'data: {"topic":"' + prefix + r'/items/S/command",'
               r'"payload":"{\"type\":\"String\",\"value\":\"a\\u003db\\u003cc\\u003e\\u0026'
               r'\\u0027d\"}","type":"ItemCommandEvent"}' '\n\n')
        equal(frame, raw.encode(), f"{mode} escaped command frame")
        equal(json.loads(json.loads(frame[21:])["payload"])["value"], "a=b<c>&'d",
              "double-decoded value")

        # state PUT without Content-Type: 415 from 3.0, accepted by 2.x
        status, headers, body = d.put("Temp", "21.5", ctype=None)
        if mode == "oh2":
            equal(status, 202, "oh2 PUT without Content-Type")
        else:
            equal(status, 415, f"{mode} PUT without Content-Type")
            equal(body, b"" if mode in ("oh4", "oh5.1") else BODY_415_OLD, f"{mode} 415 body")
        status, headers, body = d.put("Temp", "21.5", ctype="application/x-www-form-urlencoded")
        equal(status, 415, f"{mode} PUT with a form Content-Type")

        # 202 and the events of a state update
        while not sse.silent_for(0.3):  # drain what the oh2 PUT above produced
            sse.chunk()
        status, headers, body = d.put("Temp", "22", ctype="text/plain; charset=utf-8")
        equal((status, body), (202, b""), f"{mode} PUT state")
        expected = [("state", '{"type":"Decimal","value":"22"}', "ItemStateEvent")]
        if mode in ("oh4", "oh5.1"):
            expected.append(("stateupdated", '{"type":"Decimal","value":"22"}',
                             "ItemStateUpdatedEvent"))
        old = '"oldType":"Decimal","oldValue":"21.5"' if mode == "oh2" else \
            '"oldType":"UnDef","oldValue":"NULL"'
        expected.append(("statechanged", '{"type":"Decimal","value":"22",' + old + "}",
                         "ItemStateChangedEvent"))
        for suffix, payload, event_type in expected:
            # (oh5.1 would add lastStateUpdate/lastStateChange; Temp had no update before)
            equal(sse.event(), message_frame(f"{prefix}/items/Temp/{suffix}", payload, event_type),
                  f"{mode} {suffix} frame")

        # 404 / 400 bodies
        equal(d.put("Nope", "1")[::2], (404, BODY_404_NOPE), f"{mode} unknown item")
        equal(d.put("Temp", "ERROR")[::2], (400, BODY_400_ERROR), f"{mode} unparsable state")
        equal(d.put("Temp", "a=b")[::2], (400, BODY_400_ESCAPED), f"{mode} escaped 400 body")
        equal(d.command("Nope", "ON")[::2], (404, BODY_404_NOPE), f"{mode} command unknown item")
        bad_name = d.put("Bad-Name", "1")[::2]
        equal(bad_name, (404, b"" if mode in ("oh4", "oh5.1") else BODY_404_OLD),
              f"{mode} item name outside [a-zA-Z_0-9]+")

        # SIGTERM: final chunk, then the connection closes
        equal(d.stop(), 0, f"{mode} exit code on SIGTERM")
        while True:
            data = sse.chunk(timeout=3)
            if data is None:
                break
            check(data.startswith(b"event: "), f"unexpected data before the end: {data!r}")
        check(sse.raw.endswith(b"0\r\n\r\n"), "stream must end with the zero chunk")
        try:
            sse._fill(time.monotonic() + 2)
            raise CheckFailed("connection still open after the final chunk")
        except EOFError:
            pass
        sse.close()


def test_auth():
    """AuthFilter order: alt header, Bearer, Basic; invalid credential -> 401 first."""
    token = "oh.sensorreporter.abcdef"
    with Double("--mode", "oh4", "--item", "Temp:Number", "--token", token) as d:
        def put(headers, ctype="text/plain"):
            return d.put("Temp", "1", ctype=ctype, headers=headers)[::2]

        def basic(text):
            return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}
        equal(put({}), (202, b""), "no credential with implicit user role")
        equal(put({"Authorization": "Bearer wrong"}), (401, BODY_401_INVALID),
              "wrong Bearer token even though anonymous would be allowed")
        equal(put({"Authorization": "Bearer " + token}), (202, b""), "valid Bearer token")
        equal(put({"Authorization": "bearer " + token}), (202, b""), "scheme is case-insensitive")
        equal(put({"X-OPENHAB-TOKEN": token}), (202, b""), "valid X-OPENHAB-TOKEN")
        equal(put({"X-OPENHAB-TOKEN": "wrong", "Authorization": "Bearer " + token}),
              (401, BODY_401_INVALID), "X-OPENHAB-TOKEN is looked at first")
        equal(put(basic(token)), (202, b""), "Basic with the token as user name")
        equal(put(basic(token + ":")), (202, b""), "Basic 'token:' (Java split drops the '')")
        equal(put(basic("user:pass")), (401, BODY_401_INVALID), "user:pass without allowBasicAuth")
        equal(put({"Authorization": "Digest abc"}), (401, BODY_401_REQUIRED),
              "unknown scheme: no security context")
        equal(put({"Authorization": "Bearer"}), (202, b""), "malformed header counts as none (4.x)")
        equal(put({"Authorization": "Bearer wrong"}, ctype=None), (401, BODY_401_INVALID),
              "auth (pre-matching) comes before 415")
        equal(d.http("GET", "/rest")[0], 200, "GET /rest without credential")
        equal(d.http("GET", "/rest", headers={"Authorization": "Bearer wrong"})[::2],
              (401, BODY_401_INVALID), "GET /rest with a wrong token (AuthFilter is @PreMatching)")
        equal(d.http("GET", "/rest/items/Temp", headers={"Authorization": "Bearer wrong"})[0],
              401, "GET item with a wrong token")
        sse = SSE(d, headers=["Authorization: Bearer wrong"])
        equal(sse.status, 401, "stream with a wrong token")
        sse.close()

    with Double("--mode", "oh4", "--item", "Temp:Number", "--token", token,
                "--no-implicit-user-role", "--basic-auth", "admin:secret") as d:
        def put(headers, ctype="text/plain"):
            return d.put("Temp", "1", ctype=ctype, headers=headers)[::2]
        equal(put({}), (401, BODY_401_REQUIRED), "no credential without implicit user role")
        equal(put({}, ctype=None), (401, BODY_401_REQUIRED),
              "no Content-Type and no role: the role check comes before the body reader")
        equal(put({}, ctype="application/json")[0], 415,
              "wrong Content-Type fails at method selection, before the role check")
        equal(put({"Authorization": "Bearer " + token}), (202, b""), "token without implicit role")
        equal(put({"Authorization": "Basic " + base64.b64encode(b"admin:secret").decode()}),
              (202, b""), "Basic user:pass with allowBasicAuth")
        equal(put({"Authorization": "Basic " + base64.b64encode(b"admin:nope").decode()}),
              (401, BODY_401_INVALID), "Basic wrong password")
        equal(d.http("GET", "/rest")[0], 200, "GET /rest needs no role")
        sse = SSE(d)
        equal(sse.status, 401, "stream without credential and without implicit role")
        sse.close()

    for mode, expected in (("oh3.0", (202, b"")), ("oh3.3", (401, BODY_401_REQUIRED))):
        with Double("--mode", mode, "--item", "Temp:Number", "--token", token) as d:
            equal(d.put("Temp", "1", headers={"Authorization": "Bearer"})[::2], expected,
                  f"{mode}: malformed Authorization header")
            equal(d.put("Temp", "1", headers={"Authorization": "Bearer x"})[::2],
                  (401, BODY_401_INVALID), f"{mode}: wrong Bearer token")

    with Double("--mode", "oh2", "--item", "Temp:Number") as d:
        equal(d.put("Temp", "1", ctype=None, headers={"Authorization": "Bearer x"})[0], 202,
              "oh2 has no authentication at all")


def test_topic_filter():
    """SseUtil: comma list, '*', 400 on invalid; '.*' suffix <= 3.2, '$' from 3.3."""
    for mode in ("oh3.0", "oh4"):
        with Double("--mode", mode, "--item", "Lamp:Switch", "--item", "Lamp_2:Switch",
                    "--alive-interval", "30") as d:
            cmd = SSE(d, "?topics=openhab/items/*/command")
            st = SSE(d, "?topics=openhab/items/Lamp/state")
            equal(d.ctl("GET", "wait_streams", query="?open=2&timeout=5")[0], 200, "two streams")
            equal(d.command("Lamp", "ON")[0], 200, "command")
            equal(topic_of(cmd.event()), "openhab/items/Lamp/command", "filtered: command first")
            marker = {"topic": "openhab/items/Lamp_2/command", "type": "ItemCommandEvent",
                      "payload_obj": {"type": "OnOff", "value": "OFF"}}
            equal(d.ctl("POST", "event", marker)[0], 200, "inject marker")
            equal(cmd.event(), message_frame("openhab/items/Lamp_2/command",
                                             '{"type":"OnOff","value":"OFF"}', "ItemCommandEvent"),
                  f"{mode}: state events must not pass a command filter")
            # ".*" suffix up to 3.2 makes the filter a prefix match; "$" from 3.3 an exact one
            wanted = ["statepredicted", "state", "statechanged"] if mode == "oh3.0" else ["state"]
            equal([topic_of(st.event()) for _ in wanted],
                  [f"openhab/items/Lamp/{w}" for w in wanted], f"{mode}: state filter")
            state_marker = dict(marker, topic="openhab/items/Lamp/state", type="ItemStateEvent")
            d.ctl("POST", "event", state_marker)
            equal(st.event(), message_frame("openhab/items/Lamp/state",
                                            '{"type":"OnOff","value":"OFF"}', "ItemStateEvent"),
                  f"{mode}: nothing else passes the state filter")
            cmd.close()
            st.close()
            for bad in ("openhab/.*", "openhab/items/Lamp.x", "a?b"):
                bad_sse = SSE(d, "?topics=" + bad.replace("?", "%3F"))
                equal(bad_sse.status, 400, f"invalid filter {bad!r}")
                bad_sse.close()
            ok_sse = SSE(d, "?topics=,%20openhab/items/*/added,%20*/command")
            equal(ok_sse.status, 200, "valid filter with blanks and empty token")
            ok_sse.close()

    # alive events go to every stream, whatever its filter (topicBroadcaster.send)
    with Double("--mode", "oh4", "--alive-interval", "0.3") as d:
        filtered = SSE(d, "?topics=openhab/items/*/command")
        equal(filtered.chunk(timeout=2), b'event: alive\ndata: {"type":"ALIVE","interval":0.3}\n\n',
              "alive event on a filtered stream")
        filtered.close()


def test_values():
    """TypeParser per mode: DateTime button format, decimals, case, JSON body, Dimmer, toggle."""
    stamp = "2024-05-01T10:11:12.123456"
    for mode, e3, json_put in (("oh3.0", (202, "1000"), 415), ("oh3.3", (400, None), 415),
                               ("oh4", (202, "1000"), 415), ("oh5.1", (202, "1000"), 202)):
        args = ["--mode", mode, "--item", "D:DateTime", "--item", "N:Number", "--item",
                "L:Switch=OFF", "--item", "Dim:Dimmer", "--item", "T:Number:Temperature"]
        with Double(*args) as d:
            equal(d.put("D", stamp)[0], 202, f"{mode} DateTime button timestamp")
            equal(d.state("D"), "2024-05-01T10:11:12.123456+0000",
                  f"{mode} DateTime state (TZ=UTC)")
            equal(d.put("D", "2024-05-01T10:11:12.120+02:00")[0], 202, f"{mode} DateTime +02:00")
            kept = "2024-05-01T10:11:12.120+0200" if mode != "oh5.1" else \
                "2024-05-01T08:11:12.120+0000"
            equal(d.state("D"), kept, f"{mode} DateTime offset handling")
            equal(d.put("D", "yesterday")[0], 400, f"{mode} DateTime garbage")
            status = d.put("N", "1e3")[0]
            equal(status, e3[0], f"{mode} '1e3' for a Number")
            if e3[1]:
                equal(d.state("N"), e3[1], f"{mode} '1e3' stored")
            equal(d.put("N", "21.5 °C")[0], 202, f"{mode} quantity on a plain Number")
            equal(d.put("T", "21.5")[0], 202, f"{mode} plain decimal on Number:Temperature")
            equal(d.state("T"), "21.5 °C", f"{mode} Number:Temperature stores °C")
            equal(d.put("L", "on")[0], 400, f"{mode} 'on' is not ON (enum valueOf)")
            equal(d.put("L", "ON\n")[0], 400, f"{mode} trailing newline is not stripped")
            equal(d.put("L", "ON", ctype="application/json")[0], 415 if json_put == 415 else 400,
                  f"{mode} JSON Content-Type (a bare 'ON' is not JSON)")
            equal(d.put("L", '{"value":"ON","source":"sr"}', ctype="application/json")[0],
                  json_put, f"{mode} JSON body {{value, source}}")
            equal(d.put("Dim", "ON")[0], 202, f"{mode} ON to a Dimmer")
            equal(d.state("Dim"), "100", f"{mode} Dimmer stores ON as 100")
            equal(d.put("Dim", "101")[0], 400, f"{mode} Dimmer above 100")
            d.put("L", "OFF")
            equal(d.command("L", "TOGGLE")[0], 200, f"{mode} toggle")
            equal(d.state("L"), "ON", f"{mode} toggle then autoupdate")
            equal(d.command("L", "maybe")[::2], (400, b""), f"{mode} unparsable command")


def test_keepalive_and_wait():
    with Double("--mode", "oh4", "--item", "Temp:Number") as d:
        conn = d.connection()
        for value in ("1", "2"):
            conn.request("PUT", "/rest/items/Temp/state", body=value.encode(),
                         headers={"Content-Type": "text/plain"})
            resp = conn.getresponse()
            equal((resp.status, resp.read()), (202, b""), "keep-alive PUT")
        conn.close()
        equal(d.put("Temp", "3")[0], 202, "PUT on a new connection")
        status, answer = d.ctl("GET", "requests", query="?since=0")
        equal(status, 200, "requests status")
        puts = [r for r in answer["requests"] if r["method"] == "PUT"]
        equal(len(puts), 3, "three PUTs recorded")
        equal(puts[0]["conn"], puts[1]["conn"], "two PUTs on one connection share a conn id")
        check(puts[2]["conn"] != puts[0]["conn"], "a new connection gets a new conn id")
        equal((puts[0]["body"], puts[0]["body_hex"], puts[0]["status"]), ("1", "31", 202),
              "record body/body_hex/status")
        equal(puts[0]["headers"].get("content-type"), "text/plain", "record headers lower-cased")
        nxt = answer["next"]
        equal(d.ctl("GET", "requests", query=f"?since={nxt}")[1]["requests"], [],
              "nothing after 'next'")

        # items defined through the control API; control requests are not recorded
        equal(d.ctl("POST", "items", {"name": "Lamp", "type": "Switch", "state": "ON"})[0], 200,
              "define an item")
        equal(d.state("Lamp"), "ON", "defined item state")
        equal(d.ctl("POST", "items", {"name": "X", "type": "Rollershutter"})[0], 400,
              "unknown item type refused")
        equal(d.ctl("POST", "items", {"name": "Bad-Name", "type": "Switch"})[0], 400,
              "invalid item name refused")
        equal(d.ctl("GET", "items")[1]["items"][-1], {"name": "Lamp", "type": "Switch",
                                                       "state": "ON"}, "GET /__double/items")
        nxt = d.ctl("GET", "requests", query=f"?since={nxt}")[1]["next"]

        def later():
            time.sleep(0.3)
            d.put("Temp", "4")
            d.put("Temp", "5")
        threading.Thread(target=later).start()
        t0 = time.monotonic()
        status, answer = d.ctl("GET", "wait", query=f"?method=PUT&path=/rest/items/Temp/state"
                                                    f"&count=2&since={nxt}&timeout=10")
        elapsed = time.monotonic() - t0
        equal(status, 200, "wait for two PUTs")
        equal([r["body"] for r in answer["requests"]], ["4", "5"], "wait returns the matches")
        check(elapsed < 3, f"wait must return when the requests arrive (took {elapsed:.2f}s)")
        t0 = time.monotonic()
        status, answer = d.ctl("GET", "wait",
                               query="?method=PUT&path_prefix=/rest/items/&count=99&timeout=0.4")
        equal(status, 504, "wait timing out")
        check(0.35 < time.monotonic() - t0 < 3, "wait honours its timeout")
        equal(len(answer["requests"]), 5, "504 answers with what it has")


def test_restart_same_port():
    d = Double("--mode", "oh4")
    port = d.port
    conn = d.connection()
    conn.request("GET", "/rest")
    conn.getresponse().read()
    sse = SSE(d)
    equal(d.stop(), 0, "first instance stops")
    check(sse.event() is None, "stream ended with the final chunk on SIGTERM")
    sse.close()
    with Double("--mode", "oh4", port=port) as d2:
        equal(d2.port, port, "restart on the same port")
        equal(d2.http("GET", "/rest")[0], 200, "restarted instance answers")
    conn.close()


def test_faults():
    with Double("--mode", "oh4", "--alive-interval", "100", "--item", "Lamp:Switch") as d:
        # close_streams: zero chunk then FIN
        a, b = SSE(d), SSE(d)
        equal(d.ctl("GET", "wait_streams", query="?open=2&total=2&timeout=5")[0], 200,
              "wait_streams open=2")
        status, answer = d.ctl("POST", "fault", {"close_streams": True})
        equal((status, answer["affected_streams"]), (200, 2), "close_streams")
        for s in (a, b):
            check(s.chunk() is None, "close_streams sends the zero chunk")
            try:
                s._fill(time.monotonic() + 2)
                raise CheckFailed("close_streams must close the connection")
            except EOFError:
                pass
            s.close()
        equal(d.ctl("GET", "streams")[1]["open"], 0, "no stream open after close_streams")

        # drop_streams: FIN without the zero chunk
        s = SSE(d)
        d.ctl("GET", "wait_streams", query="?open=1&timeout=5")
        d.ctl("POST", "fault", {"drop_streams": True})
        try:
            s.chunk()
            raise CheckFailed("drop_streams must end the connection")
        except EOFError:
            pass
        check(b"0\r\n\r\n" not in s.raw, "drop_streams must not send the zero chunk")
        s.close()

        # drop_streams "rst": connection reset
        s = SSE(d)
        d.ctl("GET", "wait_streams", query="?open=1&timeout=5")
        d.ctl("POST", "fault", {"drop_streams": "rst"})
        try:
            s.chunk()
            raise CheckFailed("drop_streams rst must end the connection")
        except (ConnectionResetError, EOFError) as e:
            check(isinstance(e, ConnectionResetError), f"expected a reset, got {e!r}")
        s.close()

        # raw pieces: each piece is its own chunk, verbatim
        s = SSE(d)
        d.ctl("GET", "wait_streams", query="?open=1&timeout=5")
        pieces = ['event: message\ndata: {"topic":"openhab/items/Lamp/comm',
                  'and","payload":"{}","type":"ItemCommandEvent"}\n\nevent: message\ndata: 1\n\n',
                  "event: message\r\ndata: 2\r\n\r\n: x\n\n"]
        status, answer = d.ctl("POST", "raw", {"pieces": pieces, "gap": 0.05})
        equal((status, answer["chunks_written"]), (200, 3), "raw answer")
        for piece in pieces:
            equal(s.chunk(), piece.encode(), "raw piece as one chunk")
        equal(d.ctl("POST", "raw", {"pieces": [""]})[0], 400, "an empty piece is refused")

        # a stream whose client went away is removed
        s.close()
        equal(d.ctl("GET", "wait_streams", query="?open=0&timeout=5")[0], 200,
              "stream removed after the client closed")

        # delay: openHAB answers late, control does not
        d.ctl("POST", "fault", {"delay": 0.6})
        t0 = time.monotonic()
        equal(d.http("GET", "/rest")[0], 200, "delayed GET")
        check(time.monotonic() - t0 >= 0.55, "delay applies to openHAB requests")
        t0 = time.monotonic()
        d.ctl("GET", "streams")
        check(time.monotonic() - t0 < 0.5, "control requests are not delayed")
        try:
            d.http("GET", "/rest", timeout=0.2)
            raise CheckFailed("a 0.2 s client timeout must expire against delay 0.6")
        except (socket.timeout, TimeoutError):
            pass
        d.ctl("POST", "fault", {"delay": 0})

        # reject: new connections are closed without a response; old ones keep working
        kept = d.connection()
        kept.request("GET", "/rest")
        kept.getresponse().read()
        d.ctl("POST", "fault", {"reject": True})
        try:
            d.http("GET", "/rest")
            raise CheckFailed("reject must close new connections without a response")
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            pass
        kept.request("GET", "/rest")
        equal(kept.getresponse().status, 200, "an existing keep-alive connection still works")
        kept.close()
        check(d.ctl("GET", "streams")[1]["rejected"] >= 1, "rejected connections are counted")
        d.ctl("POST", "fault", {"reject": False})
        equal(d.http("GET", "/rest")[0], 200, "reject off again")

    # stall: nothing more on stalled streams (not even alive), sockets stay open
    with Double("--mode", "oh4", "--alive-interval", "0.3", "--item", "Lamp:Switch") as d:
        a = SSE(d)
        equal(a.chunk(timeout=2), ALIVE["oh4"][1].replace(b"1}", b"0.3}"), "alive before stall")
        d.ctl("POST", "fault", {"stall_streams": True})
        d.command("Lamp", "ON")
        check(a.silent_for(1.0), "a stalled stream gets nothing, not even alive events")
        b = SSE(d)
        equal(b.chunk(timeout=2), b'event: alive\ndata: {"type":"ALIVE","interval":0.3}\n\n',
              "a new stream after stall behaves normally")
        check(a.silent_for(0.3), "the stalled stream stays silent")
        equal(d.ctl("GET", "streams")[1]["open"], 2, "stalled stream still counts as open")
        a.close()
        equal(d.ctl("GET", "wait_streams", query="?open=1&timeout=5")[0], 200,
              "stalled stream removed once its client closes")
        b.close()


def test_tls():
    if not shutil.which("openssl") or not os.path.exists(MAKE_CERTS):
        print("  SKIP tls: openssl or certs/make-certs.sh missing")
        return
    tmp = tempfile.mkdtemp(prefix="oh-double-tls-")
    try:
        subprocess.run(["bash", MAKE_CERTS, tmp], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with Double("--mode", "oh4", "--item", "Lamp:Switch", "--tls-cert",
                    os.path.join(tmp, "server.crt"), "--tls-key", os.path.join(tmp, "server.key"),
                    tls_ca=os.path.join(tmp, "ca.crt")) as d:
            status, _, body = d.http("GET", "/rest")
            equal(status, 200, "GET /rest over TLS")
            check('"https://localhost:' in body.decode(), "links use https")
            sse = SSE(d)
            equal(sse.status, 200, "stream over TLS")
            d.command("Lamp", "ON")
            equal(topic_of(sse.event()), "openhab/items/Lamp/command", "event over TLS")
            sse.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


TESTS = [("mode " + m, (lambda m=m: test_mode(m))) for m in ("oh2", "oh3.0", "oh3.3", "oh4",
                                                              "oh5.1")]
TESTS += [("auth", test_auth), ("topic filter", test_topic_filter), ("values", test_values),
          ("keep-alive + wait", test_keepalive_and_wait), ("restart", test_restart_same_port),
          ("faults", test_faults), ("tls", test_tls)]


def main():
    selected = sys.argv[sys.argv.index("-k") + 1] if "-k" in sys.argv else None
    tests = [(n, f) for n, f in TESTS if selected is None or selected in n]
    results = {}
    start = time.monotonic()

    slots = threading.Semaphore(4)  # a few groups at a time: the checks have timing bounds

    def run(name, fn):
        slots.acquire()
        t0 = time.monotonic()
        try:
            fn()
            results[name] = (None, time.monotonic() - t0)
        except Exception as e:  # noqa: BLE001 - report every failure the same way
            detail = str(e) if isinstance(e, CheckFailed) else traceback.format_exc()
            mine = [d for d in list(RUNNING) if d.owner is threading.current_thread()]
            logs = "".join(f"    double {d.args}:\n{d.log_tail()}" for d in mine)
            results[name] = (f"{detail}\n{logs}", time.monotonic() - t0)
            for d in mine:
                if d.proc.poll() is None:
                    d.proc.kill()
                    d.proc.wait()
                RUNNING.remove(d)
        finally:
            slots.release()

    # The groups are independent (each starts its own doubles), so run them side by side.
    threads = [threading.Thread(target=run, args=t) for t in tests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = 0
    for name, _ in tests:
        error, elapsed = results[name]
        if error is None:
            print(f"  ok   {name} ({elapsed:.1f}s)")
        else:
            failed += 1
            print(f"  FAIL {name} ({elapsed:.1f}s): {error}")
    print(f"{len(tests) - failed} passed, {failed} failed in {time.monotonic() - start:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
