#!/usr/bin/env python3
"""Networking benchmark: what berthd's bridge network costs.

Measures, with a static busybox as the image (imported through the Engine
API, as container_bench.py does):
  - `run --rm <img> true` latency (median of --runs, through the Engine API
    as the docker CLI drives it) on berthd's default bridge network against
    NetworkMode none: the bridge adds a network namespace with a veth pair,
    an address and the endpoint's teardown. dockerd, when installed, with
    NetworkMode none only (see below);
  - a busybox httpd (`-p <hostport>:80`) serving a small file and a 64 MiB
    one, reached through the published port on 127.0.0.1 (berth's nftables
    DNAT out of loopback) and directly at the container's address on the
    bridge: connection rate (sequential GETs of the small file, a new
    connection each, over --seconds) and throughput (downloading the big
    file, median of 3).
Prints the figures side by side with the ratios bridge/none and
published/direct.

dockerd runs only with its networking off (--bridge=none, --iptables=false,
benchlib.peers): its bridge network would rewrite the host's iptables
firewall, which this shared machine must not have touched. So there is no
docker bridge or published-port column.

berthd gets a daemon.json of its own: the default bridge is berth-test-bnch
in a pool under 10.213.0.0/16, its nftables table is `ip berth-test-bench`,
its veths are berth-test-*, and ip-forward is off (loopback and direct
traffic to the bridge need no forwarding). After the containers are removed
berthd is stopped with SIGTERM, which takes the bridge and the table down;
the script checks that they are gone and warns if not.

Run as root: python3 bench/network_bench.py [--build build/release]. Every
process it starts is stopped by PID; files live in
/tmp/berth-test-bench-network-* and cgroups under
/berth-test-bench-network-*, all removed. Never run from the test suite.
"""
import argparse
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ next to the sources
from benchlib import Peer, UnixHTTPConnection, default_dockerd, free_port, peers, print_table, \
    scratch_dir
from container_bench import IMAGE, api, busybox_rootfs, check, import_image, processes_naming, \
    remove, remove_cgroups, rootfs_tar, start

BRIDGE = "berth-test-bnch"  # IFNAMSIZ: at most 15 characters
NFT_TABLE = "berth-test-bench"
POOL = "10.213.0.0/16"
BIG_MIB = 64

HTTPD = ("mkdir -p /www; dd if=/dev/zero of=/www/big bs=1M count=%d 2>/dev/null; "
         "echo hi > /www/small; exec httpd -f -p 80 -h /www" % BIG_MIB)


def daemon_json(path):
    with open(path, "w") as f:
        json.dump({"bridge": BRIDGE,
                   "default-address-pools": [{"base": POOL, "size": 24}],
                   "ip-forward": False,
                   "drivers": {"options": {"net/bridge": {
                       "nft_table": NFT_TABLE, "interface_prefix": "berth-test-",
                       "bridge_prefix": "berth-test-"}}}}, f, indent=2)


# --- host state ----------------------------------------------------------------


def link_exists(name):
    return os.path.exists(f"/sys/class/net/{name}")


def nft_table_exists(name):
    r = subprocess.run(["nft", "list", "table", "ip", name], capture_output=True)
    return r.returncode == 0


def bridge_ports():
    try:
        return os.listdir(f"/sys/class/net/{BRIDGE}/brif")
    except OSError:
        return []


VETHS = set()  # host ends of our containers' veths, seen on the bridge


def leftovers():
    out = [f"link {v} (ip link del {v})" for v in sorted(VETHS) if link_exists(v)]
    if link_exists(BRIDGE):
        out.append(f"link {BRIDGE} (ip link del {BRIDGE})")
    if nft_table_exists(NFT_TABLE):
        out.append(f"nft table ip {NFT_TABLE} (nft delete table ip {NFT_TABLE})")
    return out


# --- containers, through the Engine API -------------------------------------------


def create(sock, cmd, network, auto_remove=False, publish=None):
    """publish: {container port: host port} on every host address."""
    host_config = {"NetworkMode": network, "AutoRemove": auto_remove}
    body = {"Image": IMAGE, "Cmd": cmd, "HostConfig": host_config}
    if publish:
        body["ExposedPorts"] = {f"{c}/tcp": {} for c in publish}
        host_config["PortBindings"] = {f"{c}/tcp": [{"HostIp": "", "HostPort": str(h)}]
                                       for c, h in publish.items()}
    return check(*api(sock, "POST", "/containers/create", body), "create")["Id"]


def run_rm_true(sock, network):
    """docker run --rm [--network ...] img true: create, wait for the
    removal, start."""
    t0 = time.perf_counter()
    cid = create(sock, ["true"], network, auto_remove=True)
    waiter = UnixHTTPConnection(sock, timeout=60)
    waiter.request("POST", f"/v1.41/containers/{cid}/wait?condition=removed")
    start(sock, cid)
    r = waiter.getresponse()
    body = r.read()
    waiter.close()
    if r.status not in (200, 404):  # 404: removed before the wait got there
        raise RuntimeError(f"wait: HTTP {r.status} {body!r:.200}")
    return time.perf_counter() - t0


def median_run_rm(sock, network, runs):
    run_rm_true(sock, network)  # warm up
    return statistics.median(run_rm_true(sock, network) for _ in range(runs))


def container_ip(sock, cid):
    info = check(*api(sock, "GET", f"/containers/{cid}/json"), "inspect")
    settings = info.get("NetworkSettings") or {}
    for net in (settings.get("Networks") or {}).values():
        if net.get("IPAddress"):
            return net["IPAddress"]
    if settings.get("IPAddress"):
        return settings["IPAddress"]
    raise RuntimeError(f"container {cid[:12]} has no IP address: {settings!r:.300}")


# --- HTTP clients ----------------------------------------------------------------


def get(host, port, path, buf=None):
    """One GET on a new connection; returns the body's length."""
    c = http.client.HTTPConnection(host, port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError(f"GET http://{host}:{port}{path}: HTTP {r.status}")
        if buf is None:
            return len(r.read())
        total = 0
        while True:
            n = r.readinto(buf)
            if not n:
                return total
            total += n
    finally:
        c.close()


def wait_serving(host, port, timeout=30):
    t0 = time.perf_counter()
    while True:
        try:
            if get(host, port, "/small") == 3:
                return
        except (OSError, http.client.HTTPException, RuntimeError):
            pass
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"httpd at {host}:{port} did not answer within {timeout} s")
        time.sleep(0.05)


def connection_rate(targets, seconds, rounds=3):
    """GETs of /small per second, one connection each, for every (host,
    port) in targets; the targets take turns in `rounds` slices so drift
    in the machine's load hits them alike."""
    counts = {t: 0 for t in targets}
    spent = {t: 0.0 for t in targets}
    for _ in range(rounds):
        for t in targets:
            t0 = time.perf_counter()
            deadline = t0 + seconds / rounds
            n = 0
            while time.perf_counter() < deadline:
                get(*t, "/small")
                n += 1
            spent[t] += time.perf_counter() - t0
            counts[t] += n
    return {t: counts[t] / spent[t] for t in targets}


def throughput(targets, runs=3):
    """MB/s (10^6 bytes) downloading /big, median of `runs`, alternating
    between the targets."""
    buf = memoryview(bytearray(1 << 20))
    times = {t: [] for t in targets}
    for _ in range(runs):
        for t in targets:
            t0 = time.perf_counter()
            n = get(*t, "/big", buf)
            times[t].append(time.perf_counter() - t0)
            if n != BIG_MIB << 20:
                raise RuntimeError(f"GET /big from {t}: {n} bytes, want {BIG_MIB << 20}")
    return {t: (BIG_MIB << 20) / statistics.median(times[t]) / 1e6 for t in targets}


# --- the daemons -----------------------------------------------------------------


def measure_berth(peer, root, tar, args, notes):
    proc, sock, _ = peer.start(root)
    ids = []
    try:
        import_image(sock, tar)
        out = {"rm_bridge": median_run_rm(sock, "default", args.runs),
               "rm_none": median_run_rm(sock, "none", args.runs)}

        host_port = free_port()
        ids.append(create(sock, ["sh", "-c", HTTPD], "default", publish={80: host_port}))
        start(sock, ids[-1])
        ip = container_ip(sock, ids[-1])
        VETHS.update(bridge_ports())
        published, direct = ("127.0.0.1", host_port), (ip, 80)
        wait_serving(*direct)
        wait_serving(*published)
        get(*published, "/small")  # warm up both paths
        get(*direct, "/small")
        rates = connection_rate([published, direct], args.seconds)
        mbps = throughput([published, direct])
        out.update(conn_published=rates[published], conn_direct=rates[direct],
                   mbps_published=mbps[published], mbps_direct=mbps[direct])
        notes.append(f"berth: httpd container at {ip}:80, published on 127.0.0.1:{host_port}")
        return out
    finally:
        for cid in ids:
            try:
                remove(sock, cid)
            except (RuntimeError, OSError) as e:
                notes.append(f"berth: rm -f {cid[:12]}: {e}")
        Peer.stop(proc)
        # Whatever outlived the daemon (shims detach from it) goes by PID.
        for pid in processes_naming(root):
            try:
                os.kill(pid, signal.SIGKILL)
                notes.append(f"berth: killed leftover process {pid}")
            except OSError:
                pass


def measure_docker(peer, root, tar, args):
    proc, sock, _ = peer.start(root)
    try:
        import_image(sock, tar)
        return {"rm_none": median_run_rm(sock, "none", args.runs)}
    finally:
        Peer.stop(proc)


def build_type(build):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip() or "unset"
    except OSError:
        pass
    return "unknown"


def progress(what):
    print(f"measuring {what}...", file=sys.stderr, flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(here, "..", "build", "release"),
                    help="build directory holding bin/berthd and bin/berth-shim")
    ap.add_argument("--dockerd", default=default_dockerd())
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="time spent on the connection rate of each target")
    args = ap.parse_args()
    # Stopped with SIGTERM: still remove the containers, stop the daemons.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    berthd = os.path.join(args.build, "bin", "berthd")
    if not os.access(berthd, os.X_OK):
        sys.exit(f"{berthd} not found: build it (cmake --preset release; ninja berthd berth-shim)")
    if os.geteuid() != 0:
        sys.exit("run as root: berthd needs it for namespaces, bridges and nftables")
    if leftovers():
        sys.exit("already present, from another run or a crashed one: " + "; ".join(leftovers()))

    results, notes = {}, []
    with scratch_dir("network") as root:
        os.chmod(root, 0o755)
        cgroup_parent = "/" + os.path.basename(root)
        config = os.path.join(root, "daemon.json")
        daemon_json(config)
        try:
            rootfs = os.path.join(root, "rootfs")
            busybox_rootfs(rootfs)
            tar = rootfs_tar(rootfs)
            daemons = peers(berthd, args.dockerd,
                            ("--config-file", config, "--storage-driver", "overlay",
                             "--cgroup-parent", cgroup_parent),
                            ("--cgroup-parent", cgroup_parent + "-docker"))
            for peer in daemons:
                peer_root = os.path.join(root, peer.name)
                os.makedirs(peer_root)
                progress(peer.name)
                try:
                    if peer.name == "berth":
                        results[peer.name] = measure_berth(peer, peer_root, tar, args, notes)
                    else:
                        results[peer.name] = measure_docker(peer, peer_root, tar, args)
                except (RuntimeError, OSError, http.client.HTTPException) as e:
                    notes.append(f"{peer.name}: failed: {e}")
            if "docker" not in [p.name for p in daemons]:
                notes.append(f"docker: not installed ({args.dockerd})")
        finally:
            for suffix in ("", "-docker"):
                remove_cgroups(cgroup_parent.lstrip("/") + suffix)
            left = leftovers()
            for what in left:
                print(f"WARNING: berthd left {what} behind", file=sys.stderr)

    b = results.get("berth", {})
    ms = lambda v: None if v is None else v * 1000
    print(f"busybox (static); berthd {build_type(args.build)} build, bridge {BRIDGE}, "
          f"ip-forward off; {os.cpu_count()} CPUs, kernel {platform.release()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print()
    print(f"run --rm true through the Engine API, median of {args.runs} runs")
    print_table(["bridge", "none", "docker"],
                [("run --rm true (ms, median)",
                  {"bridge": ms(b.get("rm_bridge")), "none": ms(b.get("rm_none")),
                   "docker": ms(results.get("docker", {}).get("rm_none"))}, "{:.1f}")],
                [("bridge", "none"), ("none", "docker")])
    print()
    print(f"busybox httpd in a berth container: 127.0.0.1:<published port> against its "
          f"bridge address directly")
    print_table(["published", "direct"],
                [(f"connections/s (GET 3 B, ~{args.seconds:g} s)",
                  {"published": b.get("conn_published"), "direct": b.get("conn_direct")}, "{:.0f}"),
                 (f"throughput (MB/s, {BIG_MIB} MiB file, median of 3)",
                  {"published": b.get("mbps_published"), "direct": b.get("mbps_direct")}, "{:.0f}")],
                [("published", "direct")])
    print()
    notes.append("docker: NetworkMode none only, dockerd with --bridge=none --iptables=false: its "
                 "bridge network would rewrite the host's iptables firewall (not on this shared "
                 "machine), so no docker bridge or published-port figures")
    for what in left:
        notes.append(f"WARNING: left behind: {what}")
    if not left:
        notes.append(f"cleanup: no {BRIDGE} link, veth ({', '.join(sorted(VETHS)) or 'none seen'}) "
                     f"or nft table ip {NFT_TABLE} left")
    for n in notes:
        print(n)
    return 0 if "berth" in results and not left else 1


if __name__ == "__main__":
    sys.exit(main())
