"""Witness anonymity orders as the court's rules see them: who receives the masked form, who
always receives the natural one, what is refused, and what the audit and the roster show."""

from __future__ import annotations

import pytest

from hearing import COURTROOM, HearingRules, InvalidHearing, MediaKind, Phase, Role, Seat
from hearing.anonymity import (
    THE_COURT,
    AnonymityOrder,
    Audience,
    MasksTheCourt,
    VoiceKey,
    make_order,
    name_for,
)
from hearing.matrix import Visibility, visible

WITNESS = "p_witness1"
RULES = HearingRules(public=True)


def seat(role: Role, pid: str | None = None) -> Seat:
    return Seat(pid or f"p_{role.value}", role, COURTROOM)


def order(**overrides: object) -> AnonymityOrder:
    fields: dict[str, object] = {
        "pseudonym": "Witness A",
        "screening": "pixelate",
        "voice": "modulated",
        "masked_from": ["accused", "parties", "lawyers", "observers", "public_stream"],
    }
    fields |= overrides
    return make_order(WITNESS, Role.WITNESS, **fields)  # type: ignore[arg-type]


def verdict(viewer: Role, kind: MediaKind, made: AnonymityOrder | None) -> Visibility:
    orders = {} if made is None else {WITNESS: made}
    return visible(seat(viewer), seat(Role.WITNESS, WITNESS), kind, Phase.IN_SESSION, RULES, orders)


@pytest.mark.parametrize("viewer", [Role.ACCUSED, Role.DEFENCE_COUNSEL, Role.OBSERVER])
def test_the_named_viewers_receive_the_masked_image_and_voice(viewer: Role) -> None:
    made = order()
    assert verdict(viewer, MediaKind.VIDEO, made) is Visibility.MASKED
    assert verdict(viewer, MediaKind.AUDIO, made) is Visibility.MASKED
    assert verdict(viewer, MediaKind.SCREEN, made) is Visibility.MASKED


@pytest.mark.parametrize("viewer", sorted(THE_COURT))
def test_the_judges_and_the_clerk_always_receive_the_natural_form(viewer: Role) -> None:
    assert verdict(viewer, MediaKind.VIDEO, order()) is Visibility.ALLOW
    assert verdict(viewer, MediaKind.AUDIO, order()) is Visibility.ALLOW


def test_a_viewer_the_order_does_not_name_receives_the_natural_form() -> None:
    made = order(masked_from=["accused"])
    assert verdict(Role.DEFENCE_COUNSEL, MediaKind.VIDEO, made) is Visibility.ALLOW
    assert verdict(Role.PROSECUTOR, MediaKind.VIDEO, made) is Visibility.ALLOW
    assert verdict(Role.ACCUSED, MediaKind.VIDEO, made) is Visibility.MASKED


def test_a_natural_voice_or_no_screening_leaves_that_kind_natural() -> None:
    made = order(voice="natural", screening="none")
    assert verdict(Role.ACCUSED, MediaKind.VIDEO, made) is Visibility.ALLOW
    assert verdict(Role.ACCUSED, MediaKind.AUDIO, made) is Visibility.ALLOW


def test_an_order_never_lets_through_what_the_rules_deny() -> None:
    made = order()
    denied = visible(
        seat(Role.ACCUSED),
        seat(Role.WITNESS, WITNESS),
        MediaKind.VIDEO,
        Phase.ADJOURNED,
        RULES,
        {WITNESS: made},
    )
    assert denied is Visibility.DENY


@pytest.mark.parametrize("court", ["presiding_judge", "judge", "clerk", "court", "judges"])
def test_an_order_that_would_mask_the_witness_from_the_court_is_refused(court: str) -> None:
    with pytest.raises(MasksTheCourt) as refused:
        order(masked_from=["accused", court])
    assert refused.value.code == "masks_the_court"
    assert refused.value.field == "masked_from"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"masked_from": []}, "masked_from"),
        ({"masked_from": ["jury"]}, "masked_from"),
        ({"pseudonym": "  "}, "pseudonym"),
        ({"pseudonym": "<script>"}, "pseudonym"),
        ({"screening": "mosaic"}, "screening"),
    ],
)
def test_a_malformed_order_is_refused_naming_its_field(
    overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidHearing) as refused:
        order(**overrides)
    assert refused.value.field == field


def test_an_order_over_the_court_itself_is_refused() -> None:
    with pytest.raises(InvalidHearing):
        make_order(
            "p_judge1",
            Role.JUDGE,
            pseudonym="J",
            screening="blur",
            voice="natural",
            masked_from=["accused"],
        )


def test_the_voice_modulation_is_drawn_per_order_and_never_near_the_natural_pitch() -> None:
    keys = {VoiceKey.draw() for _ in range(50)}
    assert len(keys) > 40
    for key in keys:
        assert key.pitch <= 0.84 or key.pitch >= 1.2


def test_varying_an_order_keeps_its_voice_modulation() -> None:
    first = order()
    varied = make_order(
        WITNESS,
        Role.WITNESS,
        pseudonym="Witness B",
        screening="blur",
        voice="modulated",
        masked_from=["accused"],
        previous=first,
    )
    assert varied.key == first.key and varied.pseudonym == "Witness B"


def test_the_audit_names_the_pseudonym_and_a_hash_of_the_key_never_the_key() -> None:
    made = order()
    details = made.audit_details()
    assert details["pseudonym"] == "Witness A"
    assert details["voice_seal"] == made.key.digest
    flat = " ".join(details.values())
    assert f"{made.key.pitch}" not in flat and f"{made.key.formant}" not in flat
    assert set(details["masked_from"].split(", ")) == {a.value for a in Audience}


def test_everyone_but_the_court_and_the_witness_sees_the_pseudonym() -> None:
    made = order(masked_from=["accused"])
    assert name_for(made, Role.PROSECUTOR, False, "Jane Roe") == "Witness A"
    assert name_for(made, Role.ACCUSED, False, "Jane Roe") == "Witness A"
    assert name_for(made, Role.CLERK, False, "Jane Roe") == "Jane Roe"
    assert name_for(made, Role.WITNESS, True, "Jane Roe") == "Jane Roe"
    assert name_for(None, Role.ACCUSED, False, "Jane Roe") == "Jane Roe"


def test_an_order_survives_a_snapshot_with_its_key() -> None:
    made = order()
    assert AnonymityOrder.restore(WITNESS, made.snapshot()) == made
