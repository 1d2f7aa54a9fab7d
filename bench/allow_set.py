# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""What the court's allow-set costs on the forwarding path: the C fan-out with its per-packet
`permitted` check against the same code with the check taken out, built the same way and run
on the same workload, alternating, in one run.

    .venv/bin/python bench/allow_set.py [--sinks 16] [--packets 20000] [--rounds 3]
    .venv/bin/python bench/allow_set.py --instructions [--packets 2000]

Each run is a fresh process: one `GcmSender` on a loopback socket, `--sinks` permitted
`SinkCore`s, and `--packets` calls of `fan_out` with a 1,100-byte payload (a VP8 packet of the
forwarding bench), the receiving socket drained as it goes. It reports the process's CPU time
per forwarded packet per sink for each build, the medians, and the difference. The baseline
build exists only in a temporary directory: the project never builds the path without it.
With `--instructions` each run goes under valgrind's callgrind instead, which counts the
instructions executed (the same count whatever else the machine is doing): the figure to trust
on a busy machine, where CPU time moves by more than the check costs. Prints a table, then a
JSON summary as its last line.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import json
import re
import statistics
import subprocess
import sysconfig
import tempfile

CHECK = """    if (!self->permitted) {
        self->packets_withheld += 1; /* the court does not allow this pair: checked per packet */
        return 0;
    }
"""
SOURCES = ("_srtp_native.c", "_srtp_native_fanout.c", "_srtp_native.h")

RUN = r"""
import importlib.util, socket, sys, time
spec = importlib.util.spec_from_file_location("_srtp_native", sys.argv[1])
native = importlib.util.module_from_spec(spec)
spec.loader.exec_module(native)
sinks, packets = int(sys.argv[2]), int(sys.argv[3])
inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
inbox.bind(("127.0.0.1", 0))
inbox.setblocking(False)
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out.setblocking(False)
sender = native.GcmSender(bytes(32), bytes(12), out.fileno(), *inbox.getsockname())
cores = []
for n in range(sinks):
    core = native.SinkCore(sender=sender, ssrc=n + 1, payload_type=96, abs_send_time_id=3,
        audio_level_id=0, seq_offset=0, ts_offset=0, highest=-1, history=[None] * 512,
        packets_sent=0, packets_refused=0, octets_sent=0, last_timestamp=0, last_sent_at=0.0)
    if hasattr(core, "permitted"):
        core.permitted = True
    cores.append(core)
cores = tuple(cores)
payload = bytes(1100)
def drain():
    try:
        while True:
            inbox.recv(2048)
    except BlockingIOError:
        pass
start = time.process_time()
for seq in range(packets):
    native.fan_out(cores, seq & 0xFFFF, seq * 3000 & 0xFFFFFFFF, 0, payload, 0.0, b"\0\0\0", None)
    drain()
spent = time.process_time() - start
print(spent / max(1, packets * sinks) * 1e6)
"""


def build(directory: Path, with_check: bool) -> Path:
    for name in SOURCES:
        text = (ROOT / "media" / name).read_text()
        if name == "_srtp_native_fanout.c" and not with_check:
            if CHECK not in text:
                raise SystemExit("the allow-set check is not where this bench expects it")
            text = text.replace(CHECK, "")
        (directory / name).write_text(text)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    include = sysconfig.get_paths()["include"]
    module = directory / f"_srtp_native{suffix}"
    sources = [str(directory / n) for n in SOURCES if n.endswith(".c")]
    compile_ = ["cc", "-O2", "-shared", "-fPIC", f"-I{include}", f"-I{directory}", *sources]
    subprocess.run(
        [*compile_, "-lcrypto", "-o", str(module)],
        check=True,
    )
    return module


def run(module: Path, sinks: int, packets: int, instructions: bool = False) -> float:
    """CPU µs per packet per sink, or (under callgrind) instructions per packet per sink
    (with those of the same run with no packet at all taken off)."""
    command = [sys.executable, "-c", RUN, str(module), str(sinks)]
    if not instructions:
        result = subprocess.run(
            [*command, str(packets)], check=True, capture_output=True, text=True
        )
        return float(result.stdout.strip())
    counts = []
    for n in (0, packets):
        grind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        result = subprocess.run(
            [*grind, *command, str(max(n, 1) if n else 0)], capture_output=True, text=True
        )
        found = re.search(r"Collected : (\d+)", result.stderr)
        if found is None:
            raise SystemExit(f"callgrind gave no count: {result.stderr[-500:]}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / (packets * sinks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sinks", type=int, default=16)
    parser.add_argument("--packets", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instructions", action="store_true", help="count with callgrind")
    args = parser.parse_args()
    if args.instructions:
        args.rounds = 1  # the count does not vary
    with tempfile.TemporaryDirectory() as scratch:
        builds = {}
        for name, with_check in (("with the allow-set", True), ("without", False)):
            directory = Path(scratch) / name.replace(" ", "-")
            directory.mkdir()
            builds[name] = build(directory, with_check)
        figures: dict[str, list[float]] = {name: [] for name in builds}
        for _ in range(args.rounds):
            for name, module in builds.items():
                figures[name].append(run(module, args.sinks, args.packets, args.instructions))
    unit = "instructions" if args.instructions else "µs CPU"
    print(f"{'build':<20} {unit + ' per packet per sink (each round)':<44} median")
    medians = {}
    for name, values in figures.items():
        medians[name] = statistics.median(values)
        shown = ", ".join(f"{v:.3f}" for v in values)
        print(f"{name:<20} {shown:<44} {medians[name]:.3f}")
    extra = medians["with the allow-set"] / medians["without"] - 1
    print(f"the allow-set check adds {extra * 100:+.1f} % per forwarded packet per sink")
    summary = {"sinks": args.sinks, "unit": unit, "medians": medians, "extra": round(extra, 4)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
