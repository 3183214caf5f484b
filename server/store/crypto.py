"""Encryption at rest for stored secrets (refresh tokens, service-account keys).

Keys are Fernet keys. The first key encrypts; every listed key decrypts, so a new key can be
put first and old ciphertexts re-encrypted with `rotate()` (`stepback keys rotate`).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

KEY_FILE = "encryption.keys"
UNDECRYPTABLE = "stored secret cannot be decrypted with the configured keys"


class SecretBoxError(Exception):
    """A stored secret could not be decrypted with any configured key."""


class SecretBox:
    """Encrypt and decrypt small secrets with a rotatable list of keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise SecretBoxError(UNDECRYPTABLE) from exc

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt with the first (newest) key."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken as exc:
            raise SecretBoxError(UNDECRYPTABLE) from exc


def load_keys(app: Flask) -> list[str]:
    """Keys from ENCRYPTION_KEYS, else from the instance key file (created on first use)."""
    configured = app.config.get("ENCRYPTION_KEYS")
    if configured:
        if isinstance(configured, str):
            return [k.strip() for k in configured.split(",") if k.strip()]
        return [str(k) for k in configured]
    path = Path(app.instance_path) / KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode() + "\n")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def secret_box(app: Flask | None = None) -> SecretBox:
    """Return the app's SecretBox, built once."""
    app = app or current_app
    box = app.extensions.get("stepback_secret_box")
    if box is None:
        box = SecretBox(load_keys(app))
        app.extensions["stepback_secret_box"] = box
    return box
