#!/usr/bin/env python3
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The cmg benchmark's body (bench/cmg.sh runs it): a site host (ca, mp, dp,
cmg-connector) and a gateway host (cmg), as in tests/e2e/test_e2e_cmg.py,
then three figures, each through the gateway and direct:
  1. client token renewals per second (nonce + proof of possession + token)
  2. one 64 MiB download (best of BENCH_DOWNLOADS), MiB/s, and the CPU per MiB of
     each ehttpd process and of curl
  3. BENCH_CLIENTS concurrent TLS clients held open on the gateway, each
     asking twice; errors counted, the gateway's peak VmRSS
Prints KEY=VALUE lines; nothing passes or fails on speed."""
import asyncio
import hashlib
import http.client
import json
import multiprocessing
import os
import pathlib
import re
import resource
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "e2e"))
from harness import Bus, Host, plugin_dir_with, wait_for  # noqa: E402
from test_e2e_mp import Client, TOKEN_PROOF_TYP, thumbprint  # noqa: E402

import jwt  # noqa: E402

MP_ID = "72057594037927937"
DP_ID = "72057594037927938"
PKG = "/CCMTOKENAUTH_SMS_DP_SMSPKG$/"


def knob(name, default):
    return int(os.environ.get(name, default))


SECONDS = knob("BENCH_SECONDS", 8)
WORKERS = knob("BENCH_WORKERS", 2)
THREADS = knob("BENCH_THREADS", 4)
DOWNLOADS = knob("BENCH_DOWNLOADS", 2)
CLIENTS = knob("BENCH_CLIENTS", 1000)
# the phases to run (for profiling one): renewals, download, held; BENCH_PERF=DIR: perf record
# on both ehttpd processes during the downloads through the gateway, into DIR
PHASES = os.environ.get("BENCH_PHASES", "renewals,download,held").split(",")
PERF_DIR = os.environ.get("BENCH_PERF", "")


def say(key, value):
    print(f"{key}={value}", flush=True)


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def renewal_worker(base, cafile, client_key_pem, jwk, alg, seconds, threads, queue):
    """renewals in @threads threads of one process, each on a kept-alive connection"""
    from cryptography.hazmat.primitives import serialization
    key = serialization.load_pem_private_key(client_key_pem, None)
    host, port, prefix = base
    counts = []

    def run():
        context = ssl.create_default_context(cafile=cafile)
        conn = http.client.HTTPSConnection(host, port, context=context, timeout=30)
        done = errors = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                status, body = request(conn, "GET", prefix + "/ehttpd/mp/nonce")
                nonce = json.loads(body)["nonce"]
                proof = jwt.encode({"nonce": nonce}, key, algorithm=alg,
                                   headers={"typ": TOKEN_PROOF_TYP, "kid": thumbprint(jwk)})
                status, body = request(conn, "POST", prefix + "/ehttpd/mp/token", json.dumps({"proof": proof}),
                                       {"Content-Type": "application/json"})
                if status == 200:
                    done += 1
                else:
                    errors += 1
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                errors += 1
                conn.close()
                conn = http.client.HTTPSConnection(host, port, context=context, timeout=30)
        counts.append((done, errors))

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    queue.put((sum(c[0] for c in counts), sum(c[1] for c in counts)))


def renewals(base, cafile, client):
    from cryptography.hazmat.primitives import serialization
    pem = client.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=renewal_worker,
                                     args=(base, cafile, pem, client.jwk, client.alg, SECONDS, THREADS, queue))
             for _ in range(WORKERS)]
    started = time.monotonic()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)


def cpu_seconds(pid):
    """user + system CPU of every thread of @pid so far"""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def download(url, token, cafile, expect_sha, procs):
    """best MiB/s of DOWNLOADS runs, and the CPU milliseconds per MiB of each of @procs
    (name → pid) and of curl over all the runs (robust on a loaded machine, where MiB/s
    is not; the kernel counts CPU time in 10 ms ticks, so more runs give finer figures)"""
    best = 0.0
    cpu = {name: [] for name in list(procs) + ["curl"]}
    for _ in range(DOWNLOADS):
        out = subprocess.run(["curl", "-sS", "--cacert", cafile, "-H", f"Authorization: Bearer {token}",
                              "-o", "-", "-w", "", url], capture_output=True, check=True).stdout
        if hashlib.sha256(out).hexdigest() != expect_sha:
            raise SystemExit("a download's SHA-256 does not match")
        before = {name: cpu_seconds(pid) for name, pid in procs.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        subprocess.run(["curl", "-sS", "--cacert", cafile, "-H", f"Authorization: Bearer {token}",
                        "-o", "/dev/null", url], check=True)
        best = max(best, 64 / (time.monotonic() - started))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        for name, pid in procs.items():
            cpu[name].append((cpu_seconds(pid) - before[name]) * 1000 / 64)
        cpu["curl"].append((after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) * 1000 / 64)
    return best, {name: sum(runs) / len(runs) for name, runs in cpu.items()}


def perf_start(pid, name):
    if not PERF_DIR:
        return None
    return subprocess.Popen(["perf", "record", "--call-graph", os.environ.get("BENCH_PERF_CALLGRAPH", "fp"), "-q", "-o", f"{PERF_DIR}/{name}.data", "-p", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perf_stop(proc):
    if proc is not None:
        proc.send_signal(2)
        proc.wait(60)


async def hold(host, port, path, cafile, clients):
    """@clients connections open together; each asks, waits for all, asks again"""
    context = ssl.create_default_context(cafile=cafile)
    errors = 0
    opened = asyncio.Event()
    ready = 0
    ok = 0

    async def ask(reader, writer):
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"(?i)content-length: *(\d+)", head)
        if match:
            await reader.readexactly(int(match.group(1)))
        else:
            while (size := int((await reader.readline()).strip(), 16)) > 0:
                await reader.readexactly(size + 2)
            await reader.readline()
        return head.startswith(b"HTTP/1.1 200")

    async def one():
        nonlocal errors, ready, ok
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), 60)
            good = await asyncio.wait_for(ask(reader, writer), 60)
            ready += 1
            if ready == clients:
                opened.set()
            await asyncio.wait_for(opened.wait(), 120)
            good = await asyncio.wait_for(ask(reader, writer), 60) and good
            ok += good
            errors += not good
            writer.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, ssl.SSLError):
            errors += 1
            ready += 1
            if ready == clients:
                opened.set()

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(clients)))
    return ok, errors, time.monotonic() - started


def peak_rss(pid, stop, out):
    peak = 0
    while not stop.is_set():
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                peak = max(peak, int(line.split()[1]))
        time.sleep(0.1)
    out.append(peak)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="eh-bench-cmg-")
    hosts, buses = [], []
    try:
        buses.append(Bus(pathlib.Path(work)))
        plugins = ("ca", "mp", "dp", "cmg-connector")
        site = Host(work, buses[0], name="site", plugins=plugins[:3], with_certificate=False,
                    plugin_dir=plugin_dir_with(work, *plugins), groups={"dp": {"names": "dp1.example,localhost"}},
                    core={"max-connections-per-address": "4096"})
        hosts.append(site)
        site.start()
        wait_for(lambda: site.ctl_json("status")["certificate"], what="the site's certificate")
        cafile = str(site.state / "plugins" / "ca" / "root.pem")
        src = pathlib.Path(work) / "content"
        src.mkdir()
        (src / "64m.bin").write_bytes(os.urandom(64 * 1024 * 1024))
        big_sha = hashlib.sha256((src / "64m.bin").read_bytes()).hexdigest()
        site.ctl("content", "add", "Big", str(src))
        content_id = site.ctl_json("content", "list")[0]["id"]

        gw_dir = pathlib.Path(work) / "gwbus"
        gw_dir.mkdir()
        buses.append(Bus(gw_dir))
        token = site.ctl_json("join-token", "create", "--role", "cmg")["token"]
        fingerprint = site.ctl_json("ca", "show")["root-fingerprint"]
        gateway = Host(work, buses[1], name="gateway", plugins=("cmg",), with_certificate=False,
                       plugin_dir=plugin_dir_with(work, "cmg"), core={"max-connections-per-address": "4096",
                                                                        "max-connections": "8192"},
                       groups={"site": {"upstream": site.url("https"), "root-fingerprint": fingerprint,
                                        "join-token": token}, "cmg": {"name": "cmg.bench"}})
        hosts.append(gateway)
        gateway.start()
        wait_for(lambda: gateway.ctl_json("cmg", "status")["site"], timeout=30, what="the gateway's bundle")

        text = site.config.read_text()
        text = re.sub(r"^https-listen=.*$", "https-listen=" + site.url("https").split("://")[1], text, flags=re.M)
        text = re.sub(r"^http-listen=.*$", "http-listen=" + site.url("http").split("://")[1], text, flags=re.M)
        text = text.replace("plugins=ca,mp,dp\n", "plugins=" + ",".join(plugins) + "\n")
        site.config.write_text(text + f"[cmg-connector]\ngateways={gateway.url('https')}\n")
        site.stop()
        site.start()
        site.ctl("cert", "renew")
        wait_for(lambda: gateway.ctl_json("cmg", "status")["state"] == "connected", timeout=30, what="the tunnel")

        gw_host, gw_port = gateway.address("https")
        site_host, site_port = site.address("https")
        direct = (site_host, site_port, "")
        via = (gw_host, gw_port, "/CCM_Proxy_ServerAuth/" + MP_ID)

        # a registered client (bulk token), through the gateway
        client = Client()
        bulk = site.ctl_json("bulk-token", "create")["token"]
        context = ssl.create_default_context(cafile=cafile)
        conn = http.client.HTTPSConnection(gw_host, gw_port, context=context)
        _, body = request(conn, "GET", via[2] + "/ehttpd/mp/nonce")
        _, body = request(conn, "POST", via[2] + "/ehttpd/mp/register",
                          json.dumps(client.body(json.loads(body)["nonce"], bulk_token=bulk)),
                          {"Content-Type": "application/json"})
        say("registered", json.loads(body)["state"])

        for name, base in (("direct", direct), ("gateway", via)) if "renewals" in PHASES else ():
            before = {"site": cpu_seconds(site.proc.pid), "gateway": cpu_seconds(gateway.proc.pid)}
            rate, errors = renewals(base, cafile, client)
            say(f"renewals_{name}_per_s", f"{rate:.0f}")
            say(f"renewals_{name}_errors", errors)
            for host, pid in (("site", site.proc.pid), ("gateway", gateway.proc.pid)) if rate > 0 else ():
                # the CPU each renewal cost each host (about SECONDS × rate renewals)
                say(f"renewals_{name}_cpu_us_{host}", f"{(cpu_seconds(pid) - before[host]) * 1e6 / (rate * SECONDS):.0f}")

        # a content token, located through the gateway
        _, body = request(conn, "GET", via[2] + "/ehttpd/mp/nonce")
        proof = jwt.encode({"nonce": json.loads(body)["nonce"]}, client.key, algorithm=client.alg,
                           headers={"typ": TOKEN_PROOF_TYP, "kid": thumbprint(client.jwk)})
        _, body = request(conn, "POST", via[2] + "/ehttpd/mp/token", json.dumps({"proof": proof}),
                          {"Content-Type": "application/json"})
        client_token = json.loads(body)["token"]
        located = wait_for(lambda: (lambda r: json.loads(r[1]) if r[0] == 200 else None)(
            request(conn, "GET", via[2] + "/ehttpd/mp/content/" + content_id,
                    headers={"Authorization": "Bearer " + client_token})), what="the content located")
        content_token = located["token"]
        path = PKG + content_id + "/64m.bin"
        if "download" in PHASES:
            rate, cpu = download(site.url('https') + path, content_token, cafile, big_sha, {"site": site.proc.pid})
            say("download_direct_mib_s", f"{rate:.1f}")
            for name, ms in cpu.items():
                say(f"download_direct_cpu_ms_per_mib_{name}", f"{ms:.2f}")
            perfs = [perf_start(site.proc.pid, "site"), perf_start(gateway.proc.pid, "gateway")]
            rate, cpu = download(gateway.url('https') + '/CCM_Proxy_ServerAuth/' + DP_ID + path, content_token, cafile,
                                 big_sha, {"site": site.proc.pid, "gateway": gateway.proc.pid})
            for proc in perfs:
                perf_stop(proc)
            say("download_gateway_mib_s", f"{rate:.1f}")
            for name, ms in cpu.items():
                say(f"download_gateway_cpu_ms_per_mib_{name}", f"{ms:.2f}")
        if "held" not in PHASES:
            return

        stop, peak = threading.Event(), []
        sampler = threading.Thread(target=peak_rss, args=(gateway.proc.pid, stop, peak))
        sampler.start()
        ok, errors, elapsed = asyncio.run(hold(gw_host, gw_port, via[2] + "/ehttpd/mp/site", cafile, CLIENTS))
        stop.set()
        sampler.join()
        say("held_clients", CLIENTS)
        say("held_ok", ok)
        say("held_errors", errors)
        say("held_seconds", f"{elapsed:.1f}")
        say("gateway_peak_rss_kib", peak[0])
        say("gateway_state", gateway.ctl_json("cmg", "status")["state"])
    finally:
        for host in hosts:
            host.stop()
        for bus in buses:
            bus.stop()
        if os.environ.get("BENCH_KEEP"):
            print(f"cmg.py: kept {work}", file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
