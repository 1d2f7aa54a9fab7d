"""The token key a node keeps in its data dir when ECOURT_TOKEN_KEY is not set: made once,
0600, the same after a restart; a file that is not a key is refused, never replaced."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hearing import Participant, Role
from hearing.model import new_hearing_id, new_participant_id
from security import TokenSigner
from web.settings import SettingsError
from web.token_key import FILE_NAME, kept_token_key


def test_the_kept_key_is_made_once_private_and_signs_links_that_verify_after_a_restart(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = kept_token_key(data)
    assert stat.S_IMODE((data / FILE_NAME).stat().st_mode) == 0o600
    assert [p.name for p in data.iterdir()] == [FILE_NAME]  # nothing half-made is left
    participant = Participant(new_participant_id(), new_hearing_id(), Role.CLERK, "Clerk Pham")
    token, _ = TokenSigner(first).issue(participant, 3600)
    again = kept_token_key(data)  # the next start
    assert TokenSigner(again).verify(token).participant == participant


def test_each_data_dir_keeps_a_key_of_its_own(tmp_path: Path) -> None:
    assert kept_token_key(tmp_path / "a").value != kept_token_key(tmp_path / "b").value


@pytest.mark.parametrize("content", [b"", b"short", b"z" * 64, b"\xff" * 64])
def test_a_file_that_is_not_a_token_key_is_refused_and_left_alone(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / FILE_NAME).write_bytes(content)
    with pytest.raises(SettingsError, match="token key"):
        kept_token_key(tmp_path)
    assert (tmp_path / FILE_NAME).read_bytes() == content
