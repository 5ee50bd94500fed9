#!/usr/bin/env python3
"""Loads COUNT keys (VALUE_BYTES each) under PREFIX into etcd through its JSON gateway, 128
puts per transaction (etcd's default --max-txn-ops). Usage: etcd_load.py HOST:PORT PREFIX COUNT [VALUE_BYTES]"""
import base64
import http.client
import json
import sys


def b64(text):
    return base64.b64encode(text.encode()).decode()


def main():
    host, port = sys.argv[1].split(":")
    prefix, count = sys.argv[2], int(sys.argv[3])
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    for start in range(0, count, 128):
        ops = [{"requestPut": {"key": b64(f"{prefix}{i:08d}"), "value": b64(f"{i:08d}".ljust(size, "x"))}}
               for i in range(start, min(start + 128, count))]
        conn.request("POST", "/v3/kv/txn", json.dumps({"success": ops}), {"Content-Type": "application/json"})
        answer = conn.getresponse()
        body = answer.read()
        if answer.status != 200:
            sys.exit(f"txn failed: {answer.status} {body[:200]!r}")


if __name__ == "__main__":
    main()
