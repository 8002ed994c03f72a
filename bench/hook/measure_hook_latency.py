#!/usr/bin/env python3
"""Hook latency: wall time of the whole overlay-hook process (exec to exit), p50/p99 over N invocations.

libvirt blocks on the hook, so process start-up counts. Three cases:
  foreign   a domain without OverlayKvm metadata: the hook answers locally, overlayd is not asked;
  member    a member domain at `prepare`: the hook POSTs to overlayd over a unix socket and gets "allow";
  down      a member domain at `prepare` with no overlayd: the hook fails closed (exit 2).
overlayd is stood in for by a minimal HTTP/1.1 responder on a unix socket (this script), so the figures are
the hook's own cost; overlayd's handler adds microseconds (it is in-memory, see docs/hook.md).
Besides wall time, the median CPU time (user + system) of the hook process: on a loaded machine wall-time
percentiles mostly measure the run queue, CPU time is what the hook itself costs.
Usage: measure_hook_latency.py HOOK_BINARY [N]
"""
import os, resource, socket, statistics, subprocess, sys, tempfile, threading, time

FOREIGN = b"<domain type='qemu'><name>bench</name><memory>65536</memory><os><type>hvm</type></os><devices/></domain>"
MEMBER = (b"<domain type='qemu'><name>bench</name><memory>65536</memory>"
          b"<metadata><overlay:domain xmlns:overlay='https://overlaykvm.org/xmlns/domain/1'>"
          b"<overlay:member group='web' app='frontend'/></overlay:domain></metadata>"
          b"<os><type>hvm</type></os><devices/></domain>")
ANSWER = b'{"allow":true,"reason":null}'


def serve(path, stop):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    srv.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(body) < length:
                body += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                         % (len(ANSWER), ANSWER))
    srv.close()


def run(hook, xml, env, n, expect):
    times, cpu = [], []
    for _ in range(n):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter_ns()
        p = subprocess.run([hook, "bench", "prepare", "begin", "-"], input=xml, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append((time.perf_counter_ns() - t0) / 1e6)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1e3)
        if p.returncode != expect:
            sys.exit(f"hook exited {p.returncode}, expected {expect}: {p.stderr.decode()}")
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * len(times))) - 1)]
    return statistics.median(times), p99, times[0], times[-1], statistics.median(cpu)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    hook = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    with tempfile.TemporaryDirectory(prefix="okvm-hookbench-") as tmp:
        sock = os.path.join(tmp, "overlayd.sock")
        stop = threading.Event()
        server = threading.Thread(target=serve, args=(sock, stop), daemon=True)
        server.start()
        while not os.path.exists(sock):
            time.sleep(0.01)
        base = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}  # libvirt runs hooks with a cleared environment
        if "DOTNET_ROOT" in os.environ:
            base["DOTNET_ROOT"] = os.environ["DOTNET_ROOT"]
        cases = [
            ("foreign", FOREIGN, dict(base, OVERLAYKVM_SOCKET=sock), 0),
            ("member", MEMBER, dict(base, OVERLAYKVM_SOCKET=sock), 0),
            ("down", MEMBER, dict(base, OVERLAYKVM_SOCKET=os.path.join(tmp, "absent.sock")), 2),
        ]
        print(f"hook: {hook}  ({os.path.getsize(hook)} bytes), {n} invocations per case")
        print(f"{'case':8} {'p50 ms':>8} {'p99 ms':>8} {'min ms':>8} {'max ms':>8} {'cpu ms':>8}  (load {os.getloadavg()[0]:.1f})")
        for name, xml, env, expect in cases:
            run(hook, xml, env, 3, expect)  # warm the page cache
            p50, p99, lo, hi, cpu = run(hook, xml, env, n, expect)
            print(f"{name:8} {p50:8.2f} {p99:8.2f} {lo:8.2f} {hi:8.2f} {cpu:8.2f}")
        stop.set()
        server.join()


if __name__ == "__main__":
    main()
