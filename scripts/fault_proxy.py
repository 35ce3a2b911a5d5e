#!/usr/bin/env python3
"""An HTTP proxy that injects the failures object stores really produce, to prove retries.

    fault_proxy.py PORT UPSTREAM_URL

Requests are forwarded byte-for-byte in meaning (same method, path, headers, body), so
signatures computed for the proxy's host stay valid upstream. Keys decide the fault:
  * a path containing "faulty-": per distinct request (method, path, Range), attempt 1 gets 503 SlowDown,
    attempt 2 gets a TCP reset, attempt 3 and later are forwarded;
  * a path containing "always-503-": every attempt gets 503.
Rules aimed at one request add the faults a cloud client meets after the server acted:
POST /__faults {"method": "PUT", "contains": "text", "path_contains": "p", "action": A, "times": N}
applies to the next N requests of that method ("ANY": of any method) whose path or body contains
the text (and whose path contains "path_contains", when given), where A is
  * "cut_response": the request reaches the server, which acts on it, and the connection
    is reset before any of the response is sent back (a lost response);
  * "reset": the connection is reset before the request is forwarded;
  * "503": a 503 SlowDown answer without forwarding.
Probabilistic rules keep a steady rate of faults on a whole workload (a soak):
POST /__faults {"method": "ANY", "contains": "text", "probability": 0.1,
                "actions": ["503", "reset", "cut_response"], "seed": N}
applies to every request of that method ("ANY": of any method) whose path or body contains
the text (and whose path contains "path_contains", when given), with the given probability,
one of the actions chosen at random; the draws come from a generator seeded with N, so a
sequence of matching requests meets the same sequence of faults. It has no "times" limit.
Rules are tried in the order they were added; a probabilistic rule whose draw spares a request
lets the later rules see it. Each fault a rule injects is logged on stderr.
GET /__stats returns {"requests": {"METHOD path": count}, "faults": count,
"faults_by_action": {action: count}, "rules": [...]} (each "times" rule with the times it has
left; each probabilistic rule with its "id", the index to find it by, "matched" requests and its
own "faults" and "faults_by_action").
"""
import http.client
import json
import random
import socket
import struct
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
REQUESTS = {}
FAULTS = [0]
FAULTS_BY_ACTION = {}
RULES = []
RANDOMS = {}  # id(rule) -> the random.Random of a probabilistic rule (kept out of /__stats)
ACTIONS = ("cut_response", "reset", "503")

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b'<Message>Please reduce your request rate.</Message></Error>')


def count_fault(action):
    """Counts one injected fault (LOCK held)."""
    FAULTS[0] += 1
    FAULTS_BY_ACTION[action] = FAULTS_BY_ACTION.get(action, 0) + 1


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, fmt, *args):
        sys.stderr.write("fault-proxy: " + (fmt % args) + "\n")

    def handle_any(self):
        if self.path.startswith("/__stats"):
            with LOCK:
                body = json.dumps({"requests": REQUESTS, "faults": FAULTS[0], "faults_by_action": FAULTS_BY_ACTION,
                                   "rules": RULES}).encode()
            return self.reply(200, body, "application/json")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__faults") and self.command == "POST":
            return self.add_rule(body)
        action = self.take_rule(body)
        if action:
            sys.stderr.write(f"fault-proxy: {action} for {self.command} {self.path}\n")
        if action == "503":
            return self.reply(503, SLOW_DOWN, "application/xml")
        if action == "reset":
            return self.reset()
        if action == "cut_response":
            self.forward(body, deliver=False)
            return self.reset()
        line = f"{self.command} {self.path}"
        if self.headers.get("Range"):
            line += f" {self.headers['Range']}"
        with LOCK:
            REQUESTS[line] = REQUESTS.get(line, 0) + 1
            attempt = REQUESTS[line]
        if "always-503-" in self.path or ("faulty-" in self.path and attempt == 1):
            with LOCK:
                count_fault("503")
            return self.reply(503, SLOW_DOWN, "application/xml")
        if "faulty-" in self.path and attempt == 2:
            with LOCK:
                count_fault("reset")
            return self.reset()
        self.forward(body)

    def add_rule(self, body):
        try:
            rule = json.loads(body)
            assert isinstance(rule, dict), "not a JSON object"
            assert rule.get("method") and rule.get("contains"), "method and contains are required"
            if "probability" in rule:
                rule["probability"] = float(rule["probability"])
                assert 0 <= rule["probability"] <= 1, "probability outside [0, 1]"
                actions = rule.get("actions")
                assert isinstance(actions, list) and actions and all(a in ACTIONS for a in actions), \
                    f"actions must be a non-empty list of {', '.join(ACTIONS)}"
                assert "times" not in rule and "action" not in rule, \
                    "a probabilistic rule takes actions, not action and times"
                rule["seed"] = int(rule.get("seed", 0))
                rule.update(matched=0, faults=0, faults_by_action={})
            else:
                assert rule.get("action") in ACTIONS, f"action must be one of {', '.join(ACTIONS)}"
                rule["times"] = int(rule.get("times", 1))
        except (ValueError, TypeError, AssertionError) as error:
            return self.reply(400, f"bad rule: {error}".encode(), "text/plain")
        with LOCK:
            if "probability" in rule:
                rule["id"] = len(RULES)
                RANDOMS[id(rule)] = random.Random(rule["seed"])
            RULES.append(rule)
            answer = json.dumps(rule).encode()
        return self.reply(201, answer, "application/json")

    def take_rule(self, body):
        """The action of the first rule that takes this request: a live "times" rule it matches
        (spending one of its times), or a probabilistic one it matches whose draw hits."""
        with LOCK:
            for rule in RULES:
                if not (rule["method"] in (self.command, "ANY") and (
                        rule["contains"] in self.path or rule["contains"].encode() in body) and (
                        rule.get("path_contains", "") in self.path)):
                    continue
                if "probability" in rule:
                    rng = RANDOMS[id(rule)]
                    rule["matched"] += 1
                    hit = rng.random() < rule["probability"]
                    action = rng.choice(rule["actions"])  # drawn either way: one draw pair per request
                    if not hit:
                        continue
                    rule["faults"] += 1
                    rule["faults_by_action"][action] = rule["faults_by_action"].get(action, 0) + 1
                    count_fault(action)
                    return action
                if rule["times"] > 0:
                    rule["times"] -= 1
                    count_fault(rule["action"])
                    return rule["action"]
        return None

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def forward(self, body, deliver=True):
        target = urllib.parse.urlsplit(self.upstream)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in ("connection", "keep-alive"):
                connection.putheader(name, value)
        connection.endheaders(body if body else None)
        response = connection.getresponse()
        payload = response.read()
        if not deliver:
            connection.close()
            return
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                self.send_header(name, value)
        if self.command != "HEAD" or response.getheader("Content-Length") is None:
            self.send_header("Content-Length", str(len(payload)))
        else:
            self.send_header("Content-Length", response.getheader("Content-Length"))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        connection.close()

    def reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


if __name__ == "__main__":
    port, upstream = int(sys.argv[1]), sys.argv[2]
    Proxy.upstream = upstream
    ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
