"""The key ring: created safely, refuses unsafe or corrupt files, wraps, rotates and retires."""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from security import (
    DataKey,
    KeyRing,
    KeyRingError,
    SealedWriter,
    SealHeader,
    WrappedKey,
    key_path_outside,
    open_sealed,
)

ROOT = Path(__file__).resolve().parent.parent
RECORDING = "rec-2026-0001"


def ring_at(tmp_path: Path) -> KeyRing:
    return KeyRing.open(tmp_path / "keys" / "keyring.json")


def kek_bytes(path: Path) -> list[bytes]:
    doc = json.loads(path.read_text())
    return [base64.b64decode(value) for value in doc["keys"].values()]


def write_ring(path: Path, text: str | bytes, mode: int = 0o600) -> Path:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(data)
    path.chmod(mode)
    return path


def test_the_ring_is_created_on_first_run_mode_0600_with_version_1(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    ring = KeyRing.open(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    doc = json.loads(path.read_text())
    assert doc["format"] == 1 and doc["current"] == 1 and list(doc["keys"]) == ["1"]
    assert len(kek_bytes(path)[0]) == 32
    assert ring.current_version == 1 and ring.versions == (1,)
    # The second run finds the same key.
    wrapped = ring.wrap(DataKey.generate("k1"), RECORDING)
    again = KeyRing.open(path)
    assert again.unwrap(wrapped, RECORDING).key_id == "k1"
    assert kek_bytes(path) == kek_bytes(path)  # unchanged by opening it again


def test_a_ring_created_under_a_permissive_umask_is_still_0600(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        KeyRing.open(tmp_path / "new" / "keyring.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new" / "keyring.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o700 | 0o004])
def test_a_ring_file_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    ring = ring_at(tmp_path)
    ring.path.chmod(mode)
    with pytest.raises(KeyRingError) as refused:
        KeyRing.open(ring.path)
    assert refused.value.code == "keyring_unsafe"
    assert f"{mode:04o}" in refused.value.reason


def test_a_ring_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    real = ring_at(tmp_path).path
    link = tmp_path / "link.json"
    link.symlink_to(real)
    folder = tmp_path / "folder.json"
    folder.mkdir(mode=0o700)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo, 0o600)
    for path in (link, folder, fifo):
        with pytest.raises(KeyRingError) as refused:
            KeyRing.open(path)
        assert refused.value.code == "keyring_unsafe", path


def test_a_wrapped_key_unwraps_and_opens_the_recording(tmp_path: Path) -> None:
    ring = ring_at(tmp_path)
    dek = DataKey.generate("k1")
    sink = io.BytesIO()
    header = SealHeader(RECORDING, "h_1", "p_1/audio", 0, "k1", dek.new_nonce_prefix())
    writer = SealedWriter(sink, dek, header)
    writer.write(b"the court is in session")
    writer.close()

    wrapped = ring.wrap(dek, RECORDING)
    assert wrapped.kek_version == 1 and len(wrapped.blob) == 60
    assert dek.secret.value not in wrapped.blob
    stored = json.loads(json.dumps(wrapped.to_json()))
    restored = ring.unwrap(WrappedKey.from_json(stored), RECORDING)
    assert restored.key_id == "k1" and restored.secret == dek.secret
    opened = open_sealed(sink.getvalue(), {"k1": restored}.__getitem__)
    assert opened.plaintext == b"the court is in session"


def test_wrapping_twice_gives_different_blobs(tmp_path: Path) -> None:
    ring = ring_at(tmp_path)
    dek = DataKey.generate("k1")
    assert ring.wrap(dek, RECORDING).blob != ring.wrap(dek, RECORDING).blob


def test_a_wrapped_key_does_not_unwrap_anywhere_else(tmp_path: Path) -> None:
    ring = ring_at(tmp_path)
    wrapped = ring.wrap(DataKey.generate("k1"), RECORDING)
    other_ring = KeyRing.open(tmp_path / "other" / "keyring.json")
    flipped = bytearray(wrapped.blob)
    flipped[30] ^= 0x01
    attempts = [
        (ring, wrapped, "rec-2026-0002"),  # another recording
        (ring, WrappedKey("k2", 1, wrapped.blob), RECORDING),  # renamed
        (ring, WrappedKey("k1", 1, bytes(flipped)), RECORDING),  # altered
        (other_ring, wrapped, RECORDING),  # another server's ring
    ]
    for target, candidate, context in attempts:
        with pytest.raises(KeyRingError) as failed:
            target.unwrap(candidate, context)
        assert failed.value.code == "keyring_unwrap_failed"


def test_rotate_then_rewrap_and_old_keys_unwrap_until_retired(tmp_path: Path) -> None:
    ring = ring_at(tmp_path)
    dek = DataKey.generate("k1")
    old = ring.wrap(dek, RECORDING)
    assert ring.rotate() == 2
    assert ring.current_version == 2 and ring.versions == (1, 2)
    assert ring.wrap(DataKey.generate("k2"), RECORDING).kek_version == 2

    new = ring.rewrap(old, RECORDING)
    assert new.kek_version == 2 and new.key_id == "k1"
    assert ring.unwrap(new, RECORDING).secret == dek.secret
    assert ring.unwrap(old, RECORDING).secret == dek.secret  # still there until retired

    with pytest.raises(KeyRingError) as refused:
        ring.retire(2)
    assert refused.value.code == "keyring_refused"
    ring.retire(1)
    assert list(ring.versions) == [2] and json.loads(ring.path.read_text())["current"] == 2
    with pytest.raises(KeyRingError) as gone:
        ring.unwrap(old, RECORDING)
    assert gone.value.code == "keyring_version_unknown"
    assert KeyRing.open(ring.path).unwrap(new, RECORDING).secret == dek.secret


def test_a_running_ring_sees_a_rotation_made_by_another_process(tmp_path: Path) -> None:
    server = ring_at(tmp_path)
    old = server.wrap(DataKey.generate("k1"), RECORDING)
    cli = KeyRing.open(server.path)
    cli.rotate()
    rewrapped = cli.rewrap(old, RECORDING)
    cli.retire(1)
    # The server wraps with the new current version, never with the retired one.
    assert server.wrap(DataKey.generate("k2"), RECORDING).kek_version == 2
    assert server.unwrap(rewrapped, RECORDING).key_id == "k1"
    with pytest.raises(KeyRingError) as gone:
        server.unwrap(old, RECORDING)
    assert gone.value.code == "keyring_version_unknown"


ROTATE = """
import sys
from pathlib import Path
from security import KeyRing
ring = KeyRing.open(Path(sys.argv[1]))
for _ in range(5):
    ring.rotate()
"""


def test_rotations_from_two_processes_at_once_lose_no_version(tmp_path: Path) -> None:
    path = ring_at(tmp_path).path
    children = [
        subprocess.Popen([sys.executable, "-c", ROTATE, str(path)], cwd=ROOT) for _ in range(2)
    ]
    for child in children:
        assert child.wait(timeout=60) == 0
    ring = KeyRing.open(path)
    assert ring.versions == tuple(range(1, 12)) and ring.current_version == 11
    assert len(set(kek_bytes(path))) == 11
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]


GOOD_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"format": 1, "current": 1}',
        '{"format": 1, "current": 1, "keys": {"1": "@K"}, "extra": 0}',
        '{"format": 2, "current": 1, "keys": {"1": "@K"}}',
        '{"format": true, "current": 1, "keys": {"1": "@K"}}',
        '{"format": 1, "current": 2, "keys": {"1": "@K"}}',
        '{"format": 1, "current": 1, "keys": {}}',
        '{"format": 1, "current": 1, "keys": {"1": "not base64!"}}',
        '{"format": 1, "current": 1, "keys": {"1": "@K"}}'.replace("@K", GOOD_KEY[:-4]),
        '{"format": 1, "current": 1, "keys": {"01": "@K"}}',
        '{"format": 1, "current": 1, "keys": {"' + "9" * 5000 + '": "@K"}}',
        '{"format": 1, "current": 1, "keys": {"1": "@K", "1": "@K"}}',
        '{"format": 1, "current": 1.0, "keys": {"1": "@K"}}',
        "[" * 100_000,
        " " * (2 << 20),
    ],
)
def test_a_corrupt_ring_is_refused_with_a_clear_code(tmp_path: Path, text: str) -> None:
    text = text.replace("@K", GOOD_KEY)
    path = write_ring(tmp_path / "keyring.json", text)
    with pytest.raises(KeyRingError) as refused:
        KeyRing.open(path)
    assert refused.value.code == "keyring_corrupt" and refused.value.reason
    assert path.read_text() == text  # never overwritten


def test_no_secret_reaches_a_repr_a_message_or_a_pickle(tmp_path: Path) -> None:
    ring = ring_at(tmp_path)
    kek = kek_bytes(ring.path)[0]
    dek = DataKey.generate("k1")
    wrapped = ring.wrap(dek, RECORDING)
    texts = [repr(ring), str(ring), repr(dek), str(dek), repr(dek.secret)]
    # A ring whose key is one byte short: the refusal must not quote the key.
    short = base64.b64encode(kek[:31]).decode()
    bad = write_ring(tmp_path / "bad.json", '{"format":1,"current":1,"keys":{"1":"@K"}}')
    bad.write_text(bad.read_text().replace("@K", short))
    for attempt in (
        lambda: KeyRing.open(bad),
        lambda: ring.unwrap(wrapped, "rec-other"),
        lambda: WrappedKey.from_json({"key_id": "k1", "kek_version": 1, "blob": short}),
    ):
        with pytest.raises(KeyRingError) as refused:
            attempt()
        texts += [str(refused.value), refused.value.reason, repr(refused.value)]
    for text in texts:
        for secret in (kek, dek.secret.value):
            assert secret.hex() not in text
            assert base64.b64encode(secret).decode() not in text
            assert base64.b64encode(secret[:30]).decode()[:20] not in text
    with pytest.raises(TypeError):
        pickle.dumps(ring)
    with pytest.raises(TypeError):
        pickle.dumps(dek)


@pytest.mark.parametrize(
    "obj",
    [
        None,
        [],
        {"key_id": "k1", "kek_version": 1},
        {"key_id": "k1", "kek_version": 1, "blob": "", "extra": 1},
        {"key_id": "", "kek_version": 1, "blob": base64.b64encode(bytes(60)).decode()},
        {"key_id": "k 1", "kek_version": 1, "blob": base64.b64encode(bytes(60)).decode()},
        {"key_id": 7, "kek_version": 1, "blob": base64.b64encode(bytes(60)).decode()},
        {"key_id": "k1", "kek_version": 0, "blob": base64.b64encode(bytes(60)).decode()},
        {"key_id": "k1", "kek_version": True, "blob": base64.b64encode(bytes(60)).decode()},
        {"key_id": "k1", "kek_version": "1", "blob": base64.b64encode(bytes(60)).decode()},
        {"key_id": "k1", "kek_version": 1, "blob": base64.b64encode(bytes(59)).decode()},
        {"key_id": "k1", "kek_version": 1, "blob": base64.urlsafe_b64encode(b"\xff" * 60).decode()},
        {"key_id": "k1", "kek_version": 1, "blob": "=" * 80},
    ],
)
def test_a_malformed_wrapped_key_is_refused(obj: object) -> None:
    with pytest.raises(KeyRingError) as refused:
        WrappedKey.from_json(obj)
    assert refused.value.code == "keyring_wrapped_invalid"


def test_a_wrapped_key_round_trips_through_json(tmp_path: Path) -> None:
    wrapped = ring_at(tmp_path).wrap(DataKey.generate("dek.7"), RECORDING)
    assert WrappedKey.from_json(json.loads(json.dumps(wrapped.to_json()))) == wrapped


def test_the_key_ring_must_live_outside_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert key_path_outside(tmp_path / "keys" / "keyring.json", data)
    assert key_path_outside(tmp_path / "data-keys.json", data)
    assert not key_path_outside(data / "keyring.json", data)
    assert not key_path_outside(data / "sub" / ".." / "keyring.json", data)
    assert not key_path_outside(data, data)
    (tmp_path / "sneaky").symlink_to(data)
    assert not key_path_outside(tmp_path / "sneaky" / "keyring.json", data)


OWN = "r-0123456789abcdef"


def test_a_recordings_data_key_unwraps_only_while_the_ring_holds_its_own_key(
    tmp_path: Path,
) -> None:
    ring = ring_at(tmp_path)
    ring.add_recording(OWN)
    dek = DataKey.generate("k1")
    wrapped = ring.wrap_for_recording(dek, OWN)
    assert wrapped.scheme == 2 and WrappedKey.from_json(wrapped.to_json()) == wrapped
    assert ring.unwrap(wrapped, OWN).secret.value == dek.secret.value
    with pytest.raises(KeyRingError) as other:
        ring.unwrap(wrapped, "r-fedcba9876543210")
    assert other.value.code == "keyring_recording_shredded"
    saved = wrapped.to_json()  # a copy of keys.json, as a backup holds it
    assert ring.shred_recording(OWN) and not ring.shred_recording(OWN)
    assert ring.shredded_at(OWN) is not None
    again = KeyRing.open(ring.path)  # another process, after the shredding
    with pytest.raises(KeyRingError) as gone:
        again.unwrap(WrappedKey.from_json(saved), OWN)
    assert gone.value.code == "keyring_recording_shredded"
    with pytest.raises(KeyRingError):
        again.add_recording(OWN)  # a shredded id never gets a key again


def test_rotation_rewraps_a_recording_key_in_its_own_scheme(tmp_path: Path) -> None:
    ring = ring_at(tmp_path)
    ring.add_recording(OWN)
    dek = DataKey.generate("k1")
    wrapped = ring.wrap_for_recording(dek, OWN)
    ring.rotate()
    rewrapped = ring.rewrap(wrapped, OWN)
    assert (rewrapped.scheme, rewrapped.kek_version) == (2, 2)
    assert ring.unwrap(rewrapped, OWN).secret.value == dek.secret.value
    scheme_one = WrappedKey(wrapped.key_id, wrapped.kek_version, wrapped.blob)
    with pytest.raises(KeyRingError) as downgraded:
        ring.unwrap(scheme_one, OWN)  # the scheme is not a label one can change
    assert downgraded.value.code == "keyring_unwrap_failed"


def test_a_ring_with_recording_keys_is_format_2_and_parses_strictly(tmp_path: Path) -> None:
    ring = ring_at(tmp_path)
    assert json.loads(ring.path.read_text())["format"] == 1
    ring.add_recording(OWN)
    ring.shred_recording(OWN)
    ring.add_recording("r-00000000000000aa")
    doc = json.loads(ring.path.read_text())
    assert doc["format"] == 2 and list(doc["recordings"]) == ["r-00000000000000aa"]
    assert list(doc["shredded"]) == [OWN]
    key = doc["recordings"]["r-00000000000000aa"]
    for bad in (
        {**doc, "recordings": {"../etc": key}},
        {**doc, "shredded": {OWN: "yesterday"}},
        {**doc, "shredded": {"r-00000000000000aa": 1}},  # shredded and still keyed
        {k: v for k, v in doc.items() if k != "shredded"},
    ):
        write_ring(tmp_path / "bad.json", json.dumps(bad))
        with pytest.raises(KeyRingError) as refused:
            KeyRing.open_existing(tmp_path / "bad.json")
        assert refused.value.code == "keyring_corrupt"
