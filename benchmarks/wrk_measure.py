"""Measuring from outside a process: wrk runs, CPU and memory from /proc, the bot's
GC pause histogram from /metrics. Used by `bench_wrk`.

Why /proc and not the processes' own numbers: the bot is measured as it runs in
production, without instrumentation; everything here reads what Linux keeps anyway.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

LUA = Path(__file__).resolve().parent / "wrk_forms.lua"
TICK = os.sysconf("SC_CLK_TCK")
REPO_ROOT = LUA.parent.parent


def ensure_wrk() -> str:
    """wrk from Debian's package; installed here when missing (needs root and apt)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get install -y wrk", flush=True)
    try:
        result = subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, text=True)
    except OSError as exc:
        raise SystemExit(
            f"FAILED to install wrk (apt-get not runnable: {exc}); install it and rerun"
        ) from None
    found = shutil.which("wrk")
    if result.returncode != 0 or not found:
        tail = (result.stderr or result.stdout)[-800:]
        raise SystemExit(
            f"FAILED to install wrk: apt-get exited {result.returncode}:\n{tail}\n"
            "Run `apt-get update && apt-get install -y wrk` as root and rerun."
        )
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (fields 14 and 15 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU of a process's main thread (the event loop) and of all its other threads (the
    database driver's, the thread pools'), from /proc/PID/task/TID/stat."""
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        if task.name == str(pid):
            main += cpu
        else:
            others += cpu
    return main, others


def rss_mb(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (peak) in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def machine_cpu() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy (user, nice, system, irq, softirq: every
    process and the kernel, all cores) and those the hypervisor stole, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq) / TICK, steal / TICK


def children_cpu() -> float:
    """CPU of reaped children: the only child that ends during a wrk run is wrk."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    """CPU of this process: the Mattermost simulator and, in the mixed runs, the overviews
    fired at the bot. It shares the machine's cores with wrk and the bot."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    """One wrk run against one target."""

    label: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_s: float  # the target process's CPU over the run
    gen_cpu: float  # wrk's CPU seconds per wall second (1.0 = one core)
    harness_cpu: float = 0.0  # this process's (simulator's) CPU seconds per wall second
    via_response_url: int = 0
    settle_s: float = 0.0  # how long the target kept working after wrk stopped
    # the rest of the machine per wall second: busy CPU that is neither the target's, nor
    # wrk's, nor this process's (PostgreSQL, the chart worker, the kernel), and stolen CPU
    other_cpu: float = 0.0
    steal: float = 0.0
    seq: int = 0  # its place in the run's order: the baselines on either side are the nearest

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else 0.0


async def run_wrk(
    wrk: str, label: str, url: str, forms: Path, token: str, *, server_pid: int,
    duration: float, connections: int = 64, script: Path = LUA,
) -> Run:  # fmt: skip
    """`wrk -t1 -cN -dDs --latency` with the rotating-forms script; the result is the JSON
    line the script's done() prints. `script` takes `forms` and `token` after `--`."""
    args = [
        wrk, "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "10s",
        "-s", str(script), url, "--", str(forms), token,
    ]  # fmt: skip
    cpu0, gen0, own0, wall0 = cpu_seconds(server_pid), children_cpu(), own_cpu(), time.perf_counter()
    busy0, steal0 = machine_cpu()
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    wall = time.perf_counter() - wall0
    cpu1, gen1, own1 = cpu_seconds(server_pid), children_cpu(), own_cpu()
    busy1, steal1 = machine_cpu()
    line = next((ln for ln in out.decode().splitlines() if ln.startswith('{"wrk"')), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(
            f"FAILED: wrk exited {proc.returncode}: {err.decode()[-1000:]} {out.decode()[-1000:]}"
        )
    data = json.loads(line)
    errors = sum(int(data[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return Run(
        label=label,
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
        max_ms=data["max_us"] / 1e3,
        server_cpu_s=cpu1 - cpu0,
        gen_cpu=(gen1 - gen0) / wall,
        harness_cpu=(own1 - own0) / wall,
        other_cpu=max(0.0, ((busy1 - busy0) - (cpu1 - cpu0) - (gen1 - gen0) - (own1 - own0)) / wall),
        steal=(steal1 - steal0) / wall,
    )


async def settle(pid: int, replies: Callable[[], int], *, timeout: float = 60.0) -> float:
    """Wait until the process is idle (under 4 % of a core for 0.5 s) and no reply went out
    via response_url in that time; the seconds it took."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        cpu, sent = cpu_seconds(pid), replies()
        await asyncio.sleep(0.5)
        if cpu_seconds(pid) - cpu < 0.02 and replies() == sent:
            break
    return time.perf_counter() - start


GC_LINE = re.compile(r"^(?P<name>\w*gc\w*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$", re.IGNORECASE)


async def gc_metrics(bot_url: str) -> dict[str, float] | None:
    """Every sample of a metric with `gc` in its name from the bot's /metrics (another
    change adds a `gc.callbacks` pause histogram); None when there is none."""
    async with aiohttp.ClientSession() as session, session.get(f"{bot_url}/metrics") as resp:
        body = await resp.text()
    samples = {}
    for line in body.splitlines():
        match = GC_LINE.match(line)
        if match and not line.startswith("#"):
            key = match["name"] + (f"{{{match['labels']}}}" if match["labels"] else "")
            samples[key] = float(match["value"])
    return samples or None


def gc_delta(before: dict[str, float] | None, after: dict[str, float] | None) -> dict[str, float]:
    """Each gc sample's change over the measured window (after - before)."""
    base = before or {}
    return {key: value - base.get(key, 0.0) for key, value in (after or {}).items()}


def gc_report(before: dict[str, float] | None, after: dict[str, float] | None) -> list[str]:
    """The histogram's buckets over the measured window (after - before)."""
    if after is None:
        return ["GC pause histogram: not exposed in /metrics (no metric with 'gc' in its name)"]
    lines = ["GC metrics from /metrics, change over the measured runs (cumulative in brackets):"]
    for key, change in gc_delta(before, after).items():
        lines.append(f"  {key} {change:g} ({after[key]:g})")
    return lines


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def spawn(args: list[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as sink:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            *args,
            env=env,
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=sink,
        )


async def stop(proc: asyncio.subprocess.Process) -> float:
    """SIGTERM, and the seconds until the process exited."""
    if proc.returncode is not None:
        return 0.0
    start = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    return time.perf_counter() - start


async def wait_http(url: str, *, timeout: float, ok: int = 200) -> float:
    """Poll a URL every 10 ms until it answers `ok`; the seconds it took."""
    start = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
        while True:
            try:
                async with session.get(url) as resp:
                    if resp.status == ok:
                        return time.perf_counter() - start
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"FAILED: {url} did not answer {ok} within {timeout} s")
            await asyncio.sleep(0.01)
