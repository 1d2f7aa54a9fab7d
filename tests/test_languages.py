"""Languages of a hearing: BCP 47 tags at the door, the court language and the others, a
participant's language and an interpreter's pair in the token, the REST API and every store
(memory, SQLite, the real Redis) carrying them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hearing import Hearing, HearingType, InvalidHearing, Participant, Role
from hearing.languages import LanguagePair, language_tag, language_tags
from hearing.model import check_languages_of
from security import Secret, TokenRefused, TokenSigner
from signaling.store import (
    IssuedLink,
    hearing_from_record,
    hearing_record,
    link_from_record,
    link_record,
)
from tests.test_api import AUTH, Client, client, schedule  # noqa: F401 (the fixture)
from tests.test_stores import Stores, stores  # noqa: F401 (the fixture)

AT = datetime(2031, 3, 4, 9, 30, tzinfo=UTC)


def a_hearing(**changes: Any) -> Hearing:
    fields: dict[str, Any] = {
        "id": "h_languages",
        "type": HearingType.TRIAL,
        "case_number": "HS-2031/7",
        "title": "State v. Nguyen",
        "scheduled_at": AT,
        "public": False,
        "profile": "vn",
    }
    return Hearing(**(fields | changes))


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("vi", "vi"),
        ("EN", "en"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("hab", "hab"),  # Ha Noi Sign Language (ISO 639-3)
        ("vsl", "vsl"),
        ("sgn-VN", "sgn-VN"),
        ("es-419", "es-419"),
        ("de-CH-1996", "de-CH-1996"),
    ],
)
def test_a_language_tag_is_taken_in_its_canonical_case(given: str, canonical: str) -> None:
    assert language_tag(given) == canonical


@pytest.mark.parametrize(
    "bad", ["", "v", "english", "vi_VN", "en-", "x-private", "vi-VN-u-co-x", "e n", "vi" * 20]
)
def test_what_is_not_a_language_tag_is_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(InvalidHearing) as refused:
        language_tag(bad, "languages")
    assert refused.value.field == "languages"


def test_a_hearing_speaks_vietnamese_unless_told_otherwise_and_names_its_other_languages() -> None:
    assert a_hearing().language == "vi" and a_hearing().languages == ()
    hearing = a_hearing(languages=language_tags(["en", "hab", "EN"]))
    assert hearing.languages == ("en", "hab")
    with pytest.raises(InvalidHearing, match="languages"):
        a_hearing(languages=("vi",))  # the court language is not one of the others
    with pytest.raises(InvalidHearing, match="languages"):
        a_hearing(languages=("EN",))  # not canonical
    with pytest.raises(InvalidHearing, match="at most"):
        language_tags([f"a{chr(97 + i)}" for i in range(17)])


def test_an_interpreters_pair_is_two_languages_either_way_round() -> None:
    pair = LanguagePair.parse("vi↔en")
    assert pair == LanguagePair.parse("vi<>EN") and str(pair) == "vi↔en"
    assert pair.same_as(LanguagePair.parse("en↔vi"))
    for bad in ("vi", "vi↔vi", "vi↔", "vi-en"):
        with pytest.raises(InvalidHearing):
            LanguagePair.parse(bad)


def test_only_an_interpreter_has_a_pair_and_only_of_the_hearings_languages() -> None:
    pair = LanguagePair.parse("vi↔en")
    with pytest.raises(InvalidHearing, match="only an interpreter"):
        Participant("p_accused", "h_languages", Role.ACCUSED, "Tran", interpreting=pair)
    hearing = a_hearing(languages=("en",))
    check_languages_of(
        hearing, Participant("p_interp", hearing.id, Role.INTERPRETER, "Le", None, pair)
    )
    french = LanguagePair.parse("vi↔fr")
    with pytest.raises(InvalidHearing, match="not two languages of this hearing"):
        check_languages_of(
            hearing, Participant("p_interp", hearing.id, Role.INTERPRETER, "Le", None, french)
        )
    with pytest.raises(InvalidHearing, match="not a language of this hearing"):
        check_languages_of(hearing, Participant("p_accused", hearing.id, Role.ACCUSED, "T", "fr"))


def test_the_token_carries_the_language_and_the_pair_and_a_forged_pair_is_refused() -> None:
    signer = TokenSigner(Secret(b"k" * 32))
    interpreter = Participant(
        "p_interp", "h_languages", Role.INTERPRETER, "Le", "en", LanguagePair.parse("vi↔en")
    )
    token, _ = signer.issue(interpreter, 600)
    assert signer.verify(token).participant == interpreter
    plain, _ = signer.issue(Participant("p_judge1", "h_languages", Role.JUDGE, "Pham"), 600)
    assert signer.verify(plain).participant.language is None
    with pytest.raises(TokenRefused):  # a changed claim breaks the signature
        signer.verify(token.replace(token.split(".")[1], token.split(".")[1][:-2] + "AA"))


def test_records_kept_before_languages_existed_read_as_the_court_language_only() -> None:
    hearing = a_hearing(languages=("en", "hab"))
    assert hearing_from_record(hearing_record(hearing)) == hearing
    old = hearing_record(a_hearing())
    del old["language"], old["languages"]
    assert hearing_from_record(old) == a_hearing()
    participant = Participant("p_interp", hearing.id, Role.INTERPRETER, "Le", "en", None)
    link = IssuedLink(participant, "tid", 1, 2)
    assert link_from_record(link_record(link)) == link
    old_link = link_record(link)
    del old_link["language"], old_link["interpreting"]
    assert link_from_record(old_link).participant.language is None


async def test_every_store_keeps_a_hearings_languages_and_a_links_pair(
    stores: Stores,  # noqa: F811
) -> None:
    hearing = a_hearing(languages=("en", "hab"))
    await stores.hearings.add(hearing)
    assert await stores.hearings.get(hearing.id) == hearing
    pair = LanguagePair.parse("vi↔hab")
    participant = Participant("p_interp", hearing.id, Role.INTERPRETER, "Le", "hab", pair)
    await stores.links.add(IssuedLink(participant, "tid", 1, 2))
    (kept,) = await stores.links.of_hearing(hearing.id)
    assert kept.participant == participant


async def test_the_api_schedules_a_hearing_with_languages_and_issues_an_interpreters_token(
    client: Client,  # noqa: F811
) -> None:
    hearing = await schedule(client, languages=["EN", "hab", "vi"])
    assert (hearing["language"], hearing["languages"]) == ("vi", ["en", "hab"])
    url = f"/api/hearings/{hearing['id']}/tokens"
    body = {"role": "interpreter", "display_name": "Le Thi", "interpreting": "vi<>en"}
    issued = await (await client.post(url, json=body, headers=AUTH)).json()
    assert (issued["language"], issued["interpreting"]) == (None, "vi↔en")
    body = {"role": "accused", "display_name": "John Smith", "language": "en"}
    issued = await (await client.post(url, json=body, headers=AUTH)).json()
    assert issued["language"] == "en"
    listed = await (
        await client.get(f"/api/hearings/{hearing['id']}/participants", headers=AUTH)
    ).json()
    assert [p["interpreting"] for p in listed["participants"]] == ["vi↔en", None]
    document = await (await client.get("/api/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert schemas["HearingRequest"]["properties"]["languages"]["type"] == "array"
    assert {"language", "interpreting"} <= set(schemas["TokenRequest"]["properties"])


@pytest.mark.parametrize(
    ("hearing_changes", "token", "field"),
    [
        ({}, {"role": "accused", "language": "en"}, "language"),  # not a language of it
        ({"languages": ["en"]}, {"role": "accused", "language": "english"}, "language"),
        ({"languages": ["en"]}, {"role": "accused", "interpreting": "vi↔en"}, "interpreting"),
        ({"languages": ["en"]}, {"role": "interpreter", "interpreting": "vi↔fr"}, "interpreting"),
        ({"languages": ["en"]}, {"role": "interpreter", "interpreting": "vi"}, "interpreting"),
        ({"languages": ["en"]}, {"role": "witness", "language": 7}, "language"),
    ],
)
async def test_a_token_with_a_language_the_hearing_does_not_have_is_refused(
    client: Client,  # noqa: F811
    hearing_changes: dict[str, Any],
    token: dict[str, Any],
    field: str,
) -> None:
    hearing = await schedule(client, **hearing_changes)
    url = f"/api/hearings/{hearing['id']}/tokens"
    response = await client.post(url, json={"display_name": "X Y"} | token, headers=AUTH)
    assert response.status in (400, 422), await response.text()
    assert (await response.json())["error"]["field"] == field


@pytest.mark.parametrize(
    "changes",
    [{"languages": "en"}, {"languages": ["en", 7]}, {"languages": ["english"]}, {"language": "??"}],
)
async def test_a_hearing_with_a_malformed_language_is_refused(
    client: Client,  # noqa: F811
    changes: dict[str, Any],
) -> None:
    response = await client.post("/api/hearings", json=TRIAL_BODY | changes, headers=AUTH)
    assert response.status in (400, 422), await response.text()
    assert (await response.json())["error"]["field"] in ("language", "languages")


TRIAL_BODY: dict[str, Any] = {
    "type": "trial",
    "case_number": "HS-2031/7",
    "title": "State v. Nguyen",
    "scheduled_at": "2031-03-04T09:30:00+07:00",
    "public": False,
}
