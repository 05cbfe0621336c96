from __future__ import annotations

import capstore
import pytest
from capstore.errors import CapstoreError, InvalidInput
from capstore.records import MAX_KEY_LENGTH, MAX_VALUE_BYTES, validate_key, validate_value


def test_exported_members_are_what_we_meant() -> None:
    module_type = type(capstore)
    public = {
        name for name, obj in vars(capstore).items() if not name.startswith("_") and not isinstance(obj, module_type)
    }
    assert public == set(capstore.__all__)
    for name in capstore.__all__:
        obj = getattr(capstore, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, CapstoreError), f"{name} must derive from CapstoreError"


@pytest.mark.parametrize("key", ["", "a b", "k\n", "ключ", "x" * (MAX_KEY_LENGTH + 1), "a/b"])
def test_bad_keys_are_refused_precisely(key: str) -> None:
    with pytest.raises(InvalidInput):
        validate_key(key)


@pytest.mark.parametrize(
    "value",
    [
        "a\x00b",
        "\x07",
        "x" * (MAX_VALUE_BYTES + 1),
        "\ud800",
        "é" * (MAX_VALUE_BYTES // 2 + 1),  # fewer characters than the limit, more UTF-8 bytes
        "𝄞" * (MAX_VALUE_BYTES // 4 + 1),
    ],
)
def test_bad_values_are_refused_precisely(value: str) -> None:
    with pytest.raises(InvalidInput):
        validate_value(value)


def test_good_input_passes_through() -> None:
    assert validate_key("user:42.profile~v1") == "user:42.profile~v1"
    assert validate_value("héllo\twörld\n") == "héllo\twörld\n"
    assert validate_value("") == ""
    at_the_limit = "𝄞" * (MAX_VALUE_BYTES // 4)  # exactly MAX_VALUE_BYTES in UTF-8
    assert validate_value(at_the_limit) == at_the_limit
