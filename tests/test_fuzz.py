"""Fuzzing in CI: every stored input (seeds and past crashes) replayed against the parser that
must absorb it, hypothesis properties for each parser, and a short pass of the mutation engine
(`make fuzz` runs a million inputs per parser)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_targets import CORPUS, RAW_TARGETS, TARGETS, Target
from tests.fuzzing import SDP_WORDS, fuzz

STORED = sorted(p for p in CORPUS.rglob("*") if p.is_file())


def boundary_for(path: Path) -> Target:
    """The ecourt parser that owns the corpus directory `path` is in."""
    return next(t for t in TARGETS.values() if t.folder == path.parent)


def test_every_raw_parser_shares_the_corpus_of_the_boundary_that_wraps_it() -> None:
    boundaries = {t.folder for t in TARGETS.values()}
    assert {t.folder for t in RAW_TARGETS.values()} <= boundaries
    assert {p.parent for p in STORED} <= boundaries


def test_the_corpus_holds_the_crashes_the_fuzzer_found() -> None:
    """The third-party parsers as shipped crash on these; they are kept to be replayed."""
    crashes = {p.parent.name for p in STORED if p.name.startswith("crash-")}
    assert {"stun", "rtp", "rtcp", "sdp", "token"} <= crashes


@pytest.mark.parametrize("path", STORED, ids=[f"{p.parent.name}/{p.name}" for p in STORED])
def test_a_stored_input_is_parsed_or_refused_with_the_documented_error(path: Path) -> None:
    target = boundary_for(path)
    with contextlib.suppress(*target.allowed):
        target.harness(path.read_bytes())


def refuses_cleanly(target: Target, data: bytes) -> None:
    with contextlib.suppress(*target.allowed):
        target.harness(data)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def edited(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """A seed with one slice replaced by other bytes, or bytes of any kind."""

    @st.composite
    def edit(draw: st.DrawFn) -> bytes:
        seed = draw(st.sampled_from(seeds))
        start = draw(st.integers(0, len(seed)))
        end = draw(st.integers(start, len(seed)))
        return seed[:start] + draw(st.binary(max_size=24)) + seed[end:]

    return st.one_of(edit(), st.binary(max_size=1600))


@pytest.mark.parametrize("name", ["stun", "rtp", "rtcp", "token", "exhibit"])
def test_a_binary_parser_only_raises_its_documented_error(name: str) -> None:
    target = TARGETS[name]

    @FUZZ
    @given(edited(target.seeds()))
    def check(data: bytes) -> None:
        refuses_cleanly(target, data)

    check()


@FUZZ
@given(
    st.lists(
        st.one_of(st.sampled_from(SDP_WORDS), st.text(max_size=40).map(str.encode)), max_size=30
    ),
    st.sampled_from(TARGETS["sdp"].seeds()),
    st.integers(0, 60),
)
def test_the_sdp_parser_only_refuses_with_a_media_error(
    lines: list[bytes], seed: bytes, at: int
) -> None:
    ending = b"\r\n"
    kept = seed.split(ending)
    refuses_cleanly(TARGETS["sdp"], ending.join(kept[:at] + lines + kept[at:]))


JSON: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=80)
    | st.sampled_from(["offer", "answer", "audio", "video", "in_session", "witness_room"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["participant_id", "sdp", "type", "version", "kind", "room", "id"])
            | st.text(max_size=10),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@FUZZ
@given(JSON)
def test_the_signalling_parsers_only_refuse_with_bad_request(payload: Any) -> None:
    refuses_cleanly(TARGETS["signaling"], json.dumps(payload).encode())


@pytest.mark.parametrize("name", list(TARGETS))
def test_a_short_pass_of_the_mutation_engine_finds_no_crash(name: str) -> None:
    report = fuzz(TARGETS[name], inputs=3000, seed=20260101)
    assert report.inputs == 3000
    assert report.outcomes > 1, "the engine reached more than one outcome"
    assert report.crashes == [], [c.detail for c in report.crashes]


def test_the_engine_catches_and_records_a_crash(tmp_path: Path) -> None:
    """The control: a harness that breaks on some inputs is caught by a short pass."""

    def fragile(data: bytes) -> int:
        if len(data) > 3 and data[3] == 0xFF:
            raise IndexError("a bug")
        return len(data) % 3

    target = Target("fragile", fragile, (ValueError,), lambda: [b"\x00" * 8], corpus=str(tmp_path))
    report = fuzz(target, inputs=3000, seed=1, record=True)
    assert [c.signature.split(" at ")[0] for c in report.crashes] == ["IndexError"]
    saved = report.crashes[0].path
    assert saved is not None and saved.parent == tmp_path and saved.read_bytes()[3] == 0xFF
