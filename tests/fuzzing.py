"""A small mutation fuzzer for the harnesses in `tests.fuzz_targets` (run by `make fuzz`).

Inputs start from seeds and the stored corpus (`tests/fuzz_corpus/<target>/`), and are mutated:
bit flips, interesting bytes and integers, insertions, deletions, duplications, truncations,
splices of two inputs, and fresh random bytes; SDP is also mutated line by line, signalling
messages as JSON values. An input whose outcome (what parsed, or which refusal) is new joins the
working corpus. An exception the harness may not raise is a crash: its input is written to the
corpus directory as `crash-<hash>` and replayed by `tests/test_fuzz.py` from then on.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz_targets import RAW_TARGETS, TARGETS, Target

INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x03, 0x10, 0x14, 0x3F, 0x40, 0x7F, 0x80, 0xBE, 0xDE, 0xFF)
INTERESTING_WORDS = (0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF)
SDP_WORDS = [
    w.encode()
    for w in (
        "a=rtpmap:96 VP8/90000",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:97 apt=96",
        "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=extmap:15/sendonly urn:x",
        "a=ssrc:1 cname:x",
        "a=ssrc-group:FID 1 2",
        "a=ssrc-group:SIM",
        "a=candidate:1 1 udp 1 127.0.0.1 1 typ host",
        "a=candidate:1 1 tcp 1 ::1 9 typ srflx raddr 0.0.0.0 rport 0 tcptype active",
        "a=fingerprint:sha-256 AB",
        "a=fingerprint:md5 ",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "m=video 0 UDP/TLS/RTP/SAVPF",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "c=IN IP6 ::",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=rtcp-fb:96 nack pli",
        "a=rtcp-fb:* transport-cc",
        "a=mid:1",
        "a=mid:",
        "a=msid:- -",
        "a=group:BUNDLE 0 1 2",
        "a=setup:active",
        "a=setup:holdconn",
        "a=ice-ufrag:",
        "a=ice-pwd:x",
        "a=ice-options:trickle",
        "a=sctp-port:5000",
        "a=max-message-size:-1",
        "a=simulcast:send 1;2",
        "a=rid:1 send",
        "a=sendrecv",
        "a=recvonly",
        "a=inactive",
        "a=end-of-candidates",
        "-1",
        "0",
        "4294967296",
        "99999999999999999999999",
        "1e9",
        ":",
        "/",
        " ",
        "\x00",
        "\u00e9",
    )
]
FIELDS = (
    "participant_id",
    "sdp",
    "type",
    "screen_mid",
    "version",
    "kind",
    "muted",
    "phase",
    "room",
    "id",
    "granted",
    "raised",
    "h",
    "p",
    "r",
    "n",
    "iat",
    "exp",
)
STRINGS = (
    "",
    "offer",
    "answer",
    "audio",
    "video",
    "in_session",
    "witness_room",
    "main",
    "presiding_judge",
    "child_witness",
    "p_abc",
    "\ud800",
    "\x00",
    "é" * 7,
    "x" * 65,
    "x" * 70_000,
)
NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    1,
    2**31,
    2**63,
    10**100,
    0.5,
    -0.0,
    1e308,
    math.inf,
    -math.inf,
    math.nan,
    True,
    False,
)


def mutate_bytes(rng: random.Random, data: bytes, other: bytes) -> bytes:
    """One to four stacked byte-level mutations."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 4))):
        n = len(out)
        op = rng.randrange(12)
        if op == 0 and n:
            out[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            out[rng.randrange(n)] = rng.randrange(256)
        elif op == 2 and n:
            out[rng.randrange(n)] = rng.choice(INTERESTING_BYTES)
        elif op == 3:
            at = rng.randrange(n + 1)
            out[at:at] = rng.randbytes(rng.randrange(1, 9))
        elif op == 4 and n:
            start = rng.randrange(n)
            del out[start : start + rng.randrange(1, 17)]
        elif op == 5 and n:
            start = rng.randrange(n)
            chunk = out[start : start + rng.randrange(1, 33)]
            at = rng.randrange(n + 1)
            out[at:at] = chunk * rng.choice((1, 1, 2, 8))
        elif op == 6 and n:
            del out[rng.randrange(n) :]
        elif op == 7 and n >= 2:
            at = rng.randrange(n - 1)
            width = 4 if n - at >= 4 and rng.random() < 0.5 else 2
            value = rng.choice((*INTERESTING_WORDS, n, n // 4, rng.randrange(1 << 16)))
            out[at : at + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "big")
        elif op == 8 and other:
            cut = rng.randrange(n + 1)
            out = out[:cut] + other[rng.randrange(len(other) + 1) :]
        elif op == 9 and n:
            out[0] = rng.randrange(256)  # another first-byte class
        elif op == 10:
            return rng.randbytes(rng.choice((0, 1, 2, 4, 8, 12, 20, 64, 200, 1500, 1600)))
        elif op == 11 and n:
            at = rng.randrange(n + 1)
            out[at:at] = bytes([rng.choice(INTERESTING_BYTES)]) * rng.randrange(1, 5)
    return bytes(out)


def mutate_lines(rng: random.Random, data: bytes, other: bytes) -> bytes:
    """Line-level edits of a text format (SDP), or byte-level ones half of the time."""
    if rng.random() < 0.5:
        return mutate_bytes(rng, data, other)
    ending = b"\r\n" if b"\r\n" in data else b"\n"
    lines = data.split(ending)
    for _ in range(rng.choice((1, 1, 2, 3))):
        n = len(lines)
        op = rng.randrange(7)
        i = rng.randrange(n)
        if op == 0 and n > 1:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(n)])
        elif op == 2:
            lines.insert(i, rng.choice(SDP_WORDS))
        elif op == 3:
            j = rng.randrange(n)
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 4:
            words = lines[i].split(b" ")
            words[rng.randrange(len(words))] = rng.choice(SDP_WORDS).split(b" ")[-1]
            lines[i] = b" ".join(words)
        elif op == 5:
            lines[i] = mutate_bytes(rng, lines[i], rng.choice(SDP_WORDS))
        elif op == 6:
            donor = other.split(ending)
            lines[i:i] = donor[rng.randrange(len(donor)) :][: rng.randrange(1, 8)]
    return ending.join(lines)


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(6 if depth < 3 else 3)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice(NUMBERS) if rng.random() < 0.7 else rng.randrange(-(2**40), 2**40)
    if kind == 2:
        return rng.choice(STRINGS)
    if kind == 3:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 4:
        return {rng.choice(FIELDS): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}
    return rng.choice(STRINGS) + str(rng.randrange(100))


def mutate_value(rng: random.Random, value: Any) -> Any:
    """Replace, remove, add or wrap somewhere inside a JSON value."""
    if isinstance(value, dict) and value and rng.random() < 0.6:
        key = rng.choice(list(value))
        op = rng.randrange(4)
        changed = dict(value)
        if op == 0:
            del changed[key]
        elif op == 1:
            changed[rng.choice(FIELDS)] = random_json(rng)
        else:
            changed[key] = mutate_value(rng, changed[key])
        return changed
    if isinstance(value, list) and value and rng.random() < 0.5:
        changed_list = list(value)
        i = rng.randrange(len(changed_list))
        changed_list[i] = mutate_value(rng, changed_list[i])
        return changed_list
    op = rng.randrange(5)
    if op == 0:
        return [value]
    if op == 1:
        nested: Any = value
        for _ in range(rng.choice((10, 100, 500))):
            nested = [nested]
        return nested
    if op == 2:
        return {rng.choice(FIELDS): value}
    return random_json(rng)


def mutate_json(rng: random.Random, data: bytes, other: bytes) -> bytes:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return mutate_bytes(rng, data, other)
    if rng.random() < 0.05:
        return mutate_bytes(rng, data, other)  # some that are not JSON at all
    for _ in range(rng.choice((1, 1, 2, 3))):
        value = mutate_value(rng, value)
    try:
        return json.dumps(value).encode()
    except RecursionError:  # nested past what json (and so python-socketio) can carry
        return json.dumps(random_json(rng)).encode()


MUTATORS: dict[str, Callable[[random.Random, bytes, bytes], bytes]] = {
    "bytes": mutate_bytes,
    "lines": mutate_lines,
    "json": mutate_json,
}


@dataclass
class Crash:
    signature: str
    detail: str
    path: Path | None


@dataclass
class Report:
    target: str
    inputs: int = 0
    seconds: float = 0.0
    corpus: int = 0
    outcomes: int = 0
    crashes: list[Crash] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


def corpus_files(target: Target) -> list[Path]:
    folder = target.folder
    return sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []


def crash_signature(exc: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}", f"{type(exc).__name__}: {exc}"[:300]


def outcome(exc: BaseException) -> Hashable:
    text = "".join("#" if c.isdigit() else c for c in str(exc)[:60])
    return (type(exc).__name__, text)


def fuzz(
    target: Target, inputs: int, seed: int = 0, record: bool = False, max_corpus: int = 2000
) -> Report:
    """Run `inputs` inputs through the harness: the seeds and stored corpus first, then
    mutants. Crashes are collected (and written to the corpus if `record`)."""
    rng = random.Random(seed)
    mutate = MUTATORS[target.mutator]
    harness, allowed = target.harness, target.allowed
    corpus = [*target.seeds(), *(p.read_bytes() for p in corpus_files(target))]
    pending = list(corpus)
    seen: set[Hashable] = set()
    crashes: dict[str, Crash] = {}
    report = Report(target.name)
    started = time.perf_counter()
    for _ in range(inputs):
        data = pending.pop() if pending else mutate(rng, rng.choice(corpus), rng.choice(corpus))
        try:
            shape = harness(data)
        except allowed as exc:
            shape = outcome(exc)
        except Exception as exc:
            shape = outcome(exc)
            _crash(target, crashes, exc, data, record)
        if shape not in seen:
            seen.add(shape)
            if len(corpus) < max_corpus:
                corpus.append(data)
        report.inputs += 1
    report.seconds = time.perf_counter() - started
    report.corpus = len(corpus)
    report.outcomes = len(seen)
    report.crashes = list(crashes.values())
    return report


def _crash(
    target: Target, crashes: dict[str, Crash], exc: BaseException, data: bytes, record: bool
) -> None:
    signature, detail = crash_signature(exc)
    if signature in crashes:
        return
    path = None
    if record:
        folder = target.folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{hashlib.sha1(data).hexdigest()[:12]}.{target.suffix}"
        path.write_bytes(data)
    crashes[signature] = Crash(signature, detail, path)


def run_atheris(target: Target, inputs: int) -> None:
    """Coverage-guided fuzzing of one harness with atheris (libFuzzer), starting from the seeds
    and the stored corpus (copied to a scratch directory, which libFuzzer grows). A crash is
    written to the corpus directory as `atheris-crash-<hash>`. Does not return."""
    import atheris  # optional: pip install -e '.[fuzz]'

    allowed = target.allowed

    def one(data: bytes) -> None:
        with contextlib.suppress(*allowed):
            target.harness(data)

    scratch = Path(tempfile.mkdtemp(prefix=f"ecourt-atheris-{target.name}-"))
    for n, data in enumerate([*target.seeds(), *(p.read_bytes() for p in corpus_files(target))]):
        (scratch / f"input-{n}").write_bytes(data)
    max_len = 16384 if target.mutator == "lines" else 2048
    target.folder.mkdir(parents=True, exist_ok=True)
    atheris.instrument_all()
    atheris.Setup(
        [
            sys.argv[0],
            f"-runs={inputs}",
            f"-max_len={max_len}",
            "-print_final_stats=1",
            f"-artifact_prefix={target.folder}/atheris-crash-",
            str(scratch),
        ],
        one,
    )
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz every parser on the path into a hearing.")
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs per parser")
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated, of {', '.join(TARGETS)}; or the parsers as shipped, to find "
        f"what the boundaries must absorb: {', '.join(RAW_TARGETS)}",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-record", action="store_true", help="do not save crash inputs")
    parser.add_argument("--atheris", action="store_true", help="coverage-guided, one target")
    args = parser.parse_args(argv)
    known = TARGETS | RAW_TARGETS
    names = [n for n in args.targets.split(",") if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown targets: {unknown}; known: {list(known)}")
    if args.atheris:
        if len(names) != 1:
            parser.error("--atheris fuzzes one target at a time")
        run_atheris(known[names[0]], args.inputs)
    print(f"{'parser':<10} {'inputs':>10} {'seconds':>8} {'inputs/s':>9} {'outcomes':>8} crashes")
    failed = False
    for name in names:
        report = fuzz(known[name], args.inputs, seed=args.seed, record=not args.no_record)
        print(
            f"{report.target:<10} {report.inputs:>10,} {report.seconds:>8.1f} "
            f"{report.rate:>9,.0f} {report.outcomes:>8} {len(report.crashes)}",
            flush=True,
        )
        for crash in report.crashes:
            failed = True
            print(f"  CRASH {crash.signature}: {crash.detail}  -> {crash.path}", flush=True)
    return 1 if failed else 0
