"""Argon2id password hashes (pwdlib) and the password policy."""

from __future__ import annotations

import functools
import secrets
from importlib.resources import files

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_LENGTH = 10
MAX_LENGTH = 256  # what log-in accepts

_HASHER = PasswordHash((Argon2Hasher(),))
# Verified against when the user does not exist, so timing does not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _HASHER.verify(password, _DUMMY_HASH)
        return False
    return _HASHER.verify(password, password_hash)


def new_password() -> str:
    """A random password that a person can still type: 4 groups of 4 characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


@functools.cache
def _common_passwords() -> frozenset[str]:
    text = files("agent_desk.security").joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def password_problem(password: str, username: str) -> str | None:
    """Why `password` may not be used by `username`, or None if it may."""
    if not password.strip():
        return "password must not be empty or only whitespace"
    if len(password) < MIN_LENGTH:
        return f"password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password must have at most {MAX_LENGTH} characters"
    if password.casefold() == username.casefold():
        return "password must not be the username"
    if password.lower() in _common_passwords():
        return "password is too common (it is on the list of the most used passwords)"
    return None
