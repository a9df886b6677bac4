#!/usr/bin/env python3
"""The review desk under load: 20 reviewers at once over loopback, measured with wrk.

    python3 Benchmarks/desk/load.py [--reviewers 20] [--seconds 30] [--images 330]

Builds a ledger of --images pending `nudity` suggestions (copies of Samples/images, each made
unique by a few bytes after the JPEG's end, scored by `veil score` under a policy that queues
every image), a users file of one reviewer per connection, and starts `veil review serve` on
a loopback port. Every reviewer signs in through the form and gets a session of their own.
Then, at the same time and for --seconds, each reviewer keeps one connection busy (a closed
loop, no think time, so this is a stress, not a reviewer's pace):
  - half of them load the queue page (GET /),
  - two fifths load queue thumbnails (GET /previews/ID?size=thumb, the open queue's ids),
  - the rest confirm and reject cards (POST /cards/ID/decision with their CSRF token).
wrk (Debian's, installed here if missing) gives each group's latency percentiles; its Lua
counts every status. At the end the ledger must hold one decision per 303 wrk saw, and no
request may have failed. The CPU is printed with the figures.

Needs a release build: swift build -c release --product veil.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
VEIL = os.path.join(ROOT, ".build", "release", "veil")
PASSWORD = "load test passphrase"


def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("installing wrk from Debian", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdout=subprocess.DEVNULL)


def veil(*args, stdin=None):
    return subprocess.run([VEIL, *args], input=stdin, capture_output=True, text=True, check=True)


def build_ledger(work, images):
    folder = os.path.join(work, "images")
    os.makedirs(folder)
    samples = sorted(f for f in os.listdir(os.path.join(ROOT, "Samples", "images")) if f.endswith(".jpg"))
    for n in range(images):
        with open(os.path.join(ROOT, "Samples", "images", samples[n % len(samples)]), "rb") as source:
            data = source.read()
        with open(os.path.join(folder, f"photo-{n:04d}.jpg"), "wb") as out:
            out.write(data + b"veil-load-%d" % n)
    policy = os.path.join(work, "queue-everything.yaml")
    with open(policy, "w") as out:
        out.write('policy: {name: desk load test, version: "1"}\n'
                  "flags:\n  nudity: {review_threshold: 0.0, restrict_threshold: 1.0}\n")
    ledger = os.path.join(work, "review.sqlite")
    veil("score", "--no-faces", "--policy", policy, "--ledger", ledger, folder)
    return ledger


def request(port, method, path, cookies, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            cookies[name] = rest.split(";")[0]
    connection.close()
    return response.status, data.decode("utf-8", "replace")


def sign_in(port, name):
    cookies = {}
    _, page = request(port, "GET", "/signin", cookies)
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    status, _ = request(port, "POST", "/signin", cookies, f"token={token}&name={name}&password={PASSWORD.replace(' ', '+')}")
    assert status == 303, f"sign-in of {name}: {status}"
    _, queue = request(port, "GET", "/", cookies)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', queue).group(1)
    return cookies["veil_session"], csrf


LUA = """
local sessions = {%(sessions)s}
local ids = {%(ids)s}
local kind = "%(kind)s"
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("me", counter)
  table.insert(threads, thread)
end
function init(args)
  ok, bad, step = 0, 0, me
  cookie = "veil_session=" .. sessions[me][1]
  csrf = sessions[me][2]
end
function request()
  step = step + #sessions
  local headers = {["Cookie"] = cookie}
  if kind == "queue" then
    return wrk.format("GET", "/", headers)
  elseif kind == "preview" then
    return wrk.format("GET", "/previews/" .. ids[(step %% #ids) + 1] .. "?size=thumb", headers)
  else
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    local decision = (step %% 2 == 0) and "confirm" or "reject"
    return wrk.format("POST", "/cards/" .. ids[(step %% #ids) + 1] .. "/decision", headers,
                      "csrf=" .. csrf .. "&decision=" .. decision)
  end
end
function response(status, headers, body)
  local expected = (kind == "decision") and 303 or 200
  if status == expected then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local good, wrong = 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("ok")
    wrong = wrong + thread:get("bad")
  end
  io.write(string.format("VEIL {\\"ok\\": %%d, \\"bad\\": %%d, \\"socket_errors\\": %%d}\\n", good, wrong,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def milliseconds(text):
    value, unit = re.match(r"([0-9.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--images", type=int, default=330)
    args = parser.parse_args()
    if not os.access(VEIL, os.X_OK):
        sys.exit(f"{VEIL} is missing: swift build -c release --product veil")
    ensure_wrk()
    work = tempfile.mkdtemp(prefix="veil-desk-load-")
    ledger = build_ledger(work, args.images)
    users = os.path.join(work, "users.yaml")
    names = [f"reviewer{n:02d}" for n in range(args.reviewers)]
    for name in names:
        veil("review", "users", "add", name, "--role", "reviewer", "--users", users, "--password-stdin", stdin=PASSWORD + "\n")
    # The desk's log goes to a file: a pipe nobody reads would fill and stall it.
    log = open(os.path.join(work, "desk.log"), "w")
    server = subprocess.Popen([VEIL, "review", "serve", "--ledger", ledger, "--users", users, "--listen", "127.0.0.1:0"],
                              stderr=log, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    try:
        port, deadline = None, time.time() + 60
        while port is None:
            if time.time() > deadline or server.poll() is not None:
                sys.exit("the desk did not start: " + open(log.name).read())
            found = re.search(r"at http://127\.0\.0\.1:([0-9]+)/", open(log.name).read())
            port = int(found.group(1)) if found else time.sleep(0.1)
        sessions = [sign_in(port, name) for name in names]
        _, page = request(port, "GET", "/", {"veil_session": sessions[0][0]})
        ids = re.findall(r'href="/cards/([0-9]+)"', page)
        # Every thumbnail once, so that the run measures serving, not the first rendering.
        for id in ids:
            status, _ = request(port, "GET", f"/previews/{id}?size=thumb", {"veil_session": sessions[0][0]})
            assert status == 200, f"preview {id}: {status}"
        queue_n = args.reviewers // 2
        preview_n = args.reviewers * 2 // 5
        groups = [("queue", sessions[:queue_n]), ("preview", sessions[queue_n:queue_n + preview_n]),
                  ("decision", sessions[queue_n + preview_n:])]
        runs = []
        for kind, group in groups:
            script = os.path.join(work, f"{kind}.lua")
            with open(script, "w") as out:
                out.write(LUA % {"kind": kind, "ids": ", ".join(ids),
                                 "sessions": ", ".join(f'{{"{s}", "{c}"}}' for s, c in group)})
            runs.append((kind, len(group), subprocess.Popen(
                ["wrk", "-t", str(len(group)), "-c", str(len(group)), "-d", f"{args.seconds}s", "--latency", "--timeout", "10s",
                 "-s", script, f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)))
        results = {}
        for kind, count, process in runs:
            out, _ = process.communicate()
            counts = json.loads(re.search(r"VEIL (\{.*\})", out).group(1))
            percentiles = {p: milliseconds(v) for p, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M)}
            rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
            results[kind] = dict(counts, connections=count, rate=rate, **{f"p{p}": v for p, v in percentiles.items()})
        audit = veil("review", "audit", "--ledger", ledger).stdout.splitlines()
        recorded = sum(1 for line in audit if json.loads(line)["event"] == "decided")
    finally:
        server.terminate()
        server.wait()
        log.close()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    print(f"{args.reviewers} reviewers, {args.seconds} s, {len(ids)} open cards on the page; {cpu}, {os.cpu_count()} CPUs")
    print(f"{'route':<10}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind in ("queue", "preview", "decision"):
        r = results[kind]
        print(f"{kind:<10}{r['connections']:>6}{r['rate']:>9.0f}{r.get('p50', 0):>9.1f}{r.get('p90', 0):>9.1f}{r.get('p99', 0):>9.1f}"
              f"{r['bad'] + r['socket_errors']:>8}")
    acknowledged = results["decision"]["ok"]
    # wrk stops with a request in flight on each connection: the desk may have recorded
    # those decisions without wrk seeing the reply.
    in_flight = results["decision"]["connections"]
    print(f"decisions acknowledged (303) {acknowledged}, in the ledger {recorded} (at most {in_flight} in flight at the end)")
    failed = sum(r["bad"] + r["socket_errors"] for r in results.values())
    shutil.rmtree(work, ignore_errors=True)
    if failed or not acknowledged <= recorded <= acknowledged + in_flight:
        sys.exit("FAILED: errors, or decisions missing from the ledger")


if __name__ == "__main__":
    main()
