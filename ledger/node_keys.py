"""This node's own keys: Ed25519 to sign PBFT messages and its institution's transactions, X25519 to
open sealed payload sections addressed to its institution, and a 32-byte secret that keys the
pseudonyms of drivers' id tags (HMAC-SHA256, settlement.pseudonyms). Files with mode 0600 under
var/<node>/keys/ (or PILECHAIN_KEYS_DIR), never in git.

The pseudonym key is its own file rather than a derivation of the other two: a signing or
encryption key may be rotated (the consortium definition lists the new public key), while the
pseudonyms must stay the same for as long as the node records sessions, so that one driver's
sessions keep linking together at the operator. Losing the file breaks that link for new sessions
(the old pseudonyms stay on the ledger, unlinkable to new ones); back it up with the other keys."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ledger.chain.crypto import ED25519, SigningKey
from ledger.chain.sealed import X25519KeyPair

SIGNING_FILE = "node-signing.pem"
ENCRYPTION_FILE = "node-encryption.hex"
PSEUDONYM_FILE = "id-tag-pseudonym.hex"
PSEUDONYM_KEY_SIZE = 32
HOSTED_DIR = "hosted"  # <CODE>.pem: signing keys of institutions this node signs for besides its own


class MissingKeys(RuntimeError):
    pass


@dataclass(frozen=True)
class NodeKeys:
    signing: SigningKey
    encryption: X25519KeyPair


def keys_dir() -> Path:
    configured = os.environ.get("PILECHAIN_KEYS_DIR")
    return Path(configured) if configured else Path(settings.NODE_DIR) / "keys"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def generate(directory: Path | None = None, *, overwrite: bool = False) -> NodeKeys:
    directory = directory or keys_dir()
    signing_path, encryption_path = directory / SIGNING_FILE, directory / ENCRYPTION_FILE
    if not overwrite and (signing_path.exists() or encryption_path.exists()):
        raise FileExistsError(f"keys already exist in {directory}; refusing to replace them")
    for path in (signing_path, encryption_path):
        if path.exists():
            path.unlink()
    signing = SigningKey.generate(ED25519)
    encryption = X25519KeyPair.generate()
    _write_private(signing_path, signing.to_pem())
    _write_private(encryption_path, encryption.private_hex() + "\n")
    pseudonym_key(directory)
    return NodeKeys(signing, encryption)


def load(directory: Path | None = None) -> NodeKeys:
    directory = directory or keys_dir()
    try:
        signing = SigningKey.from_pem((directory / SIGNING_FILE).read_bytes())
        encryption = X25519KeyPair.from_hex((directory / ENCRYPTION_FILE).read_text().strip())
    except FileNotFoundError as exc:
        raise MissingKeys(f"no node keys in {directory}: run `manage.py ledger keygen`") from exc
    if signing.kind != ED25519:
        raise MissingKeys("the node signing key must be Ed25519")
    return NodeKeys(signing, encryption)


def pseudonym_key(directory: Path | None = None) -> bytes:
    """The secret behind drivers' id-tag pseudonyms: read from its file, created (0600, random) on
    first use. The file appears whole (written aside, then linked into place, which fails when it
    exists), so two processes starting together end up with one key and never read half of one."""
    path = (directory or keys_dir()) / PSEUDONYM_FILE
    if not path.exists():
        draft = path.with_name(f".{PSEUDONYM_FILE}.{os.getpid()}")
        _write_private(draft, os.urandom(PSEUDONYM_KEY_SIZE).hex() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process created it first: read theirs
        finally:
            draft.unlink()
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != PSEUDONYM_KEY_SIZE:
        raise MissingKeys(f"{path}: the id-tag pseudonym key must be {PSEUDONYM_KEY_SIZE} bytes in hex")
    return key


def load_hosted(directory: Path | None = None) -> dict[str, SigningKey]:
    """Signing keys of institutions that delegate transaction signing to this node (a service
    provider hosting a small operator, or a test node acting for every member). Never validators'
    PBFT keys in production: a validator's key stays on its own node."""
    hosted = (directory or keys_dir()) / HOSTED_DIR
    if not hosted.is_dir():
        return {}
    keys = {}
    for path in sorted(hosted.glob("*.pem")):
        key = SigningKey.from_pem(path.read_bytes())
        if key.kind != ED25519:
            raise MissingKeys(f"{path}: an institution signing key must be Ed25519")
        keys[path.stem] = key
    return keys


def write_hosted(code: str, key: SigningKey, directory: Path | None = None) -> Path:
    path = (directory or keys_dir()) / HOSTED_DIR / f"{code}.pem"
    _write_private(path, key.to_pem())
    return path
