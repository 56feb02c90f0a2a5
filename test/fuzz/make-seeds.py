#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into test/fuzz/corpus/<target>/.

Run from anywhere; rerun after changing a target's input layout. The corpus is
checked in: real configurations (conf/), w1_slave and ARP fixtures (test/data/),
openHAB event streams and hand-written payloads, encoded the way each target reads its input.

Targets built on FuzzedDataProvider take strings from the front of the input
(each ended by a backslash plus one other character, the provider's
terminator) and integers/booleans from the back, last byte first.
"""
import json
import pathlib
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"


def fdp(strings, tail_bytes):
    """strings in the order the target consumes them; tail_bytes likewise."""
    front = b"".join(s.replace(b"\\", b"\\\\") + b"\\n" for s in strings)
    return front + bytes(reversed(tail_bytes))


def write(target, name, data):
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def ini():
    for f in sorted((ROOT / "conf").rglob("*.ini")):
        write("ini", f.name, f.read_bytes())
    write("ini", "defaults_interpolation.ini", """\
[DEFAULT]
Root = /srv
Script = %(Root)s/bin/report --all
PinNumbering = BOARD

[Logging]
Level = DEBUG
Syslog = no
MaxSize = 4096
NumFiles = 3

[Connection_Local]
Class = local.local_conn.LocalConnection
Name = local
OnGT = 21.5

[Sensor_Script]
Class = exec.exec_sensor.ExecSensor
Connection = local
Root = /opt
Destination = script/out
Poll = 30
Timeout = 5

[Actuator_Say]
Class = ExecActuator
Connection = local
Command = /usr/bin/logger -t sensor_reporter
  --id=%%1
CommandSrc = say
Retain = yes
""")
    write("ini", "problems.ini", """\
\ufeffkey before section = 1
[Sensor_A]
Class = heartbeat.heartbeat.Heartbeat
Connection = a, b ,
Poll = 0.5
Num-Dest = n
Str-Dest = s
Pol = 3
[Sensor_A]
   indented continuation
[Connection_X]] trailing
Class = mqtt.mqtt_conn.MqttConnection
Name = a
Host = localhost
Port = 70000
[Actuator_G]
Class = gpio.rpi_gpio.RpiGpioActuator
Pin = -1
CommandSrc = x
InitialState = maybe
Value = %(missing)s and 100%
Key without delimiter
[Sensor_W1]
Class = one_wire.Ds18x20Sensor
Mac = 28-0123456789AB
Destination = t
Poll = 60
TempUnit = K
[Sensor_Arp]
Class = network.arp_sensor.ArpSensor
MAC = AA:BB:CC:DD:EE:FF
Destination = presence
Poll = 10
ArpTable = /proc/net/arp
[Other]
Class = NoSuchClass
""")
    write("ini", "crlf_long_line.ini",
          "[Connection_L]\r\nClass = local.local_conn.LocalConnection\r\nName = l\r\nOnEq = "
          + "x" * 200 + "\r\n; comment\r\n# comment\r\n")


def class_strings():
    names = [
        "heartbeat.heartbeat.Heartbeat", "local.local_conn.LocalConnection", "mqtt.mqtt_conn.MqttConnection",
        "exec.exec_sensor.ExecSensor", "exec.exec_actuator.ExecActuator", "one_wire.ds18x20_sensor.Ds18x20Sensor",
        "network.arp_sensor.ArpSensor", "gpio.rpi_gpio.RpiGpioSensor", "gpio.rpi_gpio.RpiGpioActuator",
        "Heartbeat", "  RpiGpioActuator\t", "heartbeat.Hartbeat", "nosuch.module.Class", "gpio..", ".Heartbeat",
        "ExecSensr",
    ]
    for i, name in enumerate(names):
        write("class", f"class_{i:02d}", name)


def values():
    # tail: type (1 string .. 5 choice, 6 unknown: byte % 6 + 1), flags, min (3 bytes), max (3 bytes), bool
    cases = [
        (b"", b"17", 1, 7), (b"", b" 0.15 ", 2, 7), (b"", b"yes", 3, 0), (b"UP|DOWN|OFF", b"down", 4, 0),
        (b"", b"9223372036854775808", 1, 0), (b"", b"1e400", 2, 0), (b"", b"nan", 2, 0),
        (b"C|F", b"K", 4, 0), (b"", b"anything", 0, 0), (b"", b"-5", 1, 2),
    ]
    for i, (choices, value, type_byte, flags) in enumerate(cases):
        data = fdp([choices, value, b"Pol", b"Poll", b"Pin", b"Level"], [type_byte, flags, 0, 0, 0, 0, 0x10, 0, 1])
        write("values", f"value_{i:02d}", data)


def local_rules():
    readings = [b"21.5", b"TOGGLE", b"2024-05-01T12:34:56.123456", b"2024-05-01T12:34:56.123456+02:00",
                b" 3 ", b"abc", b"ON", b"", b"1e5", b"-0"]
    rules = [(0, b""), (1, b"ON"), (2, b"20"), (3, b"-5.5"), (2, b" 0 ")]
    for i, (which, text) in enumerate(rules):
        data = fdp([text] + readings, [which] + [i % 2] * len(readings))
        write("local_rules", f"rule_{i:02d}", data)


def commands():
    payloads = [b"ON", b"off", b" TOGGLE\n", b"2024-05-01T12:34:56.123456", b"2024-05-01T12:34:56.123456+0200",
                b"toggle", b"blink", b"NA", b"/usr/bin/say hello  world\t", b""]
    for config in (0x00, 0x03, 0x04, 0x18, 0x20, 0x25):
        tail = [config]
        for i in range(len(payloads)):
            tail += [i % 3, 200 if i % 2 else 10]
        write("commands", f"commands_{config:02x}", fdp(payloads, tail))


def w1():
    for f in sorted((ROOT / "test/data/w1").rglob("w1_slave")):
        write("w1", f.parent.parent.parent.parent.parent.parent.name, f.read_bytes())
    pad = "50 01 4b 46 7f ff 0c 10 1c"
    write("w1", "min_int32", f"{pad} : crc=1c YES\n{pad} t=-2147483648\n")
    write("w1", "too_big", f"{pad} : crc=1c YES\n{pad} t=2147483648\n")


def arp():
    for f in sorted((ROOT / "test/data/arp").glob("*.txt")):
        for mac in ("aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF"):
            write("arp", f"{f.stem}_{mac[:2]}", mac.encode() + f.read_bytes())


def openhab_events():
    """Event streams as openHAB sends them (reference D.4): LF lines, `event:`
    then one `data:` JSON line, double-encoded payloads with Gson's \\u003d
    escapes. The tail is the control byte (bits 0-1: event limit 1 MiB, 8, 64,
    512; bits 2-5: number of cut points), then the cut points as uint16."""
    def stream(name, text, limit=0, cuts=()):
        tail = [limit | (len(cuts) << 2)]
        for cut in cuts:
            tail += [cut >> 8, cut & 0xFF]
        data = text.encode() if isinstance(text, str) else text
        write("openhab_events", name, data + bytes(reversed(tail)))

    def event(name, topic, payload, type_):
        dto = {"topic": topic, "payload": payload, "type": type_}
        return f"event: {name}\ndata: {json.dumps(dto, ensure_ascii=False, separators=(',', ':'))}\n\n"

    def gson(obj):
        # Gson's default HTML escaping of the payload text.
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        for c in "<>&='":
            text = text.replace(c, "\\u%04x" % ord(c))
        return text

    refresh = event("message", "openhab/items/Test_Refresh/command", gson({"type": "OnOff", "value": "ON"}),
                    "ItemCommandEvent")
    alive = 'event: alive\ndata: {"type":"ALIVE","interval":10}\n\n'
    stream("d4_sample", refresh + alive)
    stream("oh33_alive", 'event: event\ndata: {"type":"ALIVE"}\n\n')
    stream("oh2_command", event("message", "smarthome/items/Garage_Door/command",
                                gson({"type": "UpDown", "value": "UP"}), "ItemCommandEvent"))
    states = (
        event("message", "openhab/items/Lamp/command", gson({"type": "OnOff", "value": "ON"}), "ItemCommandEvent")
        + event("message", "openhab/items/Lamp/statepredicted",
                gson({"predictedType": "OnOff", "predictedValue": "ON", "isConfirmation": False}),
                "ItemStatePredictedEvent")
        + event("message", "openhab/items/Lamp/state", gson({"type": "OnOff", "value": "ON"}), "ItemStateEvent")
        + event("message", "openhab/items/Lamp/stateupdated", gson({"type": "OnOff", "value": "ON"}),
                "ItemStateUpdatedEvent")
        + event("message", "openhab/items/Lamp/statechanged",
                gson({"type": "OnOff", "value": "ON", "oldType": "OnOff", "oldValue": "OFF"}), "ItemStateChangedEvent")
        + event("message", "openhab/items/Lights/Lamp/statechanged",
                gson({"type": "OnOff", "value": "ON", "oldType": "OnOff", "oldValue": "OFF"}),
                "GroupItemStateChangedEvent")
        + event("message", "openhab/items/Lights/Lamp_2/stateupdated", gson({"type": "OnOff", "value": "OFF"}),
                "GroupStateUpdatedEvent"))
    stream("autoupdate_burst", states)
    stream("autoupdate_burst_split", states, cuts=(7, 100, 101, 400, 900))
    text = (event("message", "openhab/items/Say/command", gson({"type": "String", "value": "a=b <i> & 'q' €"}),
                  "ItemCommandEvent")
            + event("message", "openhab/items/Temp_Set/command", gson({"type": "Quantity", "value": "21.5 °C"}),
                    "ItemCommandEvent")
            + event("message", "openhab/items/Lamp_2/command", gson({"type": "OnOff", "value": "OFF"}),
                    "ItemCommandEvent"))
    stream("escapes_utf8", text)
    stream("crlf_comments", (": keepalive\n" + refresh + alive).replace("\n", "\r\n"), cuts=(14, 15, 60))
    stream("cr_only", (refresh + alive).replace("\n", "\r"), cuts=(16, 17))
    stream("bom_id_retry", "\ufeffretry: 5000\nid: 42\n" + refresh + "id\ndata\n\n")
    stream("oversized_64", 'data: {"type":"ALIVE","interval":10,"padding":"' + "x" * 80 + '"}\n\n' + alive, limit=2)
    stream("oversized_8", "data: 0123\n\n" + "data: 012345678\n\n" + alive, limit=1)
    stream("other_and_bad", event("message", "openhab/things/zwave:device:1/status",
                                  gson({"status": "ONLINE", "statusDetail": "NONE"}), "ThingStatusInfoEvent")
           + "data: not json\n\n"
           + event("message", "openhab/items/X/command", "ON", "ItemCommandEvent")
           + event("message", "openhab/items/X-1/command", gson({"type": "OnOff", "value": "ON"}),
                   "ItemCommandEvent"))


def queue_file():
    """QueueFile bytes (plugins/mqtt/queue_journal.hpp): whole, torn, corrupt."""
    import struct
    import zlib

    def record(body):
        return struct.pack("<II", len(body), zlib.crc32(body)) + body

    def message(topic, payload, qos=1, retain=0):
        return record(b"M" + bytes([qos, retain]) + struct.pack("<I", len(topic)) + topic + payload)

    def done(n):
        return record(b"D" + struct.pack("<Q", n))

    header = b"SRQUEUE1"
    three = message(b"sr/seq", b"1") + message(b"sr/seq", b"2", 0) + message(b"sr/temp", b"21.5", 2, 1)
    write("queue_file", "empty", b"")
    write("queue_file", "header_only", header)
    write("queue_file", "three", header + three)
    write("queue_file", "three_one_done", header + three + done(1))
    write("queue_file", "all_done_then_more", header + three + done(3) + message(b"sr/seq", b"4"))
    write("queue_file", "torn_tail", (header + three)[:-3])
    write("queue_file", "torn_header", header[:5])
    write("queue_file", "foreign", b"[Connection1]\nClass = mqtt.mqtt_conn.MqttConnection\n")
    bad = bytearray(header + three)
    bad[len(header) + 12] ^= 0x20
    write("queue_file", "bad_crc", bytes(bad))


def sysfs():
    """fuzz_sysfs: an attribute's text, a channel spec, a directory's file names, a type, devices and a
    device spec; the attributes and directories of the test/data/kernel fixtures."""
    def seed(text, spec, names, kind, devices, device_spec):
        strings = [text, spec] + names + [kind] + [field for d in devices for field in d]
        front = b"".join(x.replace(b"\\", b"\\\\") + b"\\n" for x in strings)
        return front + device_spec + bytes([len(devices), len(names)])

    kernel = ROOT / "test/data/kernel"
    devices = [(b"iio:device0", b"dht11@4", b"", b"dht11@4"), (b"iio:device2", b"bme280", b"", b"1-0076"),
               (b"iio:device3", b"ads1015", b"", b"1-0048"), (b"iio:device4", b"xadc", b"fpga-monitor", b"xadc")]
    specs = [b"bme280", b"1-0048", b"fpga-monitor", b"iio:device0", b" xadc ", b"nothing"]
    n = 0
    for d in sorted(p for p in kernel.rglob("*") if p.is_dir() and not p.is_symlink()):
        names = sorted(f.name.encode() for f in d.iterdir() if not f.is_dir() or f.is_symlink())
        names = [x for x in names if x != b".keep"][:24]
        if not names:
            continue
        for f in sorted(d.iterdir()):
            if f.is_file() and not f.is_symlink() and f.name != ".keep" and f.stat().st_size <= 64:
                kind = b"in" if d.parent.name == "hwmon" else b"temp"
                write("sysfs", f"k{n:03d}", seed(f.read_bytes(), b"in_voltage0_raw" if n % 2 else b"",
                                                 names, kind, devices[: n % 5], specs[n % len(specs)]))
                n += 1
    two = [(b"iio:device0", b"bme280", b"", b"1-0076"), (b"iio:device1", b"bme280", b"attic", b"1-0077")]
    write("sysfs", "ambiguous", seed(b"101.325\n", b"temp", [b"in_temp_input", b"in_pressure_input"], b"temp",
                                     two, b"bme280"))
    write("sysfs", "gpios", seed(bytes.fromhex("0000007b0000001100000000"), b"temp_object",
                                 [b"in_temp_object_raw", b"in_temp_scale", b"in_temp_offset"], b"temp", [], b""))
    write("sysfs", "hwmon", seed(b"-12.5", b"Package id 0",
                                 [b"temp1_input", b"temp1_label", b"temp2_input", b"power1_average", b"fan1_input"],
                                 b"temp", [], b"cpu_thermal"))
def ssdp():
    """SSDP responses as Roku players (Roku's ECP documentation) and other UPnP devices send them."""
    def answer(serial, location, st="roku:ecp", extra=""):
        return ("HTTP/1.1 200 OK\r\nCache-Control: max-age=3600\r\n" + extra + "ST: " + st + "\r\nLocation: "
                + location + "\r\nUSN: uuid:roku:ecp:" + serial + "\r\n\r\n")
    write("ssdp", "roku", answer("P0A070000007", "http://192.168.1.134:8060/"))
    write("ssdp", "roku_full", answer("YH00AA123456", "http://10.0.0.5:8060/",
                                      extra="EXT:\r\nServer: Roku/9.4.0 UPnP/1.0 Roku/9.4.0\r\n"))
    write("ssdp", "lower_case_lf", "HTTP/1.1 200 OK\nst: roku:ecp\nlocation: http://10.0.0.6:8060/\n"
                                   "usn: uuid:roku:ecp:X1\n\n")
    write("ssdp", "folded", "HTTP/1.1 200 OK\r\nServer: Roku\r\n  UPnP/1.0\r\nST: roku:ecp\r\n\r\nbody")
    write("ssdp", "chromecast", "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: "
                                "http://192.168.1.20:8008/ssdp/device-desc.xml\r\nST: "
                                "urn:dial-multiscreen-org:service:dial:1\r\nUSN: uuid:abc::urn:dial\r\n\r\n")
    write("ssdp", "m_search", "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
                              "MX: 3\r\nST: roku:ecp\r\n\r\n")
    write("ssdp", "notify", "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNTS: ssdp:alive\r\n\r\n")
    write("ssdp", "bad_serial", answer("P0A/07#", "http://192.168.1.134:8060/"))
    write("ssdp", "duplicate", "HTTP/1.1 200 OK\r\nST: roku:ecp\r\nst: roku:ecp\r\n\r\n")
    write("ssdp", "cut", answer("P0A070000007", "http://192.168.1.134:8060/")[:60])
    write("ssdp", "not_found", "HTTP/1.1 404 Not Found\r\n\r\n")


def iec62056():
    """What follows the option select on a meter's line: IEC 62056-21 data messages (a Pafal 20EC3gr's
    readout, one with units and A-B: prefixes), echoes, noise; identification lines first where the target
    reads one."""
    def message(lines):
        body = lines + "!\r\n\x03"
        bcc = 0
        for c in body.encode():
            bcc ^= c
        return b"\x02" + body.encode() + bytes([bcc])
    pafal = ("0.0.0(71786316)\r\n0.0.1(PAF)\r\nF.F(00)\r\n0.2.0(1.27)\r\n1.8.0*00(048162.13)\r\n"
             "2.8.0*00(035411.79)\r\n0.2.2(:::::G11)")
    units = "1-0:1.8.0*255(0012345.678*kWh)\r\n1-0:2.8.0(5000*Wh)(4000*Wh)\r\n1.8.0*01(0012000.000*kWh)\r\nC.1.0(1)0.9.1(120000)"
    write("iec62056", "pafal", b"/PAF5EC3gr00006\r\n" + message(pafal) + b"\x00")
    write("iec62056", "pafal_echo", b"\x06050\r\n" + message(pafal) + b"\x07")
    write("iec62056", "units", b"/ISk5\\2MT382-1000\r\n" + message(units) + b"\x03")
    bad = bytearray(message(pafal))
    bad[30] ^= 0x08
    write("iec62056", "bad_bcc", bytes(bad) + b"\x01")
    write("iec62056", "cut", message(pafal)[:40] + b"\x02")
    write("iec62056", "mode_b", b"/LGZEZMD3104107\r\n\x05")
    write("iec62056", "parity", bytes(c | 0x80 for c in message(pafal)) + b"\x09")
    write("iec62056", "block_only", (pafal + "!\r\n").encode() + b"\x00")


def dash_frame():
    """Ethernet frames as a Dash button sends them when it wakes (RFC 826 ARP, RFC 2131 DHCP over
    UDP/IPv4) and near misses; the last byte is the target's control byte (packet type, buttons)."""
    button = bytes([0x44, 0x65, 0x0d, 0x11, 0x22, 0x33])
    bcast = b"\xff" * 6

    def arp(op=1):
        return (bcast + button + b"\x08\x06" + struct.pack(">HHBBH", 1, 0x0800, 6, 4, op) + button
                + bytes([10, 0, 0, 9]) + b"\x00" * 6 + bytes([10, 0, 0, 1])).ljust(60, b"\x00")

    def udp(sport, dport, payload, frag=0):
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 0x1234, frag, 64, 17, 0, b"\x00" * 4,
                         b"\xff" * 4)
        return (bcast + button + b"\x08\x00" + ip + struct.pack(">HHHH", sport, dport, 8 + len(payload), 0)
                + payload).ljust(60, b"\x00")

    def bootp(op, options):
        return (bytes([op, 1, 6, 0]) + struct.pack(">IHH", 0x3903F326, 0, 0x8000) + b"\x00" * 16 + button
                + b"\x00" * (10 + 64 + 128) + b"\x63\x82\x53\x63" + options + b"\xff")

    write("dash_frame", "arp_request", arp() + b"\x05")
    write("dash_frame", "arp_reply_outgoing", arp(2) + b"\x07")
    write("dash_frame", "dhcp_discover", udp(68, 67, bootp(1, b"\x35\x01\x01\x37\x04\x01\x03\x06\x0f")) + b"\x0d")
    write("dash_frame", "dhcp_request", udp(68, 67, bootp(1, b"\x35\x01\x03\x32\x04\x0a\x00\x00\x09")) + b"\x01")
    write("dash_frame", "dhcp_offer", udp(67, 68, bootp(2, b"\x35\x01\x02")) + b"\x05")
    write("dash_frame", "dns", udp(40000, 53, b"\x12\x34" + b"\x00" * 20) + b"\x05")
    write("dash_frame", "fragment", udp(68, 67, bootp(1, b""), frag=0x2000) + b"\x05")
    write("dash_frame", "ipv6", bcast + button + b"\x86\xdd" + b"\x60" + b"\x00" * 39 + b"\x05")
    write("dash_frame", "short", button + b"\x05")


if __name__ == "__main__":
    for target in ("ini", "class", "values", "local_rules", "commands", "w1", "arp", "openhab_events", "queue_file",
                   "sysfs", "ssdp", "iec62056", "dash_frame"):
        shutil.rmtree(CORPUS / target, ignore_errors=True)
    ini()
    class_strings()
    values()
    local_rules()
    commands()
    w1()
    arp()
    openhab_events()
    queue_file()
    sysfs()
    ssdp()
    iec62056()
    dash_frame()
