#!/usr/bin/env python3
"""Container benchmark: berthd against an OCI runtime run directly on a
bundle (the floor) and dockerd when installed.

Measures, with a static busybox as the image (imported through the Engine
API into the daemons; a plain directory as the runtimes' bundle rootfs):
  - `run --rm <img> true` latency (median of --runs): through the Engine API
    as the docker CLI does it (create with AutoRemove, wait for removal,
    start); `berth run --rm` itself (the CLI process included) when the berth
    CLI is next to berthd; `crun run` / `runc run` on a fresh bundle;
  - create + start + rm -f of `sleep` (median of --runs);
  - --concurrent containers started at once (create all first; the time
    until every start returned), then removed;
  - idle memory per running container: RSS of the daemon and every process
    it started (shims, their containers; for dockerd its containerd and
    containerd-shims) with --idle containers running, minus before, over
    --idle. For the runtimes the container processes alone (nothing else
    stays resident).
Every container runs with no network (NetworkMode none; the runtimes' own
empty network namespace). Prints the figures side by side with ratios.

crun refuses this kind of host (cgroup v1 with a controller on the v2 mount)
unless /sys/fs/cgroup/unified is out of its way: it runs through a wrapper
that unmounts that in a private mount namespace (as tests/shim does). runc
works as is.

Run as root: python3 bench/container_bench.py [--build build/release]. Every
process it starts is stopped by PID; files live in
/tmp/berth-test-bench-containers-* and cgroups under
/berth-test-bench-containers-*, all removed. Never run from the test suite.
"""
import argparse
import concurrent.futures
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ next to the sources
from benchlib import Peer, UnixHTTPConnection, default_dockerd, peers, print_table, scratch_dir, \
    tree_rss_kib

CGROUP = "/sys/fs/cgroup"


def busybox_rootfs(root):
    """A rootfs directory: static busybox with its applets, passwd, group."""
    os.makedirs(root)
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root"):
        os.makedirs(os.path.join(root, d))
    shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox" and "/" not in a:
            os.symlink("busybox", os.path.join(root, "bin", a))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")


def rootfs_tar(rootfs):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        t.add(rootfs, arcname=".")
    return buf.getvalue()


# --- the daemons, through the Engine API --------------------------------------


def api(sock, method, path, body=None, timeout=120):
    """One call; returns (status, parsed JSON body or None)."""
    c = UnixHTTPConnection(sock, timeout=timeout)
    headers = {}
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif body is not None:
        headers["Content-Type"] = "application/x-tar"
    c.request(method, "/v1.41" + path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, json.loads(data) if data else None
    except ValueError:
        return r.status, data


def check(status, body, what):
    if status >= 300:
        raise RuntimeError(f"{what}: HTTP {status} {body!r:.300}")
    return body


IMAGE = "berth-bench/busybox:latest"


def import_image(sock, tar):
    q = urllib.parse.urlencode({"fromSrc": "-", "repo": IMAGE.split(":")[0], "tag": "latest",
                                "changes": 'CMD ["sh"]'})
    check(*api(sock, "POST", "/images/create?" + q, tar), "import")


def create(sock, cmd, auto_remove=False):
    body = {"Image": IMAGE, "Cmd": cmd,
            "HostConfig": {"NetworkMode": "none", "AutoRemove": auto_remove}}
    return check(*api(sock, "POST", "/containers/create", body), "create")["Id"]


def start(sock, cid):
    check(*api(sock, "POST", f"/containers/{cid}/start"), "start")


def remove(sock, cid):
    check(*api(sock, "DELETE", f"/containers/{cid}?force=1"), "rm -f")


def run_rm_true(sock):
    """docker run --rm img true: create, wait for the removal, start."""
    t0 = time.perf_counter()
    cid = create(sock, ["true"], auto_remove=True)
    waiter = UnixHTTPConnection(sock, timeout=60)
    waiter.request("POST", f"/v1.41/containers/{cid}/wait?condition=removed")
    start(sock, cid)
    r = waiter.getresponse()
    body = r.read()
    waiter.close()
    if r.status not in (200, 404):  # 404: removed before the wait got there
        raise RuntimeError(f"wait: HTTP {r.status} {body!r:.200}")
    return time.perf_counter() - t0


def create_start_rm(sock):
    t0 = time.perf_counter()
    cid = create(sock, ["sleep", "600"])
    start(sock, cid)
    remove(sock, cid)
    return time.perf_counter() - t0


def concurrent_starts(sock, n):
    ids = [create(sock, ["sleep", "600"]) for _ in range(n)]
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        t0 = time.perf_counter()
        list(pool.map(lambda cid: start(sock, cid), ids))
        elapsed = time.perf_counter() - t0
        list(pool.map(lambda cid: remove(sock, cid), ids))
    return elapsed


def processes_naming(text):
    """PIDs whose command line contains `text`."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if text.encode() in f.read():
                        out.append(int(entry))
            except OSError:
                pass
    return out


def daemon_rss_kib(proc, root):
    """The daemon and all it started: its own tree, and the shims (which
    detach from it) with their containers."""
    total = tree_rss_kib(proc.pid)
    for pid in processes_naming(root):
        if pid != proc.pid and not is_descendant(pid, proc.pid):
            total += tree_rss_kib(pid)
    return total


def is_descendant(pid, ancestor):
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == ancestor:
            return True
    return False


def idle_memory(sock, proc, root, n):
    time.sleep(1.0)
    before = daemon_rss_kib(proc, root)
    ids = []
    for _ in range(n):
        ids.append(create(sock, ["sleep", "600"]))
        start(sock, ids[-1])
    time.sleep(2.0)  # let start-up work settle
    after = daemon_rss_kib(proc, root)
    for cid in ids:
        remove(sock, cid)
    return (after - before) / n


def measure_daemon(peer, root, tar, args):
    proc, sock, _ = peer.start(root)
    try:
        import_image(sock, tar)
        run_rm_true(sock)  # warm up: caches, the log driver, the first cgroup
        out = {"run_rm": statistics.median(run_rm_true(sock) for _ in range(args.runs)),
               "create_start_rm": statistics.median(create_start_rm(sock) for _ in range(args.runs)),
               "concurrent": concurrent_starts(sock, args.concurrent),
               "idle_kib": idle_memory(sock, proc, root, args.idle)}
        cli = os.path.join(os.path.dirname(peer.argv_fn(root, sock)[0]), "berth")
        if peer.name == "berth" and os.access(cli, os.X_OK):
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                r = subprocess.run([cli, "-H", "unix://" + sock, "run", "--rm", "--network", "none",
                                    IMAGE, "true"], capture_output=True)
                times.append(time.perf_counter() - t0)
                if r.returncode != 0:
                    raise RuntimeError(f"berth run: {r.stderr.decode()}")
            out["cli_run_rm"] = statistics.median(times)
        return out
    finally:
        Peer.stop(proc)


# --- an OCI runtime on a bundle -------------------------------------------------


def hybrid_with_controllers():
    try:
        with open(f"{CGROUP}/unified/cgroup.controllers") as f:
            return bool(f.read().strip())
    except OSError:
        return False


class Runtime:
    def __init__(self, name, root, rootfs, cgroup_parent):
        self.name, self.root, self.rootfs = name, root, rootfs
        self.cgroup_parent = cgroup_parent
        self.state = os.path.join(root, "state")
        os.makedirs(self.state)
        binary = shutil.which(name)
        if name == "crun" and hybrid_with_controllers():
            wrapper = os.path.join(root, "crun")
            with open(wrapper, "w") as f:
                f.write("#!/bin/sh\nexec unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec "
                        f"{binary} \"$@\"' crun \"$@\"\n")
            os.chmod(wrapper, 0o755)
            binary = wrapper
        self.argv = [binary, "--root", self.state]
        self.count = 0

    def bundle(self, args):
        """A fresh bundle dir with config.json from `<runtime> spec`."""
        self.count += 1
        cid = f"berth-test-bench-{self.count}"
        b = os.path.join(self.root, cid)
        os.makedirs(b)
        subprocess.run([shutil.which(self.name), "spec", "--bundle", b], check=True,
                       capture_output=True)
        with open(os.path.join(b, "config.json")) as f:
            spec = json.load(f)
        spec["root"] = {"path": self.rootfs, "readonly": True}
        spec["process"]["args"] = args
        spec["process"]["terminal"] = False
        spec["linux"]["cgroupsPath"] = f"{self.cgroup_parent}/{cid}"
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(spec, f)
        return cid, b

    def run(self, *argv, check_rc=True):
        # Errors go to a file: a detached container would hold a pipe open.
        with open(os.path.join(self.root, "stderr"), "w+") as err:
            r = subprocess.run(self.argv + list(argv), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err)
            if check_rc and r.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"{self.name} {' '.join(argv)}: {err.read().strip()}")

    def run_true(self):
        cid, b = self.bundle(["true"])
        t0 = time.perf_counter()
        self.run("run", "--bundle", b, cid)  # waits, then deletes the container
        return time.perf_counter() - t0

    def create_start_rm(self):
        cid, b = self.bundle(["sleep", "600"])
        t0 = time.perf_counter()
        self.run("create", "--bundle", b, cid)
        self.run("start", cid)
        self.run("delete", "--force", cid)
        return time.perf_counter() - t0

    def concurrent(self, n):
        bundles = [self.bundle(["sleep", "600"]) for _ in range(n)]
        t0 = time.perf_counter()
        procs = [subprocess.Popen(self.argv + ["run", "--detach", "--bundle", b, cid],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for cid, b in bundles]
        codes = [p.wait() for p in procs]
        elapsed = time.perf_counter() - t0
        for cid, _ in bundles:
            self.run("delete", "--force", cid, check_rc=False)
        if any(codes):
            raise RuntimeError(f"{self.name} run --detach failed: {codes}")
        return elapsed

    def idle_kib(self, n):
        bundles = [self.bundle(["sleep", "600"]) for _ in range(n)]
        for cid, b in bundles:
            self.run("run", "--detach", "--bundle", b, cid)
        time.sleep(2.0)
        total = 0
        for cid, _ in bundles:
            with open(os.path.join(self.state, cid, "state.json") if self.name == "runc"
                      else os.path.join(self.state, cid, "status")) as f:
                text = f.read()
            pid = json.loads(text)["init_process_pid"] if self.name == "runc" else \
                json.loads(text)["pid"]
            total += tree_rss_kib(pid)
        for cid, _ in bundles:
            self.run("delete", "--force", cid, check_rc=False)
        return total / n


def measure_runtime(name, root, rootfs, cgroup_parent, args):
    rt = Runtime(name, root, rootfs, cgroup_parent)
    rt.run_true()  # warm up
    return {"run_rm": statistics.median(rt.run_true() for _ in range(args.runs)),
            "create_start_rm": statistics.median(rt.create_start_rm() for _ in range(args.runs)),
            "concurrent": rt.concurrent(args.concurrent),
            "idle_kib": rt.idle_kib(args.idle)}


def remove_cgroups(name):
    """The cgroup `name` under every hierarchy, deepest first."""
    for h in os.listdir(CGROUP):
        for top in (os.path.join(CGROUP, h, name), os.path.join(CGROUP, name)):
            if not os.path.isdir(top):
                continue
            for d, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


def progress(name):
    print(f"measuring {name}...", file=sys.stderr, flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(here, "..", "build", "release"),
                    help="build directory holding bin/berthd, bin/berth-shim and bin/berth")
    ap.add_argument("--dockerd", default=default_dockerd())
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--concurrent", type=int, default=50)
    ap.add_argument("--idle", type=int, default=20)
    args = ap.parse_args()
    # Stopped with SIGTERM: still stop the daemons and remove the files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    berthd = os.path.join(args.build, "bin", "berthd")
    if not os.access(berthd, os.X_OK):
        sys.exit(f"{berthd} not found: build it (cmake --preset release; ninja berthd berth-shim)")

    results, notes = {}, []
    with scratch_dir("containers") as root:
        os.chmod(root, 0o755)
        cgroup_parent = "/" + os.path.basename(root)
        try:
            rootfs = os.path.join(root, "rootfs")
            busybox_rootfs(rootfs)
            tar = rootfs_tar(rootfs)
            daemons = peers(berthd, args.dockerd,
                            ("--storage-driver", "overlay", "--cgroup-parent", cgroup_parent),
                            ("--cgroup-parent", cgroup_parent + "-docker"))
            for peer in daemons:
                peer_root = os.path.join(root, peer.name)
                os.makedirs(peer_root)
                progress(peer.name)
                try:
                    results[peer.name] = measure_daemon(peer, peer_root, tar, args)
                except (RuntimeError, OSError) as e:
                    notes.append(f"{peer.name}: failed: {e}")
            if "docker" not in [p.name for p in daemons]:
                notes.append(f"docker: not installed ({args.dockerd})")
            for name in ("crun", "runc"):
                if shutil.which(name) is None:
                    notes.append(f"{name}: not installed")
                    continue
                rt_root = os.path.join(root, name)
                os.makedirs(rt_root)
                progress(name)
                try:
                    results[name] = measure_runtime(name, rt_root, rootfs, cgroup_parent + "-" + name,
                                                    args)
                except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                    notes.append(f"{name}: failed: {e}")
            if shutil.which("podman") is None:
                notes.append("podman: not installed")
        finally:
            for suffix in ("", "-docker", "-crun", "-runc"):
                remove_cgroups(cgroup_parent.lstrip("/") + suffix)

    print(f"busybox (static), no network; medians of {args.runs} runs; "
          f"{args.concurrent} concurrent starts; idle memory over {args.idle} containers")
    columns = ["berth", "crun", "runc", "docker"]
    ms = lambda key: {n: r[key] * 1000 for n, r in results.items() if key in r}
    rows = [("run --rm true (ms, median)", ms("run_rm"), "{:.1f}"),
            ("berth CLI run --rm true (ms, median)", ms("cli_run_rm"), "{:.1f}"),
            ("create + start + rm -f (ms, median)", ms("create_start_rm"), "{:.1f}"),
            (f"{args.concurrent} concurrent starts (ms)", ms("concurrent"), "{:.0f}"),
            ("idle memory per container (KiB)",
             {n: r["idle_kib"] for n, r in results.items()}, "{:.0f}")]
    print_table(columns, rows, [("berth", "crun"), ("berth", "runc"), ("berth", "docker")])
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
