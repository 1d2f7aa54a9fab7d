"""The tamper suite's runner: apply each mutation of `tests/tamper_mutations.py` to a recorded
hearing (restored after each), ask the strong verifier and the export, and tally what each
said. Used by `tests/test_recording_tamper.py` and `make test-tamper` (`tools/tamper.py`)."""

from __future__ import annotations

import io
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from recording.errors import RecordingError
from tests.tamper_mutations import MAKERS, Mutation, Recorded


@dataclass
class Tally:
    """What verify and export said, per class of mutation."""

    verify: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    export: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    escaped: list[str] = field(default_factory=list)
    """Mutations that verify did not call invalid, or that export did not refuse."""
    crashes: list[str] = field(default_factory=list)
    """Unhandled exceptions (anything but a refusal with a code)."""
    unchanged: int = 0

    @property
    def runs(self) -> int:
        return sum(sum(c.values()) for c in self.verify.values())

    def summary(self) -> str:
        width = max([len(k) for k in self.verify] + [20])
        lines = [
            f"{'mutation class':<{width}}  {'runs':>5}  verify (first code)       export",
        ]
        for kind in sorted(self.verify):
            v, e = self.verify[kind], self.export[kind]
            said = ", ".join(f"{s} {n}" for s, n in sorted(v.items()))
            refused = ", ".join(f"{s} {n}" for s, n in sorted(e.items()))
            lines.append(f"{kind:<{width}}  {sum(v.values()):>5}  {said:<25} {refused}")
        verify_all = Counter[str]()
        export_all = Counter[str]()
        for c in self.verify.values():
            for status, n in c.items():
                verify_all[status.split()[0]] += n
        for c in self.export.values():
            export_all.update(c)
        lines += [
            "",
            f"mutations run: {self.runs} (and {self.unchanged} drawn that changed nothing)",
            "verify: " + ", ".join(f"{s} {n}" for s, n in sorted(verify_all.items())),
            "export: " + ", ".join(f"{s} {n}" for s, n in sorted(export_all.items())),
            f"accepted by verify or exported: {len(self.escaped)}",
            f"unhandled exceptions: {len(self.crashes)}",
        ]
        lines += [f"  ESCAPED {x}" for x in self.escaped[:20]]
        lines += [f"  CRASH {x}" for x in self.crashes[:20]]
        return "\n".join(lines)


def _snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _restore(root: Path, snapshot: dict[Path, bytes]) -> None:
    for path in [p for p in root.rglob("*") if p.is_file()]:
        if path not in snapshot:
            path.unlink()
    for path, data in snapshot.items():
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


def run(rec: Recorded, mutations: list[Mutation]) -> Tally:
    """Apply each mutation to the recording (restored after each), verify it in the strong
    form and try to export it; tally what each said."""
    tally = Tally()
    root = rec.paths.root
    snapshot = _snapshot(root)
    for mutation in mutations:
        try:
            mutation.apply(rec.paths)
        except Exception as exc:  # a mutation that cannot apply here is not a run
            _restore(root, snapshot)
            tally.crashes.append(f"{mutation.kind}: applying it failed: {exc!r}")
            continue
        try:
            if _snapshot(root) == snapshot:
                tally.unchanged += 1
                continue
            _judge(rec, mutation, tally)
        finally:
            _restore(root, snapshot)
    return tally


def _judge(rec: Recorded, mutation: Mutation, tally: Tally) -> None:
    kind = mutation.kind
    try:
        report = rec.bench.verify(rec.recording_id)
        status = report.status
        if status == "invalid":
            codes = [p.code for p in report.problems]
            status = f"invalid {codes[0]}" if all(codes) else "invalid without a code"
    except Exception as exc:
        tally.crashes.append(f"{kind}: verify raised {exc!r}")
        status = "crashed"
    tally.verify[kind][status] += 1
    try:
        rec.bench.export(rec.recording_id, io.BytesIO())
        outcome = "exported"
    except RecordingError as exc:
        outcome = f"refused {exc.code}"
    except Exception as exc:
        tally.crashes.append(f"{kind}: export raised {exc!r}")
        outcome = "crashed"
    tally.export[kind][outcome] += 1
    if not status.startswith("invalid ") or outcome == "exported":
        tally.escaped.append(f"{kind}: verify {status}, export {outcome}")


def draw(rec: Recorded, count: int, seed: int) -> list[Mutation]:
    """`count` mutations: every class at least once, the rest drawn at random."""
    rng = random.Random(seed)
    out = [maker(rec, rng) for maker in MAKERS]
    while len(out) < count:
        out.append(rng.choice(MAKERS)(rec, rng))
    return out
