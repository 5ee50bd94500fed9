#!/usr/bin/env python3
"""A load writer for the watch-handoff tests, independent of drctl's client: puts COUNT keys
under PREFIX through etcd's JSON gateway (/v3/kv/put), failing over between endpoints, and
appends "revision key" for every acknowledged put to OUT. A put whose answer was lost is
retried under a new key, so every recorded revision is one acknowledged write."""
import base64
import http.client
import json
import sys
import time


def main():
    endpoints, prefix, count, out = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    current, conn = 0, None
    with open(out, "w", buffering=1) as log:
        written, attempt = 0, 0
        while written < count:
            key = f"{prefix}w{written:06d}-{attempt}"
            body = json.dumps({"key": base64.b64encode(key.encode()).decode(),
                               "value": base64.b64encode(f"v{written}".encode()).decode()})
            try:
                if conn is None:
                    host, port = endpoints[current].split(":")
                    conn = http.client.HTTPConnection(host, int(port), timeout=2)
                conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
                answer = conn.getresponse()
                data = json.loads(answer.read())
                if answer.status != 200:
                    raise RuntimeError(data)
                log.write(f"{data['header']['revision']} {key}\n")
                written += 1
                if delay:
                    time.sleep(delay)
            except Exception:  # noqa: BLE001 - any failure: next endpoint, fresh key
                attempt += 1
                conn = None
                current = (current + 1) % len(endpoints)
                time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
