"""A recurring object's raw text is kept packed in the sync state (zlib, then base64 behind a
colon); stores written before hold it in base85, which must still read."""

from __future__ import annotations

import base64
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mendcrm.sources.state import pack_text, unpack_text

TEXTS = [
    "",
    "BEGIN:VCALENDAR\r\nSUMMARY:Café – Ünïcode ✓\r\nEND:VCALENDAR\r\n",
    "x" * 100_000,
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_packed_text_reads_back_and_is_json_safe_base64(text: str) -> None:
    packed = pack_text(text)
    assert packed.startswith(":")
    # Base64's alphabet (RFC 4648 §4) holds nothing JSON escapes.
    assert set(packed[1:]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    )
    assert unpack_text(packed) == text


@pytest.mark.parametrize("text", TEXTS)
def test_a_text_packed_in_base85_by_an_older_store_still_reads(text: str) -> None:
    older = base64.b85encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")
    assert not older.startswith(":")  # the colon is not in base85's alphabet (RFC 1924 §4)
    assert unpack_text(older) == text


@given(st.text())
def test_any_text_survives_packing(text: str) -> None:
    assert unpack_text(pack_text(text)) == text
