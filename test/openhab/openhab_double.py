#!/usr/bin/env python3
# openhab_double.py - a faithful openHAB REST + SSE test double for the integration tests of
# sensor_reporter's openhab_rest.rest_conn.OpenhabREST connection (and for trying the daemon
# by hand). Python 3.11 standard library only.
#
# It is built from the upstream contract in shared/reference/openhab_rest.md (D.3, D.4, D.7) and
# checked against openhab-core's sources (tags 2.5.0, 3.0.4, 3.3.0, 4.2.1, 5.1.0, HEAD f0185b43e6),
# never from how our client behaves. Where each behaviour comes from:
#   - Modes oh2 / oh3.0 / oh3.3 / oh4 / oh5.1 stand for openHAB 2.5.12, 3.0.4, 3.3.0, 4.2.1, 5.1.0.
#   - GET /rest: RootResource + RootBean + RESTConstants.API_VERSION ("3" in 2.5 without
#     runtimeInfo, "4" in 3.0, "5" in 3.3, "8" in 4.2 and 5.1; 5.1 adds "timezone"). No
#     @RolesAllowed, but AuthFilter is @PreMatching, so a present-but-invalid credential is
#     rejected with 401 here too (see AUTH below).
#   - Items: ItemResource (PUT /{itemName: [a-zA-Z_0-9]+}/state @Consumes text/plain [+ JSON
#     {value,source} in 5.x] -> 202 with no body / 404 "Item X does not exist!" / 400 "State
#     could not be parsed: X"; POST /{itemName} -> 200 text/plain, 400 without body, 404;
#     "toggle" for Switch and Dimmer (DimmerItem extends SwitchItem)); JSONResponse for the
#     error JSON {"error":{"message":..,"http-code":..}}.
#   - Value parsing: TypeParser tries the item's accepted data/command types in order, each
#     type's valueOf(): OnOffType/OpenClosedType/UnDefType are enums (exact, case-sensitive),
#     DecimalType = Java BigDecimal syntax up to 3.2 and DecimalFormat(Locale.ENGLISH) from 3.3
#     (upper-cased first from 4.0, so "1e3" works there), PercentType = Decimal in 0..100,
#     QuantityType = number + unit (UNIT_PATTERN split; units are a whitelist here),
#     StringType = anything, DateTimeType = yyyy-MM-dd'T'HH:mm[:ss[.S{1..9}]] with an optional
#     zone (RFC +HHMM, ISO Z/+HH/+HHMM, zone id/+HH:MM), else time only, else epoch seconds or
#     millis, else date only; 5.x also accepts a space instead of 'T'. State strings come from
#     toFullString() (DateTime keeps its parsed offset up to 4.x and uses the system zone in 5.x,
#     with openHAB's "000" trimming quirk reproduced).
#   - Item state handling: GenericItem.applyState (ItemStateUpdatedEvent from 4.0 before
#     ItemStateChangedEvent), NumberItem (dimension conversion, unit stripped on a plain Number
#     from 4.0), DimmerItem (ON/OFF stored as 100/0).
#   - Commands: after ItemCommandEvent the AutoUpdateManager (OPTIMISTIC policy of a linked
#     item) posts ItemStatePredictedEvent and the ItemStateEvent, whose handling adds
#     stateupdated/statechanged as above.
#   - Event JSON: ItemEventFactory topics ("smarthome/" in 2.x, "openhab/" from 3.0) and payload
#     beans {type,value}, {type,value,oldType,oldValue}, {predictedType,predictedValue,
#     isConfirmation}; 5.x adds lastStateUpdate/lastStateChange (ISO_ZONED_DATE_TIME, null ones
#     left out). EventDTO {topic,payload,type} serialised by Gson with HTML escaping (= < > & '
#     become \u003d \u003c \u003e \u0026 \u0027), payload double encoded.
#   - SSE: SseResource (headers X-Accel-Buffering: no + Content-Encoding: identity flushed at
#     once; frame "event: message\ndata: <json>\n\n", LF only, no id:, no replay; alive: none
#     before 3.3, 3.3 "event: event" + {"type":"ALIVE"} every 2 min after 1 min, 4.x+
#     "event: alive" + {"type":"ALIVE","interval":10} every 10 s after 1 s, sent to every stream
#     whatever its filter), SseUtil (filter must match (\w*\*?\/?,?:?-?\s*)* else 400; comma list,
#     "*" -> ".*", suffix ".*" (prefix match) up to 3.2 and "$" from 3.3, openhab-core#2986).
#   - AUTH (modes >= 3.0): AuthFilter (@PreMatching) then RolesAllowedDynamicFeatureImpl.
#     X-OPENHAB-TOKEN, else "Authorization: <type> <value>" (split on single spaces, exactly two
#     parts): Bearer -> token, Basic -> base64 "tok" = token, "user:pass" only with
#     allowBasicAuth. A present credential that fails -> 401 "Invalid credentials" on every /rest
#     path (before 404/415). No credential -> anonymous USER only with implicitUserRole, else
#     401 "Authentication required" on @RolesAllowed endpoints (items, events). Differences:
#     3.0 treats a malformed/unknown Authorization header like none; 3.3 gives it no role; 4.x
#     treats a malformed one like none and an unknown scheme as no role.
#   - Client errors from JAX-RS itself (no route 404, 405, 406, 415): JSON with an "exception"
#     object up to 4.0 (JSONResponse.ExceptionMapper), bare status with no body from 4.1
#     (JSONResponseExceptionMapper, openhab-core#3940). A PUT/POST without Content-Type fails in
#     the body reader (415 after the role check); a wrong Content-Type fails at method selection
#     (415 before the role check). 2.x (Jersey) accepts a missing Content-Type.
#
# Command line:
#   openhab_double.py [--mode {oh2,oh3.0,oh3.3,oh4,oh5.1}] [--port N] [--bind 127.0.0.1]
#       [--alive-interval S] [--item NAME:TYPE[=STATE]]... [--token TOKEN]...
#       [--no-implicit-user-role] [--basic-auth USER:PASS] [--tls-cert FILE --tls-key FILE]
#   Prints "LISTENING <port>" once listening; one stderr line per request; SIGTERM/SIGINT end
#   every stream with its final chunk and exit 0.
#
# Control API (not openHAB; under /__double/, never authenticated, never delayed, JSON):
#   GET  /__double/requests?since=SEQ       -> {"next", "requests": [record...]}
#   GET  /__double/wait?method=&path=|path_prefix=&count=1&since=0&timeout=10
#                                            -> 200 or 504 {"next", "requests"}
#   GET  /__double/streams                   -> {"open", "total", "connections", "rejected", "delayed"}
#   GET  /__double/wait_streams?open=&total=&delayed=&timeout=10 -> 200 or 504 (same body);
#        delayed=N: at least N requests are being held back by the "delay" fault
#   GET  /__double/items                     -> {"items": [{"name","type","state"}]}
#   POST /__double/items  {"name","type","state"}        define or replace an item
#   POST /__double/event  {"topic","payload_obj"|"payload","type"}  broadcast in real framing
#   POST /__double/raw    {"pieces": [...], "gap": 0.05}  verbatim chunks to every live stream
#   POST /__double/fault  {"close_streams"|"drop_streams" (true or "rst")|"stall_streams": true,
#                          "delay": S, "reject": bool}
#   A record is {"seq","conn","method","path","query","headers","body","body_hex","status","t"};
#   it is made when the response status is sent (after any delay), "t" = time.monotonic() when
#   the request line arrived. README.md next to this file has the details and curl examples.

import argparse
import base64
import binascii
import json
import math
import os
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation, localcontext
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

try:
    import zoneinfo
except ImportError:  # pragma: no cover - 3.11 always has it
    zoneinfo = None


# --------------------------------------------------------------------------------------------
# Modes: every version-dependent behaviour is one field here, so a difference is easy to find.
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mode:
    name: str
    prefix: str                 # event topic namespace (ItemEventFactory)
    version: str                # runtimeInfo.version
    api_version: str            # RootBean.version
    auth: str | None            # AuthFilter generation: None (2.x has none), "3.0", "3.3", "4"
    content_type_required: bool  # CXF: no Content-Type -> 415
    alive_name: str | None      # SSE event name of the keepalive
    alive_default: float | None
    alive_first_ratio: float    # first alive after interval * ratio (1 min of 2, 1 s of 10)
    alive_has_interval: bool
    filter_suffix: str          # SseUtil.convertToRegex suffix
    decimal: str                # "bigdecimal" | "format" | "format_upper"
    state_updated: bool         # ItemStateUpdatedEvent (4.0+)
    bare_client_errors: bool    # 4.1+: JAX-RS client errors without body
    json_body: bool             # 5.0+: PUT/POST accept application/json {value, source}
    item_times: bool            # 5.x: lastState*/lastStateUpdate/lastStateChange
    datetime_system_zone: bool  # 5.x: DateTimeType keeps an Instant, prints in the system zone
    datetime_space: bool        # 5.x: "yyyy-MM-dd HH:mm" accepted
    units_always_converted: bool  # 4.x+: NumberItem converts every quantity to the item unit
    plain_number_strips_unit: bool  # 4.x+: plain Number item stores a DecimalType
    unit_symbol: bool           # 4.x+: EnrichedItemDTO.unitSymbol
    root_timezone: bool         # 5.x: RootBean.timezone


_OH3_BASE = dict(prefix="openhab", auth="3.0", content_type_required=True, alive_name=None,
                 alive_default=None, alive_first_ratio=0.0, alive_has_interval=False,
                 filter_suffix=".*", decimal="bigdecimal", state_updated=False,
                 bare_client_errors=False, json_body=False, item_times=False,
                 datetime_system_zone=False, datetime_space=False, units_always_converted=False,
                 plain_number_strips_unit=False, unit_symbol=False, root_timezone=False)


def _mode(name, version, api, **changes):
    fields = dict(_OH3_BASE)
    fields.update(changes)
    return Mode(name=name, version=version, api_version=api, **fields)


MODES = {
    "oh2": _mode("oh2", "2.5.12", "3", prefix="smarthome", auth=None, content_type_required=False),
    "oh3.0": _mode("oh3.0", "3.0.4", "4"),
    "oh3.3": _mode("oh3.3", "3.3.0", "5", auth="3.3", alive_name="event", alive_default=120.0,
                   alive_first_ratio=0.5, filter_suffix="$", decimal="format"),
    "oh4": _mode("oh4", "4.2.1", "8", auth="4", alive_name="alive", alive_default=10.0,
                 alive_first_ratio=0.1, alive_has_interval=True, filter_suffix="$",
                 decimal="format_upper", state_updated=True, bare_client_errors=True,
                 units_always_converted=True, plain_number_strips_unit=True, unit_symbol=True),
}
MODES["oh5.1"] = _mode("oh5.1", "5.1.0", "8", **{
    **{k: getattr(MODES["oh4"], k) for k in _OH3_BASE},
    "json_body": True, "item_times": True, "datetime_system_zone": True, "datetime_space": True,
    "root_timezone": True})


# --------------------------------------------------------------------------------------------
# Gson-compatible JSON writing (default Gson: HTML-safe escaping, nulls left out).
# --------------------------------------------------------------------------------------------

_GSON_ESCAPES = {chr(i): "\\u%04x" % i for i in range(0x20)}
_GSON_ESCAPES.update({'"': '\\"', "\\": "\\\\", "\t": "\\t", "\b": "\\b", "\n": "\\n",
                      "\r": "\\r", "\f": "\\f", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                      "=": "\\u003d", "'": "\\u0027", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def gson_string(text):
    return '"' + "".join(_GSON_ESCAPES.get(c, c) for c in text) + '"'


def gson(value):
    """Serialise like new Gson().toJson(): dict order kept, None members left out."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return gson_string(value)
    if isinstance(value, dict):
        members = (gson_string(k) + ":" + gson(v) for k, v in value.items() if v is not None)
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(gson(v) for v in value) + "]"
    raise TypeError(f"cannot serialise {type(value)}")


def java_split(text, sep):
    """String.split(sep) for a literal one-character separator: trailing empties dropped."""
    if sep not in text:
        return [text]
    parts = text.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


# --------------------------------------------------------------------------------------------
# Values (openHAB State/Command types) and their valueOf() parsers.
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Value:
    type: str                   # Gson "type": simple class name without "Type"
    text: str                   # toFullString()
    key: tuple                  # what Java's equals() compares
    is_state: bool = True
    num: Decimal | None = None
    unit: str | None = None


def plain(d):
    """BigDecimal.toPlainString()."""
    return format(d, "f")


_BIGDECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _decimal_format_literal(text):
    """What DecimalFormat(Locale.ENGLISH).parse accepts when it must consume all of text:
    optional '-', digits with ',' grouping in the integer part, one '.', exponent 'E' with an
    optional '-' (no '+'). Returns a literal for Decimal() or None."""
    i, n = 0, len(text)
    sign = ""
    if text.startswith("-"):
        sign, i = "-", 1
    int_part, frac_part, exponent = [], [], ""
    saw_decimal = saw_digit = False
    backup = -1  # a grouping char only counts if a digit follows it
    while i < n:
        ch = text[i]
        if "0" <= ch <= "9":
            backup = -1
            saw_digit = True
            (frac_part if saw_decimal else int_part).append(ch)
            i += 1
        elif ch == "." and not saw_decimal:
            saw_decimal = True
            i += 1
        elif ch == "," and not saw_decimal:
            backup = i
            i += 1
        elif ch == "E":
            j = i + 1
            exp_sign = ""
            if j < n and text[j] == "-":
                exp_sign, j = "-", j + 1
            k = j
            while k < n and "0" <= text[k] <= "9":
                k += 1
            if k > j:
                exponent, i = "E" + exp_sign + text[j:k], k
            break
        else:
            break
    if backup != -1:
        i = backup
    if not saw_digit or i < n:
        return None
    return sign + ("".join(int_part) or "0") + ("." + "".join(frac_part) if frac_part else "") \
        + exponent


def java_decimal(text, mode):
    """new DecimalType(text).toBigDecimal() for the mode, or None on NumberFormatException."""
    if text is None:
        return None
    if mode.decimal == "bigdecimal":
        literal = text if _BIGDECIMAL.fullmatch(text) else None
    else:
        literal = _decimal_format_literal(text.upper() if mode.decimal == "format_upper" else text)
    if literal is None:
        return None
    try:
        d = Decimal(literal)
    except InvalidOperation:
        return None
    if abs(d.adjusted()) > 4000:  # keep toPlainString() sane; openHAB would accept it
        return None
    return d.copy_abs() if d.is_zero() else d  # BigDecimal has no negative zero


def decimal_value(d):
    return Value("Decimal", plain(d), ("num", d), num=d)


def percent_value(d):
    return Value("Percent", plain(d), ("Percent", d), num=d)


def quantity_value(d, unit):
    # QuantityType.toString() is the indriya quantity: BigDecimal.toString() + " " + unit
    return Value("Quantity", f"{d} {unit}", ("Quantity", d, unit), num=d, unit=unit)


TEMPERATURE_UNITS = {"°C", "°F", "K"}
# openHAB parses any UCUM/SI unit; the double knows a whitelist of the common ones.
OTHER_UNITS = {"%", "m", "cm", "mm", "km", "in", "ft", "mi", "W", "kW", "Wh", "kWh", "V", "mV",
               "A", "mA", "Hz", "Pa", "hPa", "kPa", "bar", "mbar", "inHg", "lx", "ppm", "ppb",
               "s", "ms", "min", "h", "d", "g", "kg", "lb", "l", "m³", "m/s", "km/h", "mph",
               "dB", "dBm", "°", "rad", "J", "kJ", "Ω", "µg/m³", "mm/h"}
_UNIT_SPLIT = re.compile(r"\s+|(?<=\d)(?=\D(?![+\-]?\d))")


def p_undef(text, mode):
    return Value("UnDef", text, ("UnDef", text)) if text in ("NULL", "UNDEF") else None


def p_onoff(text, mode):
    return Value("OnOff", text, ("OnOff", text)) if text in ("ON", "OFF") else None


def p_openclosed(text, mode):
    return Value("OpenClosed", text, ("OpenClosed", text)) if text in ("OPEN", "CLOSED") else None


def p_refresh(text, mode):
    return Value("Refresh", text, ("Refresh",), is_state=False) if text == "REFRESH" else None


def p_incdec(text, mode):
    if text in ("INCREASE", "DECREASE"):
        return Value("IncreaseDecrease", text, ("IncreaseDecrease", text), is_state=False)
    return None


def p_string(text, mode):
    return Value("String", text, ("String", text)) if text is not None else None


def p_decimal(text, mode):
    d = java_decimal(text, mode)
    return decimal_value(d) if d is not None else None


def p_percent(text, mode):
    d = java_decimal(text, mode)
    return percent_value(d) if d is not None and 0 <= d <= 100 else None


def p_quantity(text, mode):
    if text is None:
        return None
    parts = _UNIT_SPLIT.split(text)
    while parts and parts[-1] == "":
        parts.pop()
    if len(parts) != 2 or (parts[1] not in TEMPERATURE_UNITS and parts[1] not in OTHER_UNITS):
        return None
    d = java_decimal(parts[0], mode)
    return quantity_value(d, parts[1]) if d is not None else None


# ---- DateTimeType ----------------------------------------------------------------------------

_DT_MAIN = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(.*)", re.ASCII | re.S)
_DT_SPACE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}.*", re.ASCII)
_JAVA_DOUBLE = re.compile(r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)",
                          re.ASCII)
_OFFSET = re.compile(r"([+-])(\d{2})(?:(\d{2})|:(\d{2})(?::(\d{2}))?)?", re.ASCII)
_ZONE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)


def _parse_zone(text):
    """Zone part accepted by the Z (+HHMM), X (Z, +HH, +HHMM) or z (zone id, +HH:MM[:SS])
    parsers of DateTimeType.parse(). Returns a tzinfo, "local" or None."""
    if text == "":
        return "local"
    if text == "Z":
        return timezone.utc
    m = _OFFSET.fullmatch(text)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or m.group(4) or 0)
        seconds = int(m.group(5) or 0)
        if hours > 18 or minutes > 59 or seconds > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes, seconds=seconds)
        return timezone(-delta if m.group(1) == "-" else delta)
    if text in ("UTC", "GMT", "UT"):
        return timezone.utc
    if zoneinfo is not None and _ZONE_ID.fullmatch(text):
        try:
            return zoneinfo.ZoneInfo(text)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            return None
    return None


def _days_in_month(year, month):
    nxt = datetime(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _dt_parse(text):
    """DateTimeType.parse(): returns (aware datetime, nanos) or None."""
    m = _DT_MAIN.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    nanos = int((m.group(7) or "").ljust(9, "0"))
    zone = _parse_zone(m.group(8))
    if zone is None or not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59
                            and second <= 59 and year >= 1):
        return None
    day = min(day, _days_in_month(year, month))  # ResolverStyle.SMART
    naive = datetime(year, month, day, hour, minute, second)
    aware = naive.astimezone() if zone == "local" else naive.replace(tzinfo=zone)
    return aware, nanos


def _dt_epoch(text):
    """The Double.valueOf(...).longValue() fallback: epoch seconds below 12 digits, else ms."""
    stripped = text.strip("".join(chr(i) for i in range(0x21)))
    if not _JAVA_DOUBLE.fullmatch(stripped):
        return None
    number = float(stripped.rstrip("fFdD"))
    if math.isnan(number):
        epoch = 0
    elif math.isinf(number):
        epoch = (1 << 63) - 1 if number > 0 else -(1 << 63)
    else:
        epoch = max(-(1 << 63), min((1 << 63) - 1, int(number)))
    length = int(math.log10(abs(epoch))) + 1 if epoch != 0 else -1
    try:
        if length < 12:
            aware = datetime.fromtimestamp(epoch, timezone.utc)
            return aware, 0
        aware = datetime.fromtimestamp(epoch // 1000, timezone.utc)
        return aware, (epoch % 1000) * 1_000_000
    except (OverflowError, OSError, ValueError):
        return None  # Java's range is larger; such dates are not useful in tests


def _format_datetime(aware, nanos):
    """toFullString(): yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSZ, then openHAB trims at most two "000"
    groups before the offset sign - with String.replace, so "2000-" can be hit as well."""
    offset = aware.utcoffset() or timedelta(0)
    total = int(offset.total_seconds())
    sign_char = "-" if total < 0 else "+"
    hh, mm = divmod(abs(total) // 60, 60)
    formatted = (f"{aware.year:04d}-{aware.month:02d}-{aware.day:02d}T{aware.hour:02d}:"
                 f"{aware.minute:02d}:{aware.second:02d}.{nanos:09d}{sign_char}{hh:02d}{mm:02d}")
    sign = "+" if "+" in formatted else ("-" if "-" in formatted else "")
    if sign:
        formatted = formatted.replace("000" + sign, sign).replace("000" + sign, sign)
    return formatted


def p_datetime(text, mode):
    if text is None:
        return None
    parsed = None
    if mode.datetime_space and _DT_SPACE.fullmatch(text):
        parsed = _dt_parse(text[:10] + "T" + text[11:])
    if parsed is None:
        parsed = _dt_parse(text)
    if parsed is None:
        parsed = _dt_parse("1970-01-01T" + text)  # time only
    if parsed is None:
        if _JAVA_DOUBLE.fullmatch(text.strip("".join(chr(i) for i in range(0x21)))):
            parsed = _dt_epoch(text)
        elif len(text) == 10:
            parsed = _dt_parse(text + "T00:00:00")  # date only
        elif len(text) > 10:
            parsed = _dt_parse(text[:10] + "T00:00:00" + text[10:])
    if parsed is None:
        return None
    aware, nanos = parsed
    if mode.datetime_system_zone:
        aware = aware.astimezone()  # 5.x keeps an Instant and prints it in the system zone
        key = ("DateTime", aware.astimezone(timezone.utc).replace(tzinfo=None), nanos)
    else:
        key = ("DateTime", aware.astimezone(timezone.utc).replace(tzinfo=None), nanos,
               aware.utcoffset())
    return Value("DateTime", _format_datetime(aware, nanos), key)


# ---- item types ----------------------------------------------------------------------------

# Accepted data types and command types in openHAB's order (SwitchItem, ContactItem, ...).
ITEM_TYPES = {
    "Switch": ((p_onoff, p_undef), (p_onoff, p_refresh)),
    "Contact": ((p_openclosed, p_undef), (p_refresh,)),
    "Number": ((p_decimal, p_quantity, p_undef), (p_decimal, p_quantity, p_refresh)),
    "Number:Temperature": ((p_decimal, p_quantity, p_undef), (p_decimal, p_quantity, p_refresh)),
    "String": ((p_undef, p_string, p_datetime), (p_string, p_refresh)),
    "DateTime": ((p_datetime, p_undef), (p_datetime, p_refresh)),
    "Dimmer": ((p_percent, p_onoff, p_undef), (p_percent, p_onoff, p_incdec, p_refresh)),
}
_PARSER_TYPE = {p_onoff: "OnOff", p_undef: "UnDef", p_openclosed: "OpenClosed",
                p_decimal: "Decimal", p_quantity: "Quantity", p_string: "String",
                p_datetime: "DateTime", p_percent: "Percent"}
NULL = Value("UnDef", "NULL", ("UnDef", "NULL"))
ITEM_NAME = re.compile(r"[a-zA-Z_0-9]+", re.ASCII)


def parse_with(parsers, text, mode):
    """TypeParser.parseState/parseCommand: first valueOf() that succeeds."""
    for parser in parsers:
        value = parser(text, mode)
        if value is not None:
            return value
    return None


def accepts_state(item_type, value):
    return value.is_state and value.type in {_PARSER_TYPE[p] for p in ITEM_TYPES[item_type][0]}


def java_double_string(d):
    """new BigDecimal(Double.toString(d.doubleValue())) for ordinary magnitudes."""
    x = float(d)
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return Decimal(repr(x))
    return Decimal(repr(x)).normalize()


def to_celsius(d, unit):
    with localcontext() as ctx:
        ctx.prec = 34
        if unit == "K":
            return d - Decimal("273.15")
        if unit == "°F":
            return (d - 32) * 5 / 9
        return d


@dataclass
class Item:
    name: str
    type: str
    state: Value = NULL
    last_state: Value | None = None
    last_update: datetime | None = None
    last_change: datetime | None = None

    def internal_state(self, value, mode):
        """What Item.setState() stores for a posted state, or None if it refuses it."""
        if value.type == "UnDef":
            return value
        if self.type == "Dimmer" and value.type == "OnOff":
            return percent_value(Decimal(100 if value.text == "ON" else 0))
        if self.type == "Number" and value.type == "Quantity" and mode.plain_number_strips_unit:
            return decimal_value(value.num)
        if self.type == "Number:Temperature":
            if value.type == "Decimal":
                return quantity_value(java_double_string(value.num), "°C")
            if value.type == "Quantity":
                if value.unit not in TEMPERATURE_UNITS:
                    return None  # "could not be converted to the item unit"
                if mode.units_always_converted or value.unit == "°F":
                    return quantity_value(to_celsius(value.num, value.unit), "°C")
        return value


# --------------------------------------------------------------------------------------------
# Events and their SSE frames.
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    topic: str
    payload: str   # already a JSON string (ItemEventFactory.serializePayload)
    type: str

    def frame(self):
        dto = gson({"topic": self.topic, "payload": self.payload, "type": self.type})
        return b"event: message\ndata: " + dto.encode("utf-8") + b"\n\n"


def iso_zoned(moment, zone_name):
    """DateTimeFormatter.ISO_ZONED_DATE_TIME of ZonedDateTime.now() in the system zone."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ("." + f"{moment.microsecond:06d}").rstrip("0")
    offset = moment.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        text += "Z"
    else:
        total = int(offset.total_seconds())
        hh, mm = divmod(abs(total) // 60, 60)
        text += f"{'-' if total < 0 else '+'}{hh:02d}:{mm:02d}"
    return text + f"[{zone_name}]"


def system_zone_name():
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and _ZONE_ID.fullmatch(tz):
        return tz
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            return link.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    try:
        with open("/etc/timezone", encoding="utf-8") as f:
            name = f.read().strip()
            if name:
                return name
    except OSError:
        pass
    return "UTC"


class EventFactory:
    """ItemEventFactory for one mode."""

    def __init__(self, mode):
        self.mode = mode
        self.zone_name = system_zone_name()

    def topic(self, name, suffix):
        return f"{self.mode.prefix}/items/{name}/{suffix}"

    def _time(self, moment):
        return iso_zoned(moment, self.zone_name) if (moment and self.mode.item_times) else None

    def command(self, name, cmd):
        return Event(self.topic(name, "command"), gson({"type": cmd.type, "value": cmd.text}),
                     "ItemCommandEvent")

    def state(self, name, value):
        return Event(self.topic(name, "state"), gson({"type": value.type, "value": value.text}),
                     "ItemStateEvent")

    def predicted(self, name, value, confirmation=False):
        payload = {"predictedType": value.type, "predictedValue": value.text,
                   "isConfirmation": confirmation}
        return Event(self.topic(name, "statepredicted"), gson(payload), "ItemStatePredictedEvent")

    def updated(self, name, value, last_update):
        payload = {"type": value.type, "value": value.text,
                   "lastStateUpdate": self._time(last_update)}
        return Event(self.topic(name, "stateupdated"), gson(payload), "ItemStateUpdatedEvent")

    def changed(self, name, new, old, last_update, last_change):
        payload = {"type": new.type, "value": new.text, "oldType": old.type, "oldValue": old.text,
                   "lastStateUpdate": self._time(last_update),
                   "lastStateChange": self._time(last_change)}
        return Event(self.topic(name, "statechanged"), gson(payload), "ItemStateChangedEvent")


# --------------------------------------------------------------------------------------------
# Streams and the broker that fans events out to them.
# --------------------------------------------------------------------------------------------

def topic_filters(topics, mode):
    """SseUtil.convertToRegex: comma list (StringTokenizer: empty tokens skipped), trimmed,
    '*' -> '.*', suffix '.*' (<= 3.2) or '$' (>= 3.3); matched with String.matches()."""
    if not topics:
        return [re.compile(".*", re.S)]
    tokens = [t for t in topics.split(",") if t != ""]
    return [re.compile(t.strip("".join(chr(i) for i in range(0x21))).replace("*", ".*")
                       + mode.filter_suffix, re.S) for t in tokens]


_FILTER_CHARS = re.compile(r"[\w*/,:\-\s]*", re.ASCII)


def valid_topic_filter(topics):
    # (\w*\*?\/?,?:?-?\s*)* accepts exactly the strings made of these characters; checking the
    # character set avoids the pattern's catastrophic backtracking in Python's re.
    return not topics or bool(_FILTER_CHARS.fullmatch(topics))


class Stream:
    """One open GET /rest/events. Only its own handler thread writes to the socket; everyone
    else hands it chunks through this queue."""

    def __init__(self, sid, conn, filters):
        self.sid, self.conn, self.filters = sid, conn, filters
        self.cond = threading.Condition()
        self.chunks = deque()      # (bytes, threading.Event | None)
        self.end = None            # None | "close" | "drop" | "rst"
        self.stalled = False
        self.finished = threading.Event()

    def matches(self, topic):
        return any(f.fullmatch(topic) for f in self.filters)

    def offer(self, data, done=None):
        with self.cond:
            if self.end is not None or self.stalled:
                return False
            self.chunks.append((data, done))
            self.cond.notify()
            return True

    def request_end(self, how):
        with self.cond:
            if self.end is None:
                self.end = how
            self.cond.notify()

    def stall(self):
        with self.cond:
            self.stalled = True
            self._release_pending()
            self.cond.notify()

    def _release_pending(self):
        while self.chunks:
            _, done = self.chunks.popleft()
            if done is not None:
                done.set()

    def next_action(self, timeout):
        """Returns ("chunk", data, done), ("end", how) or None after timeout."""
        with self.cond:
            if not self.chunks and self.end is None:
                self.cond.wait(timeout)
            if self.end in ("drop", "rst"):
                self._release_pending()
                return ("end", self.end)
            if self.chunks and not self.stalled:
                data, done = self.chunks.popleft()
                return ("chunk", data, done)
            if self.end is not None:
                return ("end", self.end)
            return None


class Broker:
    """Open streams, the alive ticker and broadcasting (SseResource's topicBroadcaster)."""

    def __init__(self, mode, alive_interval, stop):
        self.mode, self.alive_interval, self.stop = mode, alive_interval, stop
        self.cond = threading.Condition()
        self.streams = {}
        self.total = 0
        self.connections = 0
        self.rejected = 0
        self.delayed = 0  # requests being held back by the "delay" fault right now

    def snapshot(self):
        with self.cond:
            return {"open": len(self.streams), "total": self.total,
                    "connections": self.connections, "rejected": self.rejected,
                    "delayed": self.delayed}

    def count_delayed(self, step):
        with self.cond:
            self.delayed += step
            self.cond.notify_all()

    def count(self, what):
        with self.cond:
            setattr(self, what, getattr(self, what) + 1)
            self.cond.notify_all()

    def add(self, stream):
        with self.cond:
            self.streams[stream.sid] = stream
            self.total += 1
            self.cond.notify_all()

    def remove(self, stream):
        with self.cond:
            self.streams.pop(stream.sid, None)
            self.cond.notify_all()

    def live(self):
        with self.cond:
            return list(self.streams.values())

    def publish(self, events):
        """Frames each event once and queues it on every stream whose filter matches."""
        done = []
        for event in events:
            frame = event.frame()
            for stream in self.live():
                if stream.matches(event.topic):
                    flag = threading.Event()
                    if stream.offer(frame, flag):
                        done.append(flag)
        return done

    def publish_all(self, data):
        """Queues raw bytes on every live stream regardless of filters (alive events, raw)."""
        done = []
        for stream in self.live():
            flag = threading.Event()
            if stream.offer(data, flag):
                done.append(flag)
        return done

    def alive_frame(self):
        if self.mode.alive_has_interval:
            interval = self.alive_interval
            number = int(interval) if float(interval).is_integer() else interval
            data = gson({"type": "ALIVE", "interval": number})
        else:
            data = gson({"type": "ALIVE"})
        return f"event: {self.mode.alive_name}\ndata: {data}\n\n".encode("utf-8")

    def run_alive(self):
        """scheduleWithFixedDelay(first, interval): one global clock for every stream."""
        delay = self.alive_interval * self.mode.alive_first_ratio
        while not self.stop.wait(delay):
            self.publish_all(self.alive_frame())
            delay = self.alive_interval

    def wait_for(self, predicate, timeout):
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def end_all(self, how, timeout=5.0):
        streams = self.live()
        for stream in streams:
            stream.request_end(how)
        deadline = time.monotonic() + timeout
        for stream in streams:
            stream.finished.wait(max(0.0, deadline - time.monotonic()))
        return len(streams)


# --------------------------------------------------------------------------------------------
# Request recording for the control API.
# --------------------------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.cond = threading.Condition()
        self.records = []

    def add(self, record):
        with self.cond:
            record["seq"] = len(self.records) + 1
            self.records.append(record)
            self.cond.notify_all()

    def since(self, seq):
        with self.cond:
            return [r for r in self.records if r["seq"] >= seq], len(self.records) + 1

    def wait(self, match, count, since, timeout):
        def found():
            return [r for r in self.records if r["seq"] >= since and match(r)]
        with self.cond:
            ok = self.cond.wait_for(lambda: len(found()) >= count, timeout)
            return ok, found(), len(self.records) + 1


# --------------------------------------------------------------------------------------------
# The openHAB side: registry, auth and routes.
# --------------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple = ()


@dataclass
class StartStream:
    filters: list


class AuthError(Exception):
    pass


CLIENT_ERROR_CLASSES = {404: "javax.ws.rs.NotFoundException",
                        405: "javax.ws.rs.NotAllowedException",
                        406: "javax.ws.rs.NotAcceptableException",
                        415: "javax.ws.rs.NotSupportedException"}


class OpenHAB:
    def __init__(self, config, broker):
        self.mode = config.mode
        self.config = config
        self.broker = broker
        self.events = EventFactory(self.mode)
        self.lock = threading.Lock()     # the item registry; events are published under it
        self.items = {}

    # ---- registry ----

    def define_item(self, name, item_type, state_text=None):
        if not ITEM_NAME.fullmatch(name or ""):
            raise ValueError(f"invalid item name {name!r}")
        if item_type not in ITEM_TYPES:
            raise ValueError(f"unknown item type {item_type!r}")
        state = NULL
        if state_text is not None:
            parsed = parse_with(ITEM_TYPES[item_type][0], state_text, self.mode)
            if parsed is None:
                raise ValueError(f"state {state_text!r} is not valid for a {item_type} item")
            item = Item(name, item_type)
            state = item.internal_state(parsed, self.mode) or NULL
        with self.lock:
            self.items[name] = Item(name, item_type, state)

    def list_items(self):
        with self.lock:
            return [{"name": i.name, "type": i.type, "state": i.state.text}
                    for i in self.items.values()]

    def _apply_state(self, item, value):
        """ItemStateEvent, then GenericItem.applyState's stateupdated/statechanged."""
        events = [self.events.state(item.name, value)]
        internal = item.internal_state(value, self.mode)
        if internal is None:
            return events
        now = datetime.now().astimezone()
        old = item.state
        changed = old.key != internal.key
        item.state = internal
        if changed:
            item.last_state = old
        if self.mode.state_updated:
            events.append(self.events.updated(item.name, internal, item.last_update))
        if changed:
            events.append(self.events.changed(item.name, internal, old, item.last_update,
                                              item.last_change))
            item.last_change = now
        item.last_update = now
        return events

    # ---- auth ----

    def _bearer(self, token):
        if token in self.config.tokens:
            return "user"
        raise AuthError("invalid token")

    def authenticate(self, headers):
        """AuthFilter: returns "user", "anonymous" or None (no security context); raises
        AuthError for a present credential that fails."""
        gen = self.mode.auth
        implicit = "anonymous" if self.config.implicit_user_role else None
        alt = headers.get("X-OPENHAB-TOKEN")
        if alt is not None:
            return self._bearer(alt)
        auth = headers.get("Authorization")
        if auth is None:
            return implicit
        parts = java_split(auth, " ")
        if len(parts) != 2:
            return None if gen == "3.3" else implicit
        scheme, value = parts
        if scheme.lower() == "bearer":
            return self._bearer(value)
        if scheme.lower() != "basic":
            return implicit if gen == "3.0" else None
        try:
            decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise AuthError("bad base64") from None
        fields = java_split(decoded.decode("utf-8", "replace"), ":")
        if len(fields) > 2:
            raise AuthError("Invalid Basic authentication credential format")
        if len(fields) == 1:
            return self._bearer(fields[0])
        if len(fields) == 2:
            if self.config.basic_auth is None:
                raise AuthError("Basic authentication with username/password is not allowed")
            if tuple(fields) != self.config.basic_auth:
                raise AuthError("wrong user or password")
            return "user"
        return None  # "::" decodes to no fields: no context at all

    # ---- responses ----

    def json_error(self, status, message):
        body = gson({"error": {"message": message, "http-code": status}})
        return Response(status, body.encode("utf-8"), "application/json")

    def client_error(self, status):
        """A status JAX-RS itself produces (no route, method, Accept or Content-Type)."""
        if self.mode.bare_client_errors:
            return Response(status)
        message = f"HTTP {status} {HTTPStatus(status).phrase}"
        body = gson({"error": {"message": message, "http-code": status, "exception": {
            "class": CLIENT_ERROR_CLASSES[status], "message": message,
            "localized-message": message}}})
        return Response(status, body.encode("utf-8"), "application/json")

    def not_found_item(self, name):
        return self.json_error(404, f"Item {name} does not exist!")

    # ---- routing ----

    def handle(self, req):
        """req: Request. Returns a Response or StartStream."""
        path = req.path
        if path != "/rest" and not path.startswith("/rest/"):
            return Response(404, b"Not Found", "text/plain")  # Jetty, outside the REST app
        role = "anonymous"
        if self.mode.auth is not None:
            try:
                role = self.authenticate(req.headers)
            except AuthError:
                return self.json_error(401, "Invalid credentials")
        route = self.route(req)
        if isinstance(route, Response):
            return route
        handler, needs_role, args = route
        if needs_role and role is None:
            return self.json_error(401, "Authentication required")
        return handler(req, *args)

    def route(self, req):
        """Method selection: a Response for a JAX-RS client error, else (handler, roles?, args)."""
        parts = req.path.split("/")[2:]  # after "", "rest"
        method = req.method
        if parts in ([], [""]):
            return self._select(req, {"GET": (self.get_root, False, ())}, "application/json")
        if parts == ["events"]:
            return self._select(req, {"GET": (self.get_events, True, ())}, "text/event-stream")
        if parts == ["items"]:
            return self._select(req, {"GET": (self.get_items, True, ())}, "application/json")
        if len(parts) >= 2 and parts[0] == "items" and ITEM_NAME.fullmatch(parts[1]):
            name = parts[1]
            if len(parts) == 2:
                if method == "POST":
                    return self._consumes(req, (self.post_command, True, (name,)))
                return self._select(req, {"GET": (self.get_item, True, (name,))},
                                    "application/json")
            if len(parts) == 3 and parts[2] == "state":
                if method == "PUT":
                    return self._consumes(req, (self.put_state, True, (name,)))
                return self._select(req, {"GET": (self.get_state, True, (name,))}, "text/plain")
        return self.client_error(404)

    def _select(self, req, methods, produces):
        if req.method not in methods:
            return self.client_error(405)
        if not accept_matches(req.headers.get("Accept"), produces):
            return self.client_error(406)
        return methods[req.method]

    def _consumes(self, req, target):
        """@Consumes text/plain (+ application/json in 5.x). A wrong type fails at method
        selection; a missing one only in the body reader, after the role check."""
        ctype = req.headers.get("Content-Type")
        if ctype is None:
            if not self.mode.content_type_required:
                return target
            handler, needs_role, args = target
            return (lambda r, *a: self.client_error(415)), needs_role, args
        media = ctype.split(";", 1)[0].strip().lower()
        if media == "text/plain" or (media == "application/json" and self.mode.json_body):
            return target
        return self.client_error(415)

    # ---- handlers ----

    def base_url(self, req):
        scheme = "https" if self.config.tls else "http"
        host = req.headers.get("Host") or f"{self.config.bind}:{req.server_port}"
        return f"{scheme}://{host}"

    def get_root(self, req):
        base = self.base_url(req) + "/rest"
        links = [{"type": t, "url": f"{base}/{t}"}
                 for t in ("items", "events", "things", "sitemaps", "systeminfo", "uuid")]
        if self.mode.name == "oh2":
            root = {"version": self.mode.api_version, "links": links}
        else:
            root = {"version": self.mode.api_version, "locale": "en_US",
                    "measurementSystem": "SI",
                    "timezone": self.events.zone_name if self.mode.root_timezone else None,
                    "runtimeInfo": {"version": self.mode.version, "buildString": "Release Build"},
                    "links": links}
        return Response(200, gson(root).encode("utf-8"), "application/json")

    def item_dto(self, item, base):
        def millis(moment):
            return int(moment.timestamp() * 1000) if moment else None
        times = self.mode.item_times
        dto = {"link": f"{base}/rest/items/{item.name}", "state": item.state.text,
               "lastState": item.last_state.text if times and item.last_state else None,
               "lastStateUpdate": millis(item.last_update) if times else None,
               "lastStateChange": millis(item.last_change) if times else None,
               "unitSymbol": "°C" if (self.mode.unit_symbol
                                      and item.type == "Number:Temperature") else None,
               "editable": True, "type": item.type, "name": item.name, "tags": [],
               "groupNames": []}
        return dto

    def get_items(self, req):
        base = self.base_url(req)
        with self.lock:
            dtos = [self.item_dto(i, base) for i in self.items.values()]
        return Response(200, gson(dtos).encode("utf-8"), "application/json")

    def get_item(self, req, name):
        with self.lock:
            item = self.items.get(name)
            if item is None:
                return self.not_found_item(name)
            body = gson(self.item_dto(item, self.base_url(req)))
        return Response(200, body.encode("utf-8"), "application/json")

    def get_state(self, req, name):
        with self.lock:
            item = self.items.get(name)
            if item is None:
                return self.not_found_item(name)
            return Response(200, item.state.text.encode("utf-8"), "text/plain")

    def _body_value(self, req):
        """The String entity, or for application/json (5.x) ValueContainer.value. Returns
        (value, None) or (None, Response) for an unreadable JSON body."""
        ctype = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            return req.text, None
        try:
            obj = json.loads(req.text, parse_float=str, parse_int=str)
        except ValueError:
            return None, Response(400)
        if not isinstance(obj, dict):
            return None, Response(400)
        value = obj.get("value")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, (dict, list)):
            return None, Response(400)
        return value, None

    def put_state(self, req, name):
        value, error = self._body_value(req)
        if error:
            return error
        with self.lock:
            item = self.items.get(name)
            if item is None:
                return self.not_found_item(name)
            state = parse_with(ITEM_TYPES[item.type][0], value, self.mode)
            if state is None:
                return self.json_error(400, f"State could not be parsed: {value}")
            self.broker.publish(self._apply_state(item, state))
        return Response(202, b"", "application/json")

    def post_command(self, req, name):
        value, error = self._body_value(req)
        if error:
            return error
        with self.lock:
            item = self.items.get(name)
            if item is None:
                return self.not_found_item(name)
            command = self._parse_command(item, value)
            if command is None:
                return Response(400)
            events = [self.events.command(name, command)]
            # AutoUpdateManager, OPTIMISTIC: prediction, then the state update itself
            if accepts_state(item.type, command):
                events.append(self.events.predicted(name, command))
                events.extend(self._apply_state(item, command))
            self.broker.publish(events)
        return Response(200, b"", "text/plain")

    def _parse_command(self, item, value):
        if value is not None and value.lower() == "toggle" and item.type in ("Switch", "Dimmer"):
            state = item.state
            if state.type == "OnOff":
                on = state.text == "ON"
            elif state.type == "Percent":
                on = state.num != 0
            else:
                return None
            return p_onoff("OFF" if on else "ON", self.mode)
        return parse_with(ITEM_TYPES[item.type][1], value, self.mode)

    def get_events(self, req):
        topics = req.query_param("topics")
        if not valid_topic_filter(topics):
            return Response(400)
        return StartStream(topic_filters(topics, self.mode))


def accept_matches(accept, produces):
    """JAX-RS @Produces against the Accept header (no header = anything)."""
    if accept is None or not accept.strip():
        return True
    want_type, want_sub = produces.split("/")
    for media_range in accept.split(","):
        fields = [f.strip() for f in media_range.split(";")]
        params = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        try:
            if float(params.get("q", "1")) <= 0:
                continue
        except ValueError:
            pass
        mtype, _, sub = fields[0].lower().partition("/")
        if (mtype == "*" or mtype == want_type) and (sub == "*" or sub == want_sub):
            return True
    return False


# --------------------------------------------------------------------------------------------
# HTTP plumbing.
# --------------------------------------------------------------------------------------------

class Request:
    def __init__(self, method, target, headers, body, arrived, server_port):
        url = urlsplit(target)
        self.method, self.target = method, target
        self.path = unquote(url.path)
        self.query = url.query
        self.headers = headers
        self.body = body
        self.arrived = arrived
        self.server_port = server_port
        self.text = body.decode(charset_of(headers.get("Content-Type")), "replace")

    def query_param(self, name):
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            if key == name:
                return value
        return None


def charset_of(content_type):
    for field in (content_type or "").split(";")[1:]:
        key, _, value = field.strip().partition("=")
        if key.lower() == "charset" and value:
            name = value.strip().strip('"')
            try:
                "".encode(name)
                return name
            except LookupError:
                return "utf-8"
    return "utf-8"


class Config:
    def __init__(self, args):
        self.mode = MODES[args.mode]
        self.bind = args.bind
        self.tokens = set(args.token or [])
        self.implicit_user_role = not args.no_implicit_user_role
        self.basic_auth = tuple(args.basic_auth.split(":", 1)) if args.basic_auth else None
        self.tls = bool(args.tls_cert)
        self.port = args.port
        self.alive_interval = args.alive_interval or self.mode.alive_default


class DoubleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, config, ssl_context):
        self.config = config
        self.ssl_context = ssl_context
        self.stop = threading.Event()
        self.broker = Broker(config.mode, config.alive_interval, self.stop)
        self.openhab = OpenHAB(config, self.broker)
        self.recorder = Recorder()
        self.delay = 0.0
        self.reject = False
        self.ids = {}
        self.ids_lock = threading.Lock()
        self.rst_sockets = set()  # streams ended by drop_streams "rst"
        if ":" in config.bind:
            self.address_family = socket.AF_INET6
        super().__init__((config.bind, config.port), Handler)

    def next_id(self, kind="conn"):
        with self.ids_lock:
            self.ids[kind] = self.ids.get(kind, 0) + 1
            return self.ids[kind]

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            # The handshake runs in the handler thread so a slow client blocks nobody.
            sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr

    def shutdown_request(self, request):
        if request in self.rst_sockets:
            self.rst_sockets.discard(request)
            self.close_request(request)  # no shutdown(SHUT_WR): close with SO_LINGER 0 = RST
            return
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        log(f"connection error from {client_address[0]}: {sys.exc_info()[1]!r}")


def log(line):
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} openhab_double: {line}\n")
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "openhab_double"
    pushback = None

    # ---- connection setup ----

    def setup(self):
        self.conn_id = self.server.next_id()
        self.server.broker.count("connections")
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def handle(self):
        if self.server.reject:
            # Closed without any response unless it is a control request (so a test can
            # switch reject off again on a fresh connection).
            self.request.settimeout(2)
            try:
                line = self.rfile.readline(65537)
            except OSError:
                line = b""
            self.request.settimeout(None)
            if b" /__double/" not in line:
                self.server.broker.count("rejected")
                log(f"conn={self.conn_id} rejected")
                return
            self.pushback = line
        super().handle()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def handle_one_request(self):
        try:
            if self.pushback is not None:
                self.raw_requestline, self.pushback = self.pushback, None
            else:
                self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            self.arrived = time.monotonic()
            if not self.parse_request():
                return
            self.dispatch()
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        log(f"conn={getattr(self, 'conn_id', '?')} " + (format % args))

    # ---- requests ----

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def dispatch(self):
        body = self.read_body()
        req = Request(self.command, self.path, self.headers, body, self.arrived,
                      self.server.server_address[1])
        if req.path.startswith("/__double/"):
            status, answer = self.control(req)
            self.send(Response(status, json.dumps(answer).encode("utf-8"), "application/json"))
            log(f"conn={self.conn_id} {req.method} {self.path} -> {status}")
            return
        delay = self.server.delay
        if delay > 0:
            # Counted so a test can tell a request is on the wire, unanswered.
            self.server.broker.count_delayed(+1)
            self.server.stop.wait(delay)
            self.server.broker.count_delayed(-1)
        result = self.server.openhab.handle(req)
        status = 200 if isinstance(result, StartStream) else result.status
        self.record(req, status)
        log(f"conn={self.conn_id} {req.method} {self.path} -> {status} "
            f"({(time.monotonic() - req.arrived) * 1000:.1f} ms)")
        if isinstance(result, StartStream):
            self.serve_stream(result)
        else:
            self.send(result)

    def record(self, req, status):
        self.server.recorder.add({
            "conn": self.conn_id, "method": req.method, "path": req.path, "query": req.query,
            "headers": {k.lower(): ", ".join(self.headers.get_all(k)) for k in self.headers.keys()},
            "body": req.text, "body_hex": req.body.hex(), "status": status, "t": req.arrived})

    def send(self, response):
        lines = [f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}"]
        if response.content_type:
            lines.append(f"Content-Type: {response.content_type}")
        lines.extend(f"{k}: {v}" for k, v in response.headers)
        lines.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + response.body)
        self.wfile.flush()

    # ---- the event stream ----

    def serve_stream(self, start):
        chunked = self.request_version != "HTTP/1.0"
        head = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream", "X-Accel-Buffering: no",
                "Content-Encoding: identity"]
        head.append("Transfer-Encoding: chunked" if chunked else "Connection: close")
        stream = Stream(self.server.next_id("stream"), self.conn_id, start.filters)
        self.server.broker.add(stream)
        self.close_connection = True
        how = "gone"
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            self.wfile.flush()
            self.request.settimeout(30)  # a client that stops reading must not pin us forever
            how = self.stream_loop(stream, chunked)
        except OSError:
            how = "gone"
        finally:
            stream.request_end("gone")
            self.server.broker.remove(stream)
            stream.finished.set()
            log(f"conn={self.conn_id} stream {stream.sid} ended ({how})")

    def stream_loop(self, stream, chunked):
        while True:
            action = stream.next_action(0.2)
            if action is None:
                if self.peer_closed():
                    return "client closed"
                continue
            if action[0] == "chunk":
                _, data, done = action
                try:
                    self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data) if chunked else data)
                    self.wfile.flush()
                finally:
                    if done is not None:
                        done.set()
                continue
            how = action[1]
            if how == "close" and chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            elif how == "rst":
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                self.server.rst_sockets.add(self.request)
            elif how == "drop":
                self.request.shutdown(socket.SHUT_RDWR)  # FIN now, no terminating chunk
            return how

    def peer_closed(self):
        """True once the client has closed its side (anything it sends is discarded)."""
        sock = self.request
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            sock.settimeout(0.05)
            try:
                data = sock.recv(4096)
            finally:
                sock.settimeout(30)
            return data == b""
        except (ssl.SSLWantReadError, socket.timeout, BlockingIOError):
            return False
        except OSError:
            return True

    # ---- control API ----

    def control(self, req):
        server = self.server
        name = req.path[len("/__double/"):]
        q = dict(parse_qsl(req.query, keep_blank_values=True))
        try:
            body = json.loads(req.text) if req.method == "POST" and req.text.strip() else {}
            if req.method == "GET" and name == "requests":
                records, nxt = server.recorder.since(int(q.get("since", 0)))
                return 200, {"next": nxt, "requests": records}
            if req.method == "GET" and name == "wait":
                return self.control_wait(q)
            if req.method == "GET" and name == "streams":
                return 200, server.broker.snapshot()
            if req.method == "GET" and name == "wait_streams":
                return self.control_wait_streams(q)
            if req.method == "GET" and name == "items":
                return 200, {"items": server.openhab.list_items()}
            if req.method == "POST" and name == "items":
                server.openhab.define_item(body.get("name"), body.get("type"), body.get("state"))
                return 200, {"items": server.openhab.list_items()}
            if req.method == "POST" and name == "event":
                return self.control_event(body)
            if req.method == "POST" and name == "raw":
                return self.control_raw(body)
            if req.method == "POST" and name == "fault":
                return self.control_fault(body)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            return 400, {"error": str(e)}
        return 404, {"error": f"no control endpoint {req.method} {req.path}"}

    def control_wait(self, q):
        method, path, prefix = q.get("method"), q.get("path"), q.get("path_prefix")

        def match(r):
            return ((method is None or r["method"] == method)
                    and (path is None or r["path"] == path)
                    and (prefix is None or r["path"].startswith(prefix)))
        ok, found, nxt = self.server.recorder.wait(match, int(q.get("count", 1)),
                                                   int(q.get("since", 0)),
                                                   min(float(q.get("timeout", 10)), 600))
        return (200 if ok else 504), {"next": nxt, "requests": found}

    def control_wait_streams(self, q):
        broker = self.server.broker
        want_open = int(q["open"]) if "open" in q else None
        want_total = int(q["total"]) if "total" in q else None
        want_delayed = int(q["delayed"]) if "delayed" in q else None

        def reached():
            return ((want_open is None or len(broker.streams) == want_open)
                    and (want_total is None or broker.total >= want_total)
                    and (want_delayed is None or broker.delayed >= want_delayed))
        ok = broker.wait_for(reached, min(float(q.get("timeout", 10)), 600))
        return (200 if ok else 504), broker.snapshot()

    def control_event(self, body):
        payload = body.get("payload")
        if payload is None:
            payload = gson(body["payload_obj"])
        event = Event(body["topic"], payload, body["type"])
        done = self.server.broker.publish([event])
        delivered = sum(flag.wait(5) for flag in done)
        return 200, {"streams": delivered}

    def control_raw(self, body):
        pieces, gap = body["pieces"], float(body.get("gap", 0.05))
        if not pieces or any(not isinstance(p, str) or p == "" for p in pieces):
            raise ValueError("pieces must be non-empty strings (an empty chunk ends the body)")
        done = []
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(gap)
            done.extend(self.server.broker.publish_all(piece.encode("utf-8")))
        delivered = sum(flag.wait(5) for flag in done)
        return 200, {"chunks_written": delivered, "pieces": len(pieces)}

    def control_fault(self, body):
        server = self.server
        affected = 0
        if body.get("stall_streams"):
            streams = server.broker.live()
            for stream in streams:
                stream.stall()
            affected += len(streams)
        if body.get("close_streams"):
            affected += server.broker.end_all("close")
        drop = body.get("drop_streams")
        if drop:
            affected += server.broker.end_all("rst" if drop == "rst" else "drop")
        if "delay" in body:
            server.delay = max(0.0, float(body["delay"]))
        if "reject" in body:
            server.reject = bool(body["reject"])
        return 200, {"affected_streams": affected, "delay": server.delay, "reject": server.reject}


# --------------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="openHAB REST/SSE test double")
    p.add_argument("--mode", choices=list(MODES), default="oh4")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--alive-interval", type=float, default=None,
                   help="seconds between alive events (oh3.3: 120, oh4/oh5.1: 10; none before)")
    p.add_argument("--item", action="append", default=[], metavar="NAME:TYPE[=STATE]")
    p.add_argument("--token", action="append", default=[], help="a valid API token")
    p.add_argument("--no-implicit-user-role", action="store_true")
    p.add_argument("--basic-auth", metavar="USER:PASS", help="allowBasicAuth with this user")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.alive_interval is not None and args.alive_interval <= 0:
        p.error("--alive-interval must be positive")
    if args.basic_auth is not None and ":" not in args.basic_auth:
        p.error("--basic-auth needs USER:PASS")
    return args


def parse_item_option(spec):
    name, sep, rest = spec.partition(":")
    if not sep:
        raise ValueError(f"--item {spec!r}: expected NAME:TYPE[=STATE]")
    item_type, eq, state = rest.partition("=")
    return name, item_type, (state if eq else None)


def main(argv):
    args = parse_args(argv)
    config = Config(args)
    ssl_context = None
    if config.tls:
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
    server = DoubleServer(config, ssl_context)
    try:
        for spec in args.item:
            server.openhab.define_item(*parse_item_option(spec))
    except ValueError as e:
        sys.stderr.write(f"openhab_double: {e}\n")
        return 64
    for token in config.tokens:
        if not token.startswith("oh."):
            log(f"note: real openHAB API tokens start with 'oh.'; {token!r} is accepted anyway")
    if args.alive_interval is not None and config.mode.alive_name is None:
        log(f"note: {config.mode.name} sends no alive events; --alive-interval ignored")

    def stop(signum, frame):
        if not server.stop.is_set():
            server.stop.set()
            threading.Thread(target=shutdown, daemon=True).start()

    def shutdown():
        # Like SseResource.deactivate(): every sink is closed (final chunk), then the server.
        server.broker.end_all("close", timeout=2)
        server.shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if config.mode.alive_name is not None:
        threading.Thread(target=server.broker.run_alive, daemon=True).start()
    port = server.server_address[1]
    log(f"mode {config.mode.name} (openHAB {config.mode.version}) on {config.bind}:{port}"
        f"{' with TLS' if config.tls else ''}")
    sys.stdout.write(f"LISTENING {port}\n")
    sys.stdout.flush()
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
