"""Strict, bounded JSON parsing for everything that arrives over MQTT.

Python's ``json.loads`` accepts far more than RFC 8259 interoperable JSON and can fail in
ways a service does not expect: it detects UTF-16/32 by itself, keeps the last of
duplicated keys, turns ``1e999`` into ``inf``, accepts ``NaN`` / ``Infinity``, decodes a
lone surrogate escape (``"\\ud800"``) into a string that cannot be encoded again, raises
``RecursionError`` on deep nesting and ``ValueError`` past 4,300 integer digits. Each of
these is a :class:`JsonRejected` here, with a stable ``reason`` for counting:

=================== ==================================================================
reason              when
=================== ==================================================================
``not_utf8``        bytes that are not UTF-8 (UTF-16/32, any byte-order mark, NUL)
``bad_json``        not JSON (syntax), or a non-text payload type
``too_deep``        objects/arrays nested deeper than ``max_depth``
``duplicate_key``   an object repeats a key
``not_finite``      ``NaN``, ``Infinity``, ``-Infinity``
``number_too_large`` an integer of more than 19 digits, or a float that overflows
``lone_surrogate``  a ``\\uD800``-``\\uDFFF`` escape that is not half of a pair
=================== ==================================================================

The depth is measured before parsing (a linear scan of the bracket structure outside
strings), so no recursion happens on hostile input.

References
----------
1. RFC 8259, "The JavaScript Object Notation (JSON) Data Interchange Format": section 4
   (names SHOULD be unique), 6 (numbers; IEEE 754 binary64 interoperability, NaN and
   Infinity not permitted), 8.1 (UTF-8 without a byte-order mark), 8.2 (unpaired
   surrogates), 9 (parsers may limit nesting depth and number sizes).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from firesight.errors import DataError

#: Reasons of :class:`JsonRejected`, stable for counting.
JSON_REASONS = ("not_utf8", "bad_json", "too_deep", "duplicate_key", "not_finite", "number_too_large",
                "lone_surrogate")

#: Most digits of an integer literal: 19 covers every signed 64-bit value [1, section 6].
MAX_INT_DIGITS = 19

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")
_BRACKETS = str.maketrans({c: None for c in map(chr, range(128)) if c not in "[]{}"})


class JsonRejected(DataError):
    """A JSON document was refused; ``reason`` is one of :data:`JSON_REASONS`."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(f"{reason}: {message}")


def _constant(name: str) -> Any:
    raise JsonRejected("not_finite", f"JSON constant {name} is not a finite number")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonRejected("number_too_large", f"integer of {len(text.lstrip('-'))} digits "
                                               f"(at most {MAX_INT_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected("number_too_large", f"number {text[:24]}{'...' if len(text) > 24 else ''} "
                                               "overflows a 64-bit float")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dupe = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise JsonRejected("duplicate_key", f"key {dupe[:64]!r} appears more than once in an object")
    return obj


_DECODER = json.JSONDecoder(parse_float=_float, parse_int=_int, parse_constant=_constant,
                            object_pairs_hook=_object, strict=True)


def nesting_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside strings [-] (0 for a scalar)."""
    if "[" not in text and "{" not in text:
        return 0
    skeleton = _STRING.sub("", text).translate(_BRACKETS)
    if not skeleton:
        return 0
    codes = np.frombuffer(skeleton.encode("ascii", "ignore"), dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max(initial=0))


def to_text(payload: bytes | bytearray | memoryview | str) -> str:
    """The payload as text, refusing anything that is not UTF-8 without a byte-order mark."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRejected("not_utf8", f"payload is not UTF-8 (byte {exc.start})") from None
    elif isinstance(payload, str):
        text = payload
        if _SURROGATE.search(text):
            raise JsonRejected("lone_surrogate", "text holds an unpaired surrogate code point")
    else:
        raise JsonRejected("bad_json", f"payload must be bytes or text, got {type(payload).__name__}")
    if text.startswith("\ufeff"):
        raise JsonRejected("not_utf8", "payload starts with a byte-order mark (RFC 8259, 8.1)")
    if "\x00" in text:
        raise JsonRejected("not_utf8", "payload holds NUL characters (UTF-16 or UTF-32 text?)")
    return text


def loads(payload: bytes | bytearray | memoryview | str, *, max_depth: int = 32) -> Any:
    """Parse one JSON document strictly; raise :class:`JsonRejected` for anything refused.

    Parameters
    ----------
    payload : bytes or str
        The document (bytes must be UTF-8).
    max_depth : int
        Deepest nesting of objects and arrays accepted [-].
    """
    text = to_text(payload)
    # fewer opening brackets than the limit cannot nest deeper than it: skip the scan
    opening = _count_upto(text, "[", max_depth + 1) + _count_upto(text, "{", max_depth + 1)
    depth = nesting_depth(text) if opening > max_depth else opening
    if depth > max_depth:
        raise JsonRejected("too_deep", f"nesting depth {depth} exceeds {max_depth}")
    try:
        value = _DECODER.decode(text)
    except JsonRejected:
        raise
    except (ValueError, RecursionError, OverflowError) as exc:
        raise JsonRejected("bad_json", f"not valid JSON ({str(exc)[:120]})") from None
    # one-character ``in`` is a memchr; a two-character search over 51 KB of base64 is not
    if "\\" in text and ("\\u" in text or "\\U" in text):
        _check_surrogates(value)
    return value


def _count_upto(text: str, char: str, limit: int) -> int:
    """How often ``char`` occurs in ``text``, counting no further than ``limit`` [-].

    ``str.find`` of one character is a memchr, so a frame with two braces costs a few
    microseconds where ``str.count`` walks its 51 KB a byte at a time (~17 us).
    """
    count, pos = 0, text.find(char)
    while pos >= 0 and count < limit:
        count += 1
        pos = text.find(char, pos + 1)
    return count


def _check_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise JsonRejected("lone_surrogate", "a string holds an unpaired surrogate escape")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def dumps(value: Any) -> str:
    """Compact JSON that refuses NaN and infinities (the inverse of :func:`loads`)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
