#!/usr/bin/python3
"""Reads the bytes on one network interface for a while and says what the TCP payloads were:
how many began a TLS record, and whether any held one of the given plaintext markers. What a
capture with tcpdump would show, without tcpdump (a raw AF_PACKET socket; needs root).

  wire_sniffer.py --interface weft0v3 --seconds 2 --port 9080 --marker 'GET /items' ...

Prints one JSON object: {"segments", "payload_bytes", "tls_records", "tls_handshakes",
"plaintext": {marker: segments containing it}}. Counts TCP segments to or from --port.
"""
import argparse
import json
import socket
import struct
import time

ETH_P_ALL = 0x0003


def tcp_payload(frame, port):
    """The TCP payload of an Ethernet frame to or from `port`, or None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0800:  # IPv4
        ip = frame[14:]
        if len(ip) < 20 or ip[9] != 6:
            return None
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:total]
    elif ethertype == 0x86DD:  # IPv6 without extension headers
        ip = frame[14:]
        if len(ip) < 40 or ip[6] != 6:
            return None
        tcp = ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
    else:
        return None
    if len(tcp) < 20:
        return None
    source, destination = struct.unpack("!HH", tcp[:4])
    if port not in (source, destination):
        return None
    return tcp[(tcp[12] >> 4) * 4:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", required=True)
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--marker", action="append", default=[])
    args = parser.parse_args()

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((args.interface, 0))
    sock.settimeout(0.2)
    print("capturing", flush=True)
    summary = {"segments": 0, "payload_bytes": 0, "tls_records": 0, "tls_handshakes": 0,
               "plaintext": {marker: 0 for marker in args.marker}}
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            frame = sock.recv(65536)
        except socket.timeout:
            continue
        payload = tcp_payload(frame, args.port)
        if not payload:
            continue
        summary["segments"] += 1
        summary["payload_bytes"] += len(payload)
        # A TLS 1.2/1.3 record header: content type, then legacy version 3.1 or 3.3.
        if payload[0] == 0x17 and payload[1:3] == b"\x03\x03":
            summary["tls_records"] += 1
        elif payload[0] == 0x16 and payload[1] == 0x03:
            summary["tls_handshakes"] += 1
        for marker in args.marker:
            if marker.encode() in payload:
                summary["plaintext"][marker] += 1
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
