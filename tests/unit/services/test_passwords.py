"""The password rule (NIST SP 800-63B): a length of 12 to 256, no composition rules, not
the user name, not a commonly used password from the bundled breach list; random passwords;
a user changing their own password."""

from __future__ import annotations

import pytest

from cloudenv.errors import InvalidInput
from cloudenv.services.iam import passwords
from cloudenv.services.iam.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    RANDOM_LENGTH,
    check_password,
    common_passwords,
    random_password,
)

pytestmark = pytest.mark.unit


def _refusal(password: str, username: str = "pceadmin") -> str:
    with pytest.raises(InvalidInput) as refused:
        check_password(password, username, field="admin_password")
    assert refused.value.field == "admin_password"
    return refused.value.message


def test_the_limits_are_nists() -> None:
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 256)


def test_too_short_says_the_length_and_the_minimum() -> None:
    message = _refusal("Xq7#mK2$pL9")  # 11 characters of every kind: still too short
    assert "too short" in message and "11 characters" in message and "at least 12" in message


def test_too_long_says_the_maximum() -> None:
    message = _refusal("kettle " * 37)  # 259 characters
    assert "too long" in message and "at most 256" in message
    check_password("k" * 3 + "ettle-maple " * 21, "pceadmin")  # 255: fine


def test_no_composition_rules() -> None:
    """Lower-case letters only, or with spaces: length is what counts."""
    check_password("correct horse battery staple", "pceadmin")
    check_password("kettlemapleorbitlantern", "pceadmin")


@pytest.mark.parametrize("password", ["my-PCEADMIN-pass-2026", "pceadmin is me here"])
def test_the_user_name_is_refused_in_any_case(password: str) -> None:
    message = _refusal(password)
    assert "contains the user name pceadmin" in message


@pytest.mark.parametrize(
    "password",
    [
        "1qaz2wsx3edc",  # on the list as it is
        "qazwsxedcrfv",
        "QAZWSXEDCRFV",  # in any case
        "Password1234!",  # 'password' with digits and a symbol around it
        "!!sunshine2024",
        "iloveyou123456",
    ],
)
def test_common_passwords_are_refused(password: str) -> None:
    message = _refusal(password, "ana")
    assert "commonly used" in message
    # The message never repeats the password: refusals are audited with their message.
    assert password not in message


def test_the_list_comes_from_the_package_and_is_large() -> None:
    words = common_passwords()
    assert len(words) > 20_000
    assert {"password", "123456", "qwerty", "iloveyou"} <= words
    assert common_passwords() is words  # read once


def test_a_word_inside_a_longer_password_is_not_a_common_password() -> None:
    """Only the whole password (or it without digits and symbols around it) counts: a
    pass phrase holding a common word is fine."""
    check_password("dragon kettle orbit", "ana")
    check_password("monkey-business-plan", "ana")


def test_random_passwords_are_long_different_and_pass_the_rule() -> None:
    made = {random_password("ana") for _ in range(50)}
    assert len(made) == 50
    for password in made:
        assert len(password) == RANDOM_LENGTH >= 20
        assert password.isalnum()
        check_password(password, "ana")


def test_a_random_password_never_holds_the_user_name(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter("abc" * RANDOM_LENGTH + "x" * RANDOM_LENGTH)
    monkeypatch.setattr(passwords.secrets, "choice", lambda _alphabet: next(draws))
    assert random_password("ABC") == "x" * RANDOM_LENGTH


def test_verify() -> None:
    from cloudenv.services import auth

    stored = auth.hash_password("kettle-maple-orbit")
    assert passwords.verify(stored, "kettle-maple-orbit")
    assert not passwords.verify(stored, "kettle-maple-orbiT")
    assert not passwords.verify(None, "kettle-maple-orbit")
    assert not passwords.verify("not-a-hash", "kettle-maple-orbit")
