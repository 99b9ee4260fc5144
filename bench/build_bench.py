#!/usr/bin/env python3
"""Build benchmark: a three-step build (RUN, COPY, RUN), uncached and fully
cached, berthd against dockerd (its classic builder and BuildKit).

The context is a Dockerfile

    FROM berth-bench/busybox:latest
    RUN echo one > /one
    COPY payload /payload
    RUN cat /payload > /copy

and --payload-kib KiB of random data as `payload`. The FROM image is the
static busybox of container_bench.py (Debian's busybox-static), imported
through the Engine API into each daemon: nothing comes from the internet.

Every build goes through the Engine API as the docker CLI drives it: Debian's
docker 20.10 CLI (/usr/bin/docker, --docker-cli) runs `build -q --network
none -t <tag> <context>` with
  - DOCKER_BUILDKIT=0 against berthd ("berth") and dockerd ("docker", the
    classic builder): the context as a tar to POST /build;
  - DOCKER_BUILDKIT=1 against dockerd ("buildkit", built into dockerd and
    the CLI since 18.09): a session over /session and POST /build?version=2;
  - and the berth CLI itself (`berth build -q ...`, "berth-cli") against
    berthd, when the berth CLI next to berthd has a build command.
The CLI process is in every time (as it is for a user). Uncached: each run
with --no-cache, a fresh tag, removed again afterwards (not timed) so the
disk stays bounded. Cached: the unchanged context rebuilt after a warm-up
build; every cached rebuild must give the warm-up's image ID. Rounds
alternate the variants so drift on a shared machine hits all alike. A variant
that fails, or whose build takes longer than --timeout, is dropped with a
note (e.g. BuildKit missing something on this machine).
Prints medians, min and max side by side with the ratios berth/docker and
berth/buildkit.

Both daemons run with networking off: dockerd with --bridge=none
--iptables=false (benchlib.peers), berthd with --bridge none --ip-forward
false, and every build's RUN steps with --network none, so nothing touches
the host's bridges or firewall.

Run as root: python3 bench/build_bench.py [--build build/release] [--runs 10].
Every process it starts is stopped by PID; files (daemon roots, the context,
the CLIs' config directories) live in /tmp/berth-test-bench-build-* and
cgroups under /berth-test-bench-build-*, all removed. Never run from the test
suite.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ next to the sources
from benchlib import Peer, UnixHTTPConnection, default_dockerd, peers, print_table, scratch_dir
from container_bench import IMAGE, busybox_rootfs, import_image, remove_cgroups, rootfs_tar

DOCKERFILE = (f"FROM {IMAGE}\nRUN echo one > /one\nCOPY payload /payload\n"
              "RUN cat /payload > /copy\n")


def make_context(path, payload_kib):
    os.makedirs(path)
    with open(os.path.join(path, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    with open(os.path.join(path, "payload"), "wb") as f:
        f.write(os.urandom(payload_kib << 10))


class Variant:
    """One way of building: a CLI with its environment against a daemon."""

    def __init__(self, name, cli, env, sock):
        self.name, self.cli, self.env, self.sock = name, cli, env, sock

    def build(self, context, tag, no_cache, timeout):
        """Returns (seconds, image ID printed by -q)."""
        argv = [self.cli, "-H", "unix://" + self.sock, "build", "-q", "--network", "none",
                *(["--no-cache"] if no_cache else []), "-t", tag, context]
        t0 = time.perf_counter()
        r = subprocess.run(argv, env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        elapsed = time.perf_counter() - t0
        image_id = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
        if r.returncode != 0 or not image_id:
            raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: "
                               f"{(r.stderr or r.stdout).strip()[-600:]}")
        return elapsed, image_id


def rmi(sock, ref):
    """DELETE /images/<ref>: the tag and the images only it held."""
    c = UnixHTTPConnection(sock, timeout=120)
    c.request("DELETE", "/v1.41/images/" + urllib.parse.quote(ref, safe="") + "?force=1")
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status >= 300:
        raise RuntimeError(f"rmi {ref}: HTTP {r.status} {body[:200]!r}")


def unmount_under(root):
    """Unmounts whatever is still mounted below root, deepest first: a
    daemon killed in the middle of a build leaves its rootfs mounts behind,
    and scratch_dir's `umount -R` only covers root itself being a mount."""
    with open("/proc/self/mounts") as f:
        points = [line.split()[1].encode().decode("unicode_escape") for line in f]
    for point in sorted((p for p in points if p.startswith(root + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL)


def cli_env(config_dir, buildkit):
    """The environment of a CLI: its own config directory (nothing read from
    or written to root's home), no inherited daemon address."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DOCKER_", "BERTH_"))}
    env.update({"DOCKER_CONFIG": config_dir, "BERTH_CONFIG": config_dir,
                "DOCKER_BUILDKIT": "1" if buildkit else "0"})
    return env


def has_build_command(cli):
    """Whether the berth CLI has a build command (its help names it)."""
    r = subprocess.run([cli, "build", "--help"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    return r.returncode == 0 and "berth build" in r.stdout + r.stderr


def progress(text):
    print(text, file=sys.stderr, flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(here, "..", "build", "release"),
                    help="build directory holding bin/berthd, bin/berth-shim and bin/berth")
    ap.add_argument("--dockerd", default=default_dockerd())
    ap.add_argument("--docker-cli", default="/usr/bin/docker",
                    help="the docker CLI driving the builds (Debian's docker.io, 20.10)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--payload-kib", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds one build may take before its variant is dropped")
    args = ap.parse_args()
    # Stopped with SIGTERM: still stop the daemons and remove the files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    berthd = os.path.join(args.build, "bin", "berthd")
    if not os.access(berthd, os.X_OK):
        sys.exit(f"{berthd} not found: build it (cmake --preset release; ninja berthd berth-shim)")
    berth_cli = os.path.join(args.build, "bin", "berth")

    times = {}  # variant -> {"uncached": [...], "cached": [...]}
    notes = []
    with scratch_dir("build") as root:
        os.chmod(root, 0o755)
        cgroup_parent = "/" + os.path.basename(root)
        running = []
        try:
            rootfs = os.path.join(root, "rootfs")
            busybox_rootfs(rootfs)
            tar = rootfs_tar(rootfs)
            context = os.path.join(root, "context")
            make_context(context, args.payload_kib)
            config_dir = os.path.join(root, "cli-config")
            os.makedirs(config_dir)
            with open(os.path.join(root, "berthd.json"), "w") as f:
                f.write("{}\n")  # not /etc/berth/daemon.json

            socks = {}
            for peer in peers(berthd, args.dockerd,
                              ("--storage-driver", "overlay", "--cgroup-parent", cgroup_parent,
                               "--bridge", "none", "--ip-forward", "false",
                               "--config-file", os.path.join(root, "berthd.json")),
                              ("--cgroup-parent", cgroup_parent + "-docker")):
                peer_root = os.path.join(root, peer.name)
                os.makedirs(peer_root)
                try:
                    proc, sock, _ = peer.start(peer_root)
                except RuntimeError as e:
                    notes.append(f"{peer.name}: failed to start: {e}")
                    continue
                running.append(proc)
                import_image(sock, tar)
                socks[peer.name] = sock
            if not os.path.exists(args.dockerd):
                notes.append(f"docker: not installed ({args.dockerd})")

            variants = []
            if not os.access(args.docker_cli, os.X_OK):
                notes.append(f"docker CLI: not installed ({args.docker_cli})")
            else:
                if "berth" in socks:
                    variants.append(Variant("berth", args.docker_cli,
                                            cli_env(config_dir, False), socks["berth"]))
                if "docker" in socks:
                    variants.append(Variant("docker", args.docker_cli,
                                            cli_env(config_dir, False), socks["docker"]))
                    variants.append(Variant("buildkit", args.docker_cli,
                                            cli_env(config_dir, True), socks["docker"]))
            if "berth" in socks:
                if not os.access(berth_cli, os.X_OK):
                    notes.append(f"berth-cli: not built ({berth_cli})")
                elif not has_build_command(berth_cli):
                    notes.append("berth-cli: this berth CLI has no build command")
                else:
                    variants.append(Variant("berth-cli", berth_cli, cli_env(config_dir, False),
                                            socks["berth"]))

            def attempt(v, phase, tag, no_cache):
                """One timed build; a failure drops the variant with a note."""
                try:
                    elapsed, image_id = v.build(context, tag, no_cache, args.timeout)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    notes.append(f"{v.name}: {phase} build failed, variant dropped: {e}")
                    variants.remove(v)
                    times.pop(v.name, None)
                    return None
                if phase != "warm-up":
                    times.setdefault(v.name, {"uncached": [], "cached": []})[phase].append(elapsed)
                return image_id

            for run in range(args.runs):
                progress(f"uncached round {run + 1}/{args.runs}...")
                for v in list(variants):
                    tag = f"bench-{v.name}:{run}"
                    if attempt(v, "uncached", tag, True) is not None:
                        try:
                            rmi(v.sock, tag)
                        except (RuntimeError, OSError) as e:
                            notes.append(f"{v.name}: {e} (left in place)")

            progress("cached: warm-up builds...")
            warm = {}
            for v in list(variants):
                image_id = attempt(v, "warm-up", f"bench-{v.name}:cached", False)
                if image_id is not None:
                    warm[v.name] = image_id
            misses = {}
            for run in range(args.runs):
                progress(f"cached round {run + 1}/{args.runs}...")
                for v in list(variants):
                    image_id = attempt(v, "cached", f"bench-{v.name}:cached", False)
                    if image_id is not None and image_id != warm[v.name]:
                        misses[v.name] = misses.get(v.name, 0) + 1
            for name, n in misses.items():
                notes.append(f"{name}: {n} of {args.runs} cached rebuilds gave another image ID "
                             "than the warm-up (cache not used)")
        finally:
            for proc in reversed(running):
                Peer.stop(proc)
            unmount_under(root)
            for suffix in ("", "-docker"):
                remove_cgroups(cgroup_parent.lstrip("/") + suffix)

    print(f"3-step build (RUN, COPY {args.payload_kib} KiB, RUN) FROM a static busybox, "
          f"no network; {args.runs} runs each, the CLI process included")
    columns = ["berth", "berth-cli", "docker", "buildkit"]

    def stat(phase, fn, scale):
        return {n: fn(t[phase]) * scale for n, t in times.items() if t[phase]}

    rows = [("uncached build (s, median)", stat("uncached", statistics.median, 1), "{:.3f}"),
            ("uncached build (s, min)", stat("uncached", min, 1), "{:.3f}"),
            ("uncached build (s, max)", stat("uncached", max, 1), "{:.3f}"),
            ("cached rebuild (ms, median)", stat("cached", statistics.median, 1000), "{:.1f}"),
            ("cached rebuild (ms, min)", stat("cached", min, 1000), "{:.1f}"),
            ("cached rebuild (ms, max)", stat("cached", max, 1000), "{:.1f}")]
    print_table(columns, rows, [("berth", "docker"), ("berth", "buildkit")])
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
