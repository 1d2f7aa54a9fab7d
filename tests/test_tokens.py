"""Join tokens: bound to one participant of one hearing, refused with a reason otherwise."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math

import pytest

from hearing import Participant, Role
from security import Secret, TokenRefusal, TokenRefused, TokenSigner
from security.tokens import MAX_TTL_SECONDS

KEY = Secret(b"k" * 32)
WITNESS = Participant("p_witness", "h_hearing1", Role.WITNESS, "Ana López")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(claims: object, key: bytes = KEY.value) -> str:
    """A v1 token over arbitrary claims, signed the way the format says."""
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(key, f"v1.{body}".encode(), hashlib.sha256).digest()
    return f"v1.{body}.{b64(mac)}"


def refusal(signer: TokenSigner, token: object, hearing_id: str | None = None) -> TokenRefusal:
    with pytest.raises(TokenRefused) as refused:
        signer.verify(token, hearing_id)  # type: ignore[arg-type]
    assert refused.value.code == refused.value.reason.value
    return refused.value.reason


def test_an_issued_token_verifies_to_the_same_participant() -> None:
    clock = Clock()
    signer = TokenSigner(KEY, clock=clock)
    token, grant = signer.issue(WITNESS, ttl_seconds=600)
    verified = signer.verify(token, "h_hearing1")
    assert verified == grant
    assert verified.participant == WITNESS
    assert verified.expires_at - verified.issued_at == 600


def test_a_token_is_valid_until_its_last_second() -> None:
    clock = Clock()
    signer = TokenSigner(KEY, clock=clock)
    token, grant = signer.issue(WITNESS, ttl_seconds=60)
    clock.now = grant.expires_at - 0.001
    assert signer.verify(token).participant == WITNESS


def test_an_expired_token_is_refused_with_token_expired() -> None:
    clock = Clock()
    signer = TokenSigner(KEY, clock=clock)
    token, grant = signer.issue(WITNESS, ttl_seconds=60)
    clock.now = grant.expires_at
    assert refusal(signer, token) is TokenRefusal.EXPIRED


def test_a_token_signed_with_another_key_is_refused_as_forged() -> None:
    token, _ = TokenSigner(Secret(b"o" * 32)).issue(WITNESS, ttl_seconds=60)
    assert refusal(TokenSigner(KEY), token) is TokenRefusal.FORGED


def test_a_token_whose_claims_were_changed_is_refused_as_forged() -> None:
    signer = TokenSigner(KEY)
    token, _ = signer.issue(WITNESS, ttl_seconds=60)
    prefix, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["r"] = Role.PRESIDING_JUDGE.value
    forged = f"{prefix}.{b64(json.dumps(claims).encode())}.{signature}"
    assert refusal(signer, forged) is TokenRefusal.FORGED


def test_a_token_for_another_hearing_is_refused_with_token_wrong_hearing() -> None:
    signer = TokenSigner(KEY)
    token, _ = signer.issue(WITNESS, ttl_seconds=60)
    assert refusal(signer, token, "h_hearing2") is TokenRefusal.WRONG_HEARING


@pytest.mark.parametrize(
    "token",
    ["", "v1", "v1.abc", "v2.abc.def", "v1.a.b.c", "x" * 5000, None, 42],
)
def test_something_that_is_not_a_token_is_refused_as_malformed(token: object) -> None:
    assert refusal(TokenSigner(KEY), token) is TokenRefusal.MALFORMED


@pytest.mark.parametrize(
    "claims",
    [
        {},
        [],
        {"h": "h_hearing1", "p": "p_witness", "r": "king", "n": "A", "iat": 1, "exp": 2},
        {"h": "h_hearing1", "p": "p_witness", "r": "witness", "n": "  A", "iat": 1, "exp": 2},
        {"h": "h_hearing1", "p": "p_witness", "r": "witness", "n": "A", "iat": 5, "exp": 5},
        {"h": "h_hearing1", "p": "p_witness", "r": "witness", "n": "A", "iat": 1, "exp": "x"},
        # found by the fuzzer (tests/fuzz_corpus/token): int() of an infinite float overflows
        {"h": "h_hearing1", "p": "p_witness", "r": "witness", "n": "A", "iat": 1, "exp": -math.inf},
        {"h": "h_hearing1", "p": "p_witness", "r": "witness", "n": "A", "iat": math.nan, "exp": 2},
    ],
)
def test_well_signed_but_invalid_claims_are_refused_as_malformed(claims: object) -> None:
    assert refusal(TokenSigner(KEY), signed(claims)) is TokenRefusal.MALFORMED


@pytest.mark.parametrize("ttl", [0, -1, MAX_TTL_SECONDS + 1])
def test_a_lifetime_out_of_range_is_not_issued(ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        TokenSigner(KEY).issue(WITNESS, ttl_seconds=ttl)


def test_a_key_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenSigner(Secret(b"k" * 31))


def test_the_key_never_prints() -> None:
    assert "k" * 32 not in repr(KEY)
    assert "k" * 32 not in str(KEY)
    assert "k" * 32 not in repr(TokenSigner(KEY).__dict__)
