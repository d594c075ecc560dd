#!/usr/bin/env python3
"""Regenerate the golden data in this directory, or compare our CLI with the reference.

The Go tests never need the Python reference: they read the files this script
writes. Regenerating (or checking) does need it.

    python3 testdata/golden/generate.py [--reference PATH]
        Rewrite count/cases.json and stores/*/ from the reference.

    python3 testdata/golden/generate.py --check BIN [--stores N] [--seed S] [--reference PATH] [--keep]
        Build N seeded random stores, recover one copy with the reference and
        another with `BIN recover --json --count-all DIR`, and compare the
        reports and the files left behind.

Standard library only (Python 3.11). Every random choice comes from a seeded
random.Random, so two runs write byte-identical files.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
DEFAULT_REFERENCE = REPO_ROOT / ".." / "shared" / "reference" / "session_recovery.py"

COUNT_DIR = HERE / "count"
STORES_DIR = HERE / "stores"

# Number of seeded random documents added to count/cases.json.
RANDOM_COUNT_CASES = 90


# ---------------------------------------------------------------------------
# A small JSON writer with knobs. Objects are Obj (a list of pairs, so a key
# may repeat); Raw text is written verbatim (odd numbers, pre-escaped keys).
# ---------------------------------------------------------------------------


class Obj:
    def __init__(self, pairs=()):
        self.pairs = list(pairs)

    def get(self, key):
        for k, v in reversed(self.pairs):
            if k == key:
                return v
        return None

    def set(self, key, value):
        for i, (k, _) in enumerate(self.pairs):
            if k == key:
                self.pairs[i] = (k, value)
                return
        self.pairs.append((key, value))


class Raw(str):
    pass


class Style:
    """How a document is spelled; never what it means."""

    def __init__(self, rng: random.Random):
        self.indent = rng.choice([None, None, None, 1, 2, 4, "\t"])
        self.spaced = rng.random() < 0.5          # ", " and ": " when compact
        self.ascii = rng.random() < 0.25           # \uXXXX for every non-ASCII char
        self.escape_slash = rng.random() < 0.15
        self.upper_hex = rng.random() < 0.5
        self.uescape_prob = rng.choice([0.0, 0.0, 0.02, 0.1])
        self.noise = rng.choice([0.0, 0.0, 0.0, 0.05, 0.2])  # stray whitespace between tokens
        self.crlf = rng.random() < 0.1
        self.final_newline = rng.random() < 0.6


SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _u(code: int, st: Style) -> str:
    if code > 0xFFFF:
        code -= 0x10000
        return _u(0xD800 + (code >> 10), st) + _u(0xDC00 + (code & 0x3FF), st)
    text = "\\u%04x" % code
    return text.upper().replace("\\U", "\\u") if st.upper_hex else text


def _quote(s: str, st: Style, rng: random.Random) -> str:
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append(SHORT_ESCAPES[ch])
        elif ch == "/" and st.escape_slash:
            out.append("\\/")
        elif code < 0x20:
            if ch in SHORT_ESCAPES and rng.random() < 0.8:
                out.append(SHORT_ESCAPES[ch])
            else:
                out.append(_u(code, st))
        elif code > 0x7E and (st.ascii or rng.random() < st.uescape_prob):
            out.append(_u(code, st))
        elif st.uescape_prob and rng.random() < st.uescape_prob / 5:
            out.append(_u(code, st))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _ws(st: Style, rng: random.Random) -> str:
    if st.noise and rng.random() < st.noise:
        return "".join(rng.choice(" \t\n\r") for _ in range(rng.randint(1, 3)))
    return ""


def _dump(v, st: Style, rng: random.Random, depth: int) -> str:
    if isinstance(v, Raw):
        return str(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return _quote(v, st, rng)
    if isinstance(v, list):
        items = []
        for x in v:  # a plain loop: one stack frame per nesting level
            items.append(_dump(x, st, rng, depth + 1))
        return _container("[", "]", items, st, rng, depth)
    if isinstance(v, Obj):
        colon = ": " if (st.spaced or st.indent is not None) else ":"
        items = []
        for k, x in v.pairs:
            key = str(k) if isinstance(k, Raw) else _quote(k, st, rng)
            items.append(key + _ws(st, rng) + colon + _ws(st, rng) + _dump(x, st, rng, depth + 1))
        return _container("{", "}", items, st, rng, depth)
    raise TypeError(type(v))


def _container(open_, close, items, st: Style, rng: random.Random, depth: int) -> str:
    if not items:
        return open_ + _ws(st, rng) + close
    if st.indent is None or depth > 20:
        sep = ", " if st.spaced else ","
        return open_ + _ws(st, rng) + (sep + _ws(st, rng)).join(items) + _ws(st, rng) + close
    unit = st.indent if isinstance(st.indent, str) else " " * st.indent
    inner = "\n" + unit * (depth + 1)
    return open_ + inner + ("," + inner).join(items) + "\n" + unit * depth + close


def dumps(v, st: Style, rng: random.Random) -> bytes:
    text = _dump(v, st, rng, 0)
    if st.final_newline:
        text += "\n"
    if st.crlf:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8")


# ---------------------------------------------------------------------------
# Random OpenAI-style session documents.
# ---------------------------------------------------------------------------

WORDS = [
    "hello", "weather", "Paris", "the", "quick", "brown", "fox", "please", "summarise",
    "session", "recover", "backup", "tokens", "error", "retry", "ok", "thanks", "JSON",
    "why", "does", "this", "fail", "list", "files", "in", "/tmp", "C:\\Users", "null",
]
UNICODE_BITS = [
    "é", "ü", "ß", "Ω", "日本語", "中文", "한국어", "😀", "🚀", "👩‍💻", "עברית", "العربية",
    "e\u0301", "\u2028", "\u2029", "\u00a0", "\ufeff", "\ufffd", "\U0010ffff", "\u0085", "\uffff",
]
SPECIAL_BITS = ['"', "\\", "/", "\n", "\t", "\r", "\b", "\f", "\x00", "\x1f", "\x7f", "</script>", '{"a": [1]}', "\\u0041"]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "o3", "llama-3.1-70b"]
TOOLS = ["get_weather", "read_file", "search", "run_shell", "calendar.create"]


def rand_text(rng: random.Random, max_words: int = 10) -> str:
    parts = []
    for _ in range(rng.randint(0, max_words)):
        r = rng.random()
        if r < 0.72:
            parts.append(rng.choice(WORDS))
        elif r < 0.9:
            parts.append(rng.choice(UNICODE_BITS))
        else:
            parts.append(rng.choice(SPECIAL_BITS))
    return " ".join(parts)


def rand_number(rng: random.Random):
    r = rng.random()
    if r < 0.4:
        return rng.randint(-1000, 100000)
    if r < 0.6:
        return round(rng.uniform(-1e6, 1e6), rng.randint(0, 6))
    return Raw(rng.choice([
        "0", "-0", "0.0", "-0.0", "1e5", "2.5E-3", "1E+2", "6.02e23", "-1.5e-10",
        "12345678901234567890123", "9007199254740993", "1e400", "4.9e-324", "0e0",
        "NaN", "Infinity", "-Infinity",
    ]))


def rand_scalar(rng: random.Random):
    return rng.choice([
        lambda: None, lambda: True, lambda: False,
        lambda: rand_number(rng), lambda: rand_text(rng, 3),
    ])()


def rand_message(rng: random.Random, i: int) -> Obj:
    r = rng.random()
    m = Obj()
    if i == 0 and r < 0.5:
        m.pairs += [("role", "system"), ("content", rand_text(rng, 12))]
    elif r < 0.45:
        if rng.random() < 0.2:
            parts = [Obj([("type", "text"), ("text", rand_text(rng))]) for _ in range(rng.randint(1, 2))]
            m.pairs += [("role", "user"), ("content", parts)]
        else:
            m.pairs += [("role", "user"), ("content", rand_text(rng))]
    elif r < 0.85:
        m.pairs.append(("role", "assistant"))
        if rng.random() < 0.3:
            calls = []
            for _ in range(rng.randint(1, 2)):
                args = {"q": rand_text(rng, 3), "n": rng.randint(0, 9)}
                calls.append(Obj([
                    ("id", "call_%08x" % rng.getrandbits(32)),
                    ("type", "function"),
                    ("function", Obj([("name", rng.choice(TOOLS)),
                                      ("arguments", json.dumps(args, ensure_ascii=rng.random() < 0.5))])),
                ]))
            m.pairs += [("content", None), ("tool_calls", calls)]
        else:
            m.pairs.append(("content", rand_text(rng, 14)))
    else:
        m.pairs += [("role", "tool"), ("tool_call_id", "call_%08x" % rng.getrandbits(32)),
                    ("content", json.dumps({"result": rand_text(rng, 4), "ok": rng.random() < 0.8}))]
    for key, make in (("timestamp", lambda: round(1.7e9 + rng.uniform(0, 3e7), 3)),
                      ("tokens", lambda: rng.randint(0, 4000)),
                      ("edited", lambda: rng.random() < 0.5),
                      ("meta", lambda: rand_scalar(rng))):
        if rng.random() < 0.25:
            m.pairs.append((key, make()))
    if rng.random() < 0.3:
        rng.shuffle(m.pairs)
    return m


def rand_session_obj(rng: random.Random, n_msgs: int) -> Obj:
    pairs = [
        ("session_id", "%08x" % rng.getrandbits(32)),
        ("title", rand_text(rng, 5)),
        ("model", rng.choice(MODELS)),
        ("created_at", round(1.7e9 + rng.uniform(0, 3e7), 3)),
        ("pinned", rng.random() < 0.2),
        ("archived", rng.random() < 0.1),
        ("workspace", rng.choice([None, "/home/user/project", "C:\\work", "~/café"])),
        ("tags", [rand_text(rng, 1) for _ in range(rng.randint(0, 3))]),
        ("token_usage", Obj([("prompt", rng.randint(0, 99999)), ("completion", rng.randint(0, 9999))])),
    ]
    pairs = [p for p in pairs if rng.random() < 0.8]
    msgs = [rand_message(rng, i) for i in range(n_msgs)]
    pairs.insert(rng.randint(0, len(pairs)), ("messages", msgs))
    return Obj(pairs)


def rand_msg_count(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.1:
        return 0
    if r < 0.9:
        return rng.randint(1, 10)
    return rng.randint(11, 40)


def big_int(digits: int, negative: bool = False) -> Raw:
    text = "".join(str((i * 7 + 3) % 10) for i in range(digits))
    return Raw(("-" if negative else "") + "9" + text[1:])


def nested_list(depth: int):
    """A value that is `depth` lists deep: nested_list(1) == []."""
    v: list = []
    for _ in range(depth - 1):
        v = [v]
    return v


# Value-level mutations: change what the document means, then spell it normally.
def _mut_messages_type(rng, doc):
    doc.set("messages", rng.choice([Obj([("0", "x")]), "messages", None, 3, True, Obj()]))
    return doc


def _mut_drop_messages(rng, doc):
    doc.pairs = [p for p in doc.pairs if p[0] != "messages"]
    return doc


def _mut_rename_key(rng, doc):
    new = rng.choice(["Messages", "message", "messages ", " messages", "msgs", Raw('"messag\\u0065s"'),
                      Raw('"\\u006D\\u0065ssages"')])
    doc.pairs = [(new if k == "messages" else k, v) for k, v in doc.pairs]
    return doc


def _mut_dup_key(rng, doc):
    other = rng.choice([[], [1], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], "x", None, Obj()])
    key = rng.choice(["messages", "messages", Raw('"messag\\u0065s"')])
    if rng.random() < 0.5:
        doc.pairs.insert(0, (key, other))
    else:
        doc.pairs.append((key, other))
    return doc


def _mut_nest(rng, doc):
    return Obj([("data", doc), ("version", 2)])


def _mut_top_list(rng, doc):
    return [doc] if rng.random() < 0.7 else doc.get("messages") or []


def _mut_deep(rng, doc):
    msgs = doc.get("messages")
    if isinstance(msgs, list):
        msgs.append(nested_list(rng.choice([10, 100, 300, 497])))
    return doc


def _mut_special_number(rng, doc):
    doc.pairs.insert(rng.randint(0, len(doc.pairs)), ("score", rng.choice([
        Raw("NaN"), Raw("-Infinity"), Raw("Infinity"), Raw("-NaN"), Raw("nan"), Raw("01"), Raw("1."),
        Raw(".5"), Raw("+1"), Raw("1e"), big_int(4300), big_int(4301), big_int(4300, True), big_int(4301, True),
    ])))
    return doc


VALUE_MUTATIONS = [_mut_messages_type, _mut_drop_messages, _mut_rename_key, _mut_dup_key, _mut_dup_key,
                   _mut_nest, _mut_top_list, _mut_deep, _mut_special_number, _mut_special_number]

INTERESTING_BYTES = [0x00, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x1F, 0x20, 0x22, 0x2C, 0x2D, 0x2E, 0x30, 0x3A,
                     0x5B, 0x5C, 0x5D, 0x7B, 0x7D, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xED, 0xEF, 0xF4, 0xF5, 0xFF]
BAD_UTF8 = [b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
            b"\xe2\x82", b"\xf0\x9f\x98", b"\x80", b"\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xfe",
            b"\xff", b"\xe9"]
GOOD_UTF8 = [b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf",
             b"\xef\xbb\xbf", b"\x7f"]
BOM = b"\xef\xbb\xbf"


def _quote_positions(doc: bytes) -> list[int]:
    return [i for i, b in enumerate(doc) if b == 0x22]


def _insert_after_quote(rng, doc: bytes, seq: bytes) -> bytes:
    qs = _quote_positions(doc)
    if not qs:
        return doc + seq
    i = rng.choice(qs) + 1
    return doc[:i] + seq + doc[i:]


def _bmut_truncate(rng, doc):
    return doc[:rng.randrange(len(doc))] if doc else doc


def _bmut_flip(rng, doc):
    if not doc:
        return doc
    i = rng.randrange(len(doc))
    return doc[:i] + bytes([doc[i] ^ (1 << rng.randrange(8))]) + doc[i + 1:]


def _bmut_insert(rng, doc):
    i = rng.randint(0, len(doc))
    return doc[:i] + bytes([rng.choice(INTERESTING_BYTES)]) + doc[i:]


def _bmut_delete(rng, doc):
    if not doc:
        return doc
    i = rng.randrange(len(doc))
    return doc[:i] + doc[i + 1:]


def _bmut_bom(rng, doc):
    return BOM + doc


def _bmut_trailing(rng, doc):
    return doc + rng.choice([b" ", b"\n", b"\r\n", b"\t", b"\x0c", b"x", b",", b"{}", b"\x00", b"]", b"\xc2\xa0"])


def _bmut_leading(rng, doc):
    return rng.choice([b" ", b"\n\n", b"\r\n", b"\t", b"\x0c", b"\x0b", b"\x00"]) + doc


def _bmut_trailing_comma(rng, doc):
    closes = [i for i, b in enumerate(doc) if b in (0x5D, 0x7D)]
    if not closes:
        return doc
    i = rng.choice(closes)
    return doc[:i] + b"," + doc[i:]


def _bmut_bad_utf8(rng, doc):
    return _insert_after_quote(rng, doc, rng.choice(BAD_UTF8))


def _bmut_good_utf8(rng, doc):
    return _insert_after_quote(rng, doc, rng.choice(GOOD_UTF8))


def _bmut_raw_control(rng, doc):
    return _insert_after_quote(rng, doc, bytes([rng.choice([0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1B, 0x1F])]))


def _bmut_bad_escape(rng, doc):
    return _insert_after_quote(rng, doc, rng.choice([b"\\x41", b"\\a", b"\\'", b"\\U0041", b"\\u12", b"\\u12G4",
                                                     b"\\u 123", b"\\u+123", b"\\u1_23", b"\\ud800", b"\\/"]))


BYTE_MUTATIONS = [_bmut_truncate, _bmut_truncate, _bmut_flip, _bmut_flip, _bmut_insert, _bmut_insert,
                  _bmut_delete, _bmut_bom, _bmut_trailing, _bmut_leading, _bmut_trailing_comma,
                  _bmut_bad_utf8, _bmut_good_utf8, _bmut_raw_control, _bmut_bad_escape]


def rand_doc(rng: random.Random, n_msgs: int | None = None, mutate: float = 0.0) -> bytes:
    """A random session document; with probability `mutate` it is bent a little."""
    if n_msgs is None:
        n_msgs = rand_msg_count(rng)
    doc = rand_session_obj(rng, n_msgs)
    bent = rng.random() < mutate
    if bent and rng.random() < 0.45:
        doc = rng.choice(VALUE_MUTATIONS)(rng, doc)
    data = dumps(doc, Style(rng), rng)
    if bent and (rng.random() < 0.7):
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return data


def corrupt(rng: random.Random, data: bytes) -> bytes:
    """Bend a document at the byte level (the result is usually, not always, invalid)."""
    for _ in range(rng.choice([1, 1, 2])):
        data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return data


def session_pair(rng: random.Random, n_live: int, n_bak: int) -> tuple[bytes, bytes]:
    """The same session spelled the same way, with n_live and n_bak messages."""
    doc = rand_session_obj(rng, max(n_live, n_bak))
    msgs = doc.get("messages")
    st = Style(rng)
    seed = rng.getrandbits(32)
    out = []
    for n in (n_live, n_bak):
        doc.set("messages", msgs[:n])
        out.append(dumps(doc, st, random.Random(seed)))
    return out[0], out[1]


def session_doc(rng: random.Random, n: int) -> bytes:
    return dumps(rand_session_obj(rng, n), Style(rng), rng)


def messages_doc(n: int, body: bytes = b"{}") -> bytes:
    return b'{"messages":[' + b",".join([body] * n) + b"]}"


# ---------------------------------------------------------------------------
# count/cases.json
# ---------------------------------------------------------------------------


def hand_count_cases() -> list[tuple[str, bytes]]:
    c: list[tuple[str, bytes]] = []

    def add(name: str, doc: bytes | str):
        c.append((name, doc.encode("utf-8") if isinstance(doc, str) else doc))

    m1 = b'{"role":"user","content":"hi"}'

    # Counting.
    add("count_zero", b'{"messages":[]}')
    add("count_one", b'{"messages":[' + m1 + b"]}")
    add("count_three", b'{"messages":[' + b",".join([m1] * 3) + b"]}")
    add("count_1000", messages_doc(1000, m1))
    add("count_elements_of_any_type", b'{"messages":[null,true,false,0,-1.5,"s",[],{}]}')
    add("count_inner_list_is_one_element", b'{"messages":[[1,2,3]]}')
    add("count_ignores_other_keys", b'{"title":"t","messages":[1],"meta":{"messages":[1,2]},"n":[1,2,3]}')
    add("count_messages_not_first_key", b'{"a":1,"b":{"c":[{}]},"messages":[1,2]}')
    add("count_empty_key_and_value", b'{"":"","messages":[""]}')
    add("openai_session_pretty", json.dumps({
        "title": "Weather", "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Weather in Paris? ☀️"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21.5}"},
            {"role": "assistant", "content": "It is 21.5 °C."},
        ]}, indent=2, ensure_ascii=False))

    # Where "messages" lives and what it holds.
    add("nested_messages_only_in_child", b'{"data":{"messages":[1,2]}}')
    add("nested_messages_inside_messages", b'{"messages":[{"messages":[1,2,3]}]}')
    add("messages_missing", b'{"title":"x"}')
    add("messages_key_capitalised", b'{"Messages":[1]}')
    add("messages_key_trailing_space", b'{"messages ":[1]}')
    add("messages_key_leading_space", b'{" messages":[1]}')
    add("messages_key_singular", b'{"message":[1]}')
    add("messages_object", b'{"messages":{"0":{"role":"user"}}}')
    add("messages_object_empty", b'{"messages":{}}')
    add("messages_string", b'{"messages":"[1,2,3]"}')
    add("messages_string_empty", b'{"messages":""}')
    add("messages_null", b'{"messages":null}')
    add("messages_number", b'{"messages":3}')
    add("messages_true", b'{"messages":true}')
    add("top_level_empty_list", b"[]")
    add("top_level_list_of_sessions", b'[{"messages":[1]}]')
    add("top_level_empty_object", b"{}")
    add("top_level_string", b'"messages"')
    add("top_level_number", b"42")
    add("top_level_null", b"null")
    add("top_level_true", b"true")

    # Duplicate and escaped keys: the last spelling of the key wins.
    add("dup_list_then_string", b'{"messages":[1,2],"messages":"x"}')
    add("dup_string_then_list", b'{"messages":"x","messages":[1,2]}')
    add("dup_long_then_short", b'{"messages":[1,2,3,4,5],"messages":[1]}')
    add("dup_short_then_long", b'{"messages":[1],"messages":[1,2,3,4,5]}')
    add("dup_list_then_null", b'{"messages":[1],"messages":null}')
    add("dup_three_times", b'{"messages":[1],"messages":{},"messages":[1,2,3]}')
    add("dup_escaped_key_last_wins", b'{"messages":[1],"messag\\u0065s":[1,2,3]}')
    add("dup_plain_key_last_wins", b'{"messag\\u0065s":[1,2,3],"messages":[1]}')
    add("escaped_key_one_char", b'{"messag\\u0065s":[1,2]}')
    add("escaped_key_every_char_upper_hex", b'{"\\u006D\\u0065\\u0073\\u0073\\u0061\\u0067\\u0065\\u0073":[1]}')
    add("escaped_key_with_nul", b'{"messages\\u0000":[1]}')
    add("escaped_key_solidus", b'{"messages\\/":[1]}')
    add("escaped_key_solidus_is_slash", b'{"\\/":1,"messages":[1]}')

    # Byte order marks and encodings.
    add("bom_before_document", BOM + b'{"messages":[1]}')
    add("bom_after_leading_space", b" " + BOM + b'{"messages":[1]}')
    add("bom_inside_string_is_fine", b'{"messages":["' + BOM + b'x"]}')
    add("bom_after_document", b'{"messages":[1]}' + BOM)
    add("bom_only", BOM)
    add("utf16le_with_bom", b"\xff\xfe" + '{"messages":[1]}'.encode("utf-16-le"))
    add("utf16be_without_bom", '{"messages":[1]}'.encode("utf-16-be"))
    add("utf32le", '{"messages":[1]}'.encode("utf-32-le"))

    # UTF-8 inside strings.
    for name, seq in [("utf8_2byte_e_acute", b"\xc3\xa9"), ("utf8_3byte_euro", b"\xe2\x82\xac"),
                      ("utf8_4byte_emoji", b"\xf0\x9f\x98\x80"), ("utf8_u_ffff", b"\xef\xbf\xbf"),
                      ("utf8_u_fffe_noncharacter", b"\xef\xbf\xbe"), ("utf8_max_u_10ffff", b"\xf4\x8f\xbf\xbf"),
                      ("utf8_c1_control_u_0085", b"\xc2\x85"), ("utf8_line_separator_u_2028", b"\xe2\x80\xa8"),
                      ("utf8_replacement_char", b"\xef\xbf\xbd"), ("utf8_last_before_surrogates", b"\xed\x9f\xbf"),
                      ("utf8_first_after_surrogates", b"\xee\x80\x80"),
                      ("bad_utf8_overlong_2byte_c0", b"\xc0\xaf"), ("bad_utf8_overlong_2byte_c1", b"\xc1\xbf"),
                      ("bad_utf8_overlong_3byte", b"\xe0\x80\xaf"), ("bad_utf8_overlong_4byte", b"\xf0\x80\x80\xaf"),
                      ("bad_utf8_surrogate_high_ed_a0_80", b"\xed\xa0\x80"),
                      ("bad_utf8_surrogate_low_ed_bf_bf", b"\xed\xbf\xbf"),
                      ("bad_utf8_cesu_pair", b"\xed\xa0\xbd\xed\xb8\x80"),
                      ("bad_utf8_truncated_2byte", b"\xc3"), ("bad_utf8_truncated_3byte", b"\xe2\x82"),
                      ("bad_utf8_truncated_4byte", b"\xf0\x9f\x98"), ("bad_utf8_stray_continuation", b"\x80"),
                      ("bad_utf8_stray_continuation_bf", b"\xbf"), ("bad_utf8_above_10ffff", b"\xf4\x90\x80\x80"),
                      ("bad_utf8_f5_lead", b"\xf5\x80\x80\x80"), ("bad_utf8_byte_fe", b"\xfe"),
                      ("bad_utf8_byte_ff", b"\xff"), ("bad_utf8_latin1_e_acute", b"caf\xe9"),
                      ("bad_utf8_5byte_form", b"\xf8\x88\x80\x80\x80")]:
        add(name, b'{"messages":["a' + seq + b'b"]}')
    add("bad_utf8_in_key", b'{"k\xff":1,"messages":[1]}')
    add("bad_utf8_in_other_field", b'{"title":"\xed\xa0\x80","messages":[1]}')
    add("bad_utf8_between_tokens", b'{"messages":[1]\x80}')
    add("bad_utf8_truncated_at_eof", b'{"messages":[1]}\xe2\x82')
    add("utf8_raw_non_ascii_key", '{"日本語":"😀","messages":["é"]}')

    # Raw control characters in strings (0x7f is not a control character here).
    for name, ch in [("raw_tab_in_string", b"\t"), ("raw_newline_in_string", b"\n"),
                     ("raw_cr_in_string", b"\r"), ("raw_nul_in_string", b"\x00"),
                     ("raw_0x1f_in_string", b"\x1f"), ("raw_escape_0x1b_in_string", b"\x1b")]:
        add(name, b'{"messages":["a' + ch + b'b"]}')
    add("raw_del_0x7f_in_string_is_fine", b'{"messages":["a\x7fb"]}')
    add("raw_tab_in_key", b'{"a\tb":1,"messages":[1]}')

    # Escapes.
    add("escapes_all_valid", b'{"messages":["\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20AC \\u0000"]}')
    add("escape_surrogate_pair", b'{"messages":["\\ud83d\\ude00"]}')
    add("escape_lone_high_surrogate", b'{"messages":["\\ud800"]}')
    add("escape_lone_low_surrogate", b'{"messages":["\\udc00"]}')
    add("escape_reversed_surrogates", b'{"messages":["\\udc00\\ud800"]}')
    add("escape_high_surrogate_then_letter", b'{"messages":["\\ud800\\u0041"]}')
    add("escape_lone_surrogate_in_key", b'{"\\ud800":1,"messages":[1]}')
    for name, esc in [("bad_escape_x", b"\\x41"), ("bad_escape_a", b"\\a"), ("bad_escape_single_quote", b"\\'"),
                      ("bad_escape_capital_u", b"\\U0041"), ("bad_escape_zero", b"\\0"),
                      ("bad_escape_u_short", b"\\u12"), ("bad_escape_u_non_hex", b"\\u12G4"),
                      ("bad_escape_u_space", b"\\u 123"), ("bad_escape_u_plus", b"\\u+123"),
                      ("bad_escape_u_minus", b"\\u-123"), ("bad_escape_u_underscore", b"\\u1_23"),
                      ("bad_escape_u_0x", b"\\u0x12"), ("bad_escape_backslash_newline", b"\\\n")]:
        add(name, b'{"messages":["a' + esc + b'b"]}')
    add("bad_escape_backslash_at_end", b'{"messages":["ab\\')
    add("bad_string_unterminated", b'{"messages":["ab]}')
    add("bad_string_single_quotes", b"{'messages':[1]}")

    # Numbers.
    for name, num in [("number_zero", b"0"), ("number_minus_zero", b"-0"), ("number_fraction", b"1.5"),
                      ("number_exponent", b"-1.5e10"), ("number_exponent_plus_upper", b"1E+2"),
                      ("number_exponent_minus", b"1e-2"), ("number_zero_exponent", b"0e0"),
                      ("number_big_int_30_digits", b"123456789012345678901234567890"),
                      ("number_overflow_to_infinity", b"1e400"), ("number_negative_overflow", b"-1e400"),
                      ("number_underflow", b"1e-400"), ("number_smallest_subnormal", b"4.9e-324"),
                      ("number_nan", b"NaN"), ("number_infinity", b"Infinity"), ("number_minus_infinity", b"-Infinity"),
                      ("bad_number_leading_zero", b"01"), ("bad_number_minus_leading_zero", b"-01"),
                      ("bad_number_double_zero", b"00"), ("bad_number_trailing_dot", b"1."),
                      ("bad_number_leading_dot", b".5"), ("bad_number_plus", b"+1"), ("bad_number_bare_e", b"1e"),
                      ("bad_number_e_plus", b"1e+"), ("bad_number_minus_alone", b"-"), ("bad_number_double_minus", b"--1"),
                      ("bad_number_hex", b"0x10"), ("bad_number_underscore", b"1_000"), ("bad_number_two_dots", b"1.5.5"),
                      ("bad_number_fraction_exponent", b"1e5.5"), ("bad_number_minus_nan", b"-NaN"),
                      ("bad_number_lower_nan", b"nan"), ("bad_number_inf", b"inf"),
                      ("bad_number_lower_infinity", b"infinity"), ("bad_number_plus_infinity", b"+Infinity"),
                      ("bad_number_minus_space", b"- 1")]:
        add(name, b'{"n":' + num + b',"messages":[' + num + b"]}")
    add("nan_infinity_everywhere", b'{"a":NaN,"b":[Infinity,-Infinity],"messages":[NaN,Infinity,-Infinity]}')
    add("bad_nan_as_key", b'{NaN:1,"messages":[1]}')
    add("top_level_nan", b"NaN")

    # Python's int() refuses more than 4300 digits; floats have no such limit.
    for digits, neg in [(4300, False), (4301, False), (4300, True), (4301, True)]:
        sign = "neg_" if neg else ""
        add(f"int_{sign}{digits}_digits_in_messages", b'{"messages":[' + big_int(digits, neg).encode() + b"]}")
    add("int_4301_digits_in_other_field", b'{"n":' + big_int(4301).encode() + b',"messages":[1]}')
    add("int_4301_digits_with_fraction_is_float", b'{"messages":[' + big_int(4301).encode() + b".5]}")
    add("int_4301_digits_with_exponent_is_float", b'{"messages":[' + big_int(4301).encode() + b"e0]}")
    add("float_5000_fraction_digits", b'{"messages":[0.' + b"3" * 5000 + b"]}")
    add("float_5000_digits_overflow", b'{"messages":[' + b"9" * 5000 + b".0]}")

    # Whitespace and what follows the document.
    add("leading_and_trailing_whitespace", b' \t\r\n{"messages":[1]} \t\r\n')
    add("whitespace_between_every_token", b' { "messages" : [ 1 , 2 ] } ')
    add("crlf_line_endings", b'{\r\n  "messages": [\r\n    1,\r\n    2\r\n  ]\r\n}\r\n')
    add("lone_cr_line_endings", b'{\r"messages":\r[1]\r}\r')
    add("form_feed_after_document", b'{"messages":[1]}\x0c')
    add("form_feed_before_document", b'\x0c{"messages":[1]}')
    add("vertical_tab_after_document", b'{"messages":[1]}\x0b')
    add("nbsp_between_tokens", b'{"messages":\xc2\xa0[1]}')
    add("line_separator_between_tokens", b'{"messages":\xe2\x80\xa8[1]}')
    add("nul_after_document", b'{"messages":[1]}\x00')
    add("empty_file", b"")
    add("whitespace_only", b" \n\t\r\n")
    add("trailing_garbage_letter", b'{"messages":[1]}x')
    add("trailing_second_object", b'{"messages":[1]}{}')
    add("trailing_second_document", b'{"messages":[1]}\n{"messages":[1,2]}\n')
    add("trailing_close_bracket", b'{"messages":[1]}]')
    add("trailing_line_comment", b'{"messages":[1]} // done')
    add("comment_inside", b'{"messages":[1] /* c */}')

    # Structure.
    add("trailing_comma_in_list", b'{"messages":[1,2,]}')
    add("trailing_comma_in_object", b'{"messages":[1,2],}')
    add("trailing_comma_after_document", b'{"messages":[1]},')
    add("leading_comma_in_list", b'{"messages":[,1]}')
    add("double_comma_in_list", b'{"messages":[1,,2]}')
    add("missing_comma_in_list", b'{"messages":[1 2]}')
    add("missing_colon", b'{"messages" [1]}')
    add("unquoted_key", b"{messages:[1]}")
    add("python_literals", b'{"messages":[True,None]}')
    add("literal_typo_tru", b'{"messages":[tru]}')
    add("literal_typo_nul", b'{"messages":[nul]}')
    add("literal_too_long_falsey", b'{"messages":[falsey]}')
    add("unterminated_list", b'{"messages":[1,2')
    add("unterminated_object", b'{"messages":[1,2]')
    add("extra_close_brace", b'{"messages":[1,2]}}')
    add("non_string_key", b'{1:2,"messages":[1]}')

    # Nesting (well below the depth where Python's parser overflows its stack).
    for depth in (3, 100, 499, 500):
        add(f"depth_{depth}_lists_in_messages", b'{"messages":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}")
    add("depth_500_objects_beside_messages",
        b'{"a":' + b'{"a":' * 498 + b"1" + b"}" * 498 + b',"messages":[1,2]}')
    add("depth_500_then_trailing_comma",
        b'{"messages":' + b"[" * 499 + b"]" * 498 + b",]}")
    return c


def random_count_cases(n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        rng = random.Random(f"count-case:{i}")
        mutate = 0.0 if i % 4 == 0 else 1.0
        kind = "valid" if mutate == 0.0 else "mutated"
        out.append((f"random_{kind}_{i:03d}", rand_doc(rng, mutate=mutate)))
    return out


class Reference:
    """The reference module, loaded from its path."""

    def __init__(self, path: Path):
        self.path = path.resolve()
        if not self.path.is_file():
            sys.exit(f"reference not found: {self.path} (pass --reference PATH)")
        sys.dont_write_bytecode = True  # leave no __pycache__ beside the reference
        spec = importlib.util.spec_from_file_location("session_recovery_reference", self.path)
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)

    def count(self, doc: bytes, scratch: Path) -> int:
        f = scratch / "doc.json"
        f.write_bytes(doc)
        return self.module._msg_count(f)

    def recover(self, directory: Path) -> dict:
        proc = subprocess.run([sys.executable, str(self.path), str(directory)],
                              capture_output=True, check=True)
        return json.loads(proc.stdout)


def build_count_cases(ref: Reference) -> list[dict]:
    cases = []
    names = set()
    with tempfile.TemporaryDirectory() as tmp:
        for name, doc in hand_count_cases() + random_count_cases(RANDOM_COUNT_CASES):
            assert name not in names, name
            names.add(name)
            try:
                count = ref.count(doc, Path(tmp))
            except RecursionError:
                print(f"count: skipped {name}: the reference raises RecursionError", file=sys.stderr)
                continue
            cases.append({"name": name, "doc_b64": base64.b64encode(doc).decode("ascii"), "count": count})
    return cases


# ---------------------------------------------------------------------------
# Stores.
# ---------------------------------------------------------------------------

Files = dict  # relative '/'-separated name -> bytes


def _rng(store: str, what: str) -> random.Random:
    return random.Random(f"store:{store}:{what}")


def store_shrunk_1000() -> Files:
    f: Files = {}
    # The #1558 shape: a metadata-only save dropped every message; the backup holds all 1000.
    live, bak = session_pair(_rng("shrunk", "other"), 0, 12)
    doc = Obj([("session_id", "20240503_204455_ab12cd"), ("title", "long chat"), ("model", "gpt-4o")])
    st = Style(_rng("shrunk", "style"))
    st.indent, st.noise, st.crlf = None, 0.0, False
    msgs = [Obj([("role", "user" if i % 2 == 0 else "assistant"), ("content", f"message {i}")]) for i in range(1000)]
    doc.pairs.append(("messages", msgs))
    f["20240503_204455_ab12cd.json.bak"] = dumps(doc, st, _rng("shrunk", "bak"))
    doc.set("messages", msgs[:2])
    f["20240503_204455_ab12cd.json"] = dumps(doc, st, _rng("shrunk", "bak"))
    f["20240503_210000_000001.json"], f["20240503_210000_000001.json.bak"] = live, bak
    f["20240504_090000_aaaaaa.json"], f["20240504_090000_aaaaaa.json.bak"] = session_pair(_rng("shrunk", "eq"), 4, 4)
    f["20240504_091500_bbbbbb.json"], f["20240504_091500_bbbbbb.json.bak"] = session_pair(_rng("shrunk", "sm"), 6, 3)
    for i in range(6):
        f[f"20240505_1{i}0000_c{i}c{i}c{i}.json"] = session_doc(_rng("shrunk", f"plain{i}"), i * 2)
    f["_index.json"] = json.dumps(sorted(k[:-5] for k in f if k.endswith(".json"))).encode()
    return f


def store_backups_nothing_to_restore() -> Files:
    f: Files = {}
    for i, (n_live, n_bak) in enumerate([(3, 3), (5, 5), (7, 2), (1, 0), (0, 0), (12, 11)]):
        live, bak = session_pair(_rng("clean", str(i)), n_live, n_bak)
        f[f"s{i}.json"], f[f"s{i}.json.bak"] = live, bak
    # Same count, different bytes.
    f["same_count.json"] = session_doc(_rng("clean", "sc1"), 4)
    f["same_count.json.bak"] = session_doc(_rng("clean", "sc2"), 4)
    # Both unreadable: -1 is not greater than -1.
    f["both_corrupt.json"] = b'{"messages":[1,2'
    f["both_corrupt.json.bak"] = BOM + b'{"messages":[1,2,3]}'
    # Both non-sessions.
    f["both_lists.json"] = b"[1,2,3]"
    f["both_lists.json.bak"] = b"[1,2,3,4,5]"
    f["_index.json"] = b'["s0","s1","s2","s3","s4","s5"]\n'
    return f


def store_no_backups() -> Files:
    f: Files = {}
    for i in range(10):
        f[f"session-{i:02d}.json"] = rand_doc(_rng("nobak", str(i)), mutate=0.0 if i < 7 else 1.0)
    f["empty.json"] = b""
    f["list.json"] = b'[{"messages":[1]}]'
    f["bom.json"] = BOM + b'{"messages":[1]}'
    return f


def store_underscore_files() -> Files:
    f: Files = {}
    f["_index.json"] = b'["a","b","x_"]'
    f["_settings.json"] = b'{"theme":"dark","messages":[]}'
    f["_x.json"] = messages_doc(1)
    f["_x.json.bak"] = messages_doc(5)
    f["_.json"] = b'{"messages":[]}'
    f["_.json.bak"] = messages_doc(3)
    f["__init__.json"] = b"not json"
    f["_broken.json"] = b'{"messages":[1,'
    f["_broken.json.bak"] = messages_doc(2)
    f["_dir_marker.txt"] = b"underscore but not .json\n"
    # Only a leading underscore hides a file.
    f["x_.json"] = messages_doc(1)
    f["x_.json.bak"] = messages_doc(4)
    f["a_b.json"] = messages_doc(2)
    f["a_b.json.bak"] = messages_doc(1)
    f["a.json"], f["a.json.bak"] = session_pair(_rng("underscore", "a"), 2, 5)
    f["b.json"] = session_doc(_rng("underscore", "b"), 3)
    return f


def store_live_vs_backup() -> Files:
    f: Files = {}
    valid = lambda what, n: session_doc(_rng("lvb", what), n)  # noqa: E731
    f["list_live.json"] = b'[{"role":"user","content":"a"},{"role":"user","content":"b"}]'
    f["list_live.json.bak"] = valid("list_live", 2)
    f["corrupt_live.json"] = valid("corrupt_live", 6)[:-9]
    f["corrupt_live.json.bak"] = valid("corrupt_live_bak", 5)
    f["corrupt_bak.json"] = valid("corrupt_bak", 2)
    f["corrupt_bak.json.bak"] = valid("corrupt_bak_bak", 9)[:40]
    f["equal.json"], f["equal.json.bak"] = session_pair(_rng("lvb", "equal"), 4, 4)
    f["identical.json"] = f["identical.json.bak"] = valid("identical", 3)
    f["smaller_bak.json"], f["smaller_bak.json.bak"] = session_pair(_rng("lvb", "smaller"), 8, 5)
    f["bigger_bak.json"], f["bigger_bak.json.bak"] = session_pair(_rng("lvb", "bigger"), 5, 8)
    f["both_corrupt.json"] = b"{"
    f["both_corrupt.json.bak"] = b"}"
    f["empty_live.json"] = b""
    f["empty_live.json.bak"] = valid("empty_live", 1)
    # A backup with zero messages still beats an unreadable live file (0 > -1).
    f["zero_bak_beats_corrupt.json"] = b"\x00"
    f["zero_bak_beats_corrupt.json.bak"] = b'{"messages":[]}'
    f["no_messages_key.json"] = b'{"title":"metadata only"}'
    f["no_messages_key.json.bak"] = valid("no_messages_key", 2)
    f["string_live.json"] = b'"a string"'
    f["string_live.json.bak"] = valid("string_live", 1)
    f["list_bak.json"] = valid("list_bak", 1)
    f["list_bak.json.bak"] = b"[1,2,3,4,5,6,7,8,9]"
    f["messages_object_live.json"] = b'{"messages":{"0":{},"1":{}}}'
    f["messages_object_live.json.bak"] = b'{"messages":[{}]}'
    f["empty_both.json"] = b""
    f["empty_both.json.bak"] = b""
    f["empty_bak.json"] = valid("empty_bak", 0)
    f["empty_bak.json.bak"] = b""
    return f


def store_stray_files() -> Files:
    f: Files = {}
    f["a.json"] = session_doc(_rng("stray", "a"), 2)
    f["b.json"], f["b.json.bak"] = session_pair(_rng("stray", "b"), 1, 4)
    f["c.json"] = session_doc(_rng("stray", "c"), 3)
    # Backups whose session is gone: nothing to restore them onto.
    f["gone.json.bak"] = session_doc(_rng("stray", "gone"), 5)
    f["gone2.json.bak"] = b"{}"
    # Not sessions: not *.json (case-sensitive), or *.json with something after it.
    f["notes.txt"] = b"remember the milk\n"
    f["x.JSON"] = messages_doc(1)
    f["x.JSON.bak"] = messages_doc(4)
    f["Y.Json"] = messages_doc(1)
    f["y.json.tmp"] = messages_doc(9)
    f["z.json.replaced"] = messages_doc(3)
    f["z.json.replaced.2"] = messages_doc(2)
    f["a.json.bak.bak"] = messages_doc(7)
    f["a.json.BAK"] = messages_doc(7)
    f["c.json~"] = messages_doc(8)
    f["c.bak"] = messages_doc(8)
    f["session.json5"] = messages_doc(1)
    f["README.md"] = b"# sessions\n"
    return f


def store_odd_names() -> Files:
    f: Files = {}
    pair = lambda what, a, b: session_pair(_rng("odd", what), a, b)  # noqa: E731
    f["chat with spaces.json"], f["chat with spaces.json.bak"] = pair("spaces", 1, 3)
    f["  two leading spaces.json"] = session_doc(_rng("odd", "lead"), 2)
    f["café ☕.json"], f["café ☕.json.bak"] = pair("cafe", 2, 4)
    f["日本語のセッション.json"], f["日本語のセッション.json.bak"] = pair("ja", 5, 2)
    f["emoji 🚀 launch.json"] = session_doc(_rng("odd", "emoji"), 1)
    # Names that differ only in case are different sessions.
    f["Case.json"], f["Case.json.bak"] = pair("Case", 1, 6)
    f["case.json"], f["case.json.bak"] = pair("case", 6, 1)
    f["CASE.json.bak"] = messages_doc(9)
    f[".hidden.json"], f[".hidden.json.bak"] = pair("hidden", 0, 2)
    # The session id is everything before the last ".json"; the backup appends ".bak".
    f["a.b.json"], f["a.b.json.bak"] = pair("ab", 1, 3)
    f["a.json.bak"] = messages_doc(20)
    f["a.bak"] = messages_doc(20)
    f["x.json"], f["x.json.bak"] = pair("x", 5, 2)
    f["x.json.json"], f["x.json.json.bak"] = pair("xjj", 2, 5)
    f["semi;colon.json"], f["semi;colon.json.bak"] = pair("semi", 0, 1)
    f["quote'apostrophe.json"] = session_doc(_rng("odd", "quote"), 1)
    f["paren (1).json"], f["paren (1).json.bak"] = pair("paren", 1, 2)
    f["hash#percent%20plus+.json"], f["hash#percent%20plus+.json.bak"] = pair("hash", 3, 3)
    f["-leading-dash.json"] = session_doc(_rng("odd", "dash"), 1)
    f["l" * 200 + ".json"], f["l" * 200 + ".json.bak"] = pair("long", 1, 2)
    return f


def store_dot_json() -> Files:
    f: Files = {}
    # pathlib sees no suffix on ".json": its id is ".json" and its backup is ".json.json.bak",
    # the same backup ".json.json" uses.
    f[".json"] = messages_doc(1)
    f[".json.json.bak"] = messages_doc(3)
    f[".json.json"] = messages_doc(5)
    f[".json.bak"] = messages_doc(10)
    # "..json" has id "." and "...json" has id "..".
    f["..json"] = messages_doc(1)
    f["..json.bak"] = messages_doc(2)
    f["...json"] = messages_doc(2)
    f["...json.bak"] = messages_doc(1)
    f["s.json"], f["s.json.bak"] = session_pair(_rng("dot", "s"), 1, 2)
    f["t.json"] = session_doc(_rng("dot", "t"), 2)
    return f


def store_subdir() -> Files:
    f: Files = {}
    f["a.json"], f["a.json.bak"] = session_pair(_rng("sub", "a"), 3, 1)
    f["b.json"], f["b.json.bak"] = session_pair(_rng("sub", "b"), 1, 3)
    f["sub.json"] = session_doc(_rng("sub", "subjson"), 1)
    # The scan does not descend into directories.
    f["sub/s.json"], f["sub/s.json.bak"] = session_pair(_rng("sub", "s"), 1, 7)
    f["sub/_x.json"] = messages_doc(1)
    f["sub/corrupt.json"] = b"{"
    f["sub/corrupt.json.bak"] = messages_doc(2)
    f["sub/deeper/t.json"], f["sub/deeper/t.json.bak"] = session_pair(_rng("sub", "t"), 0, 4)
    f["other/notes.txt"] = b"nothing here\n"
    return f


def store_json_rules() -> Files:
    f: Files = {}
    v = lambda n: messages_doc(n, b'{"role":"user","content":"x"}')  # noqa: E731

    def case(name, live, bak):
        f[name + ".json"] = live
        if bak is not None:
            f[name + ".json.bak"] = bak

    case("bom_live", BOM + v(2), v(3))
    case("bom_bak", v(2), BOM + v(5))
    case("nan_live", b'{"score":NaN,"messages":[1,2]}', v(1))
    case("infinity_bak", v(1), b'{"messages":[Infinity,-Infinity,NaN]}')
    case("minus_nan_bak", v(1), b'{"messages":[-NaN,1,2]}')
    case("dup_keys_live_last_short", b'{"messages":[1,2,3,4],"messages":[1]}', v(2))
    case("dup_keys_bak_last_long", v(2), b'{"messages":"x","messages":[1,2,3]}')
    case("dup_keys_bak_last_string", v(1), b'{"messages":[1,2,3],"messages":"x"}')
    case("escaped_key_bak", v(2), b'{"messag\\u0065s":[1,2,3,4]}')
    case("bigint_4301_live", b'{"id":' + big_int(4301).encode() + b',"messages":[1,2]}', v(1))
    case("bigint_4300_live", b'{"id":' + big_int(4300).encode() + b',"messages":[1,2]}', v(1))
    case("bigint_4301_bak", v(1), b'{"id":-' + big_int(4301).encode() + b',"messages":[1,2,3]}')
    case("bigint_neg_4300_bak", v(1), b'{"id":-' + big_int(4300).encode() + b',"messages":[1,2,3]}')
    case("bad_utf8_surrogate_live", b'{"messages":["\xed\xa0\x80",1]}', v(1))
    case("bad_utf8_overlong_bak", v(1), b'{"messages":["\xc0\xaf",1,2]}')
    case("good_utf8_4byte_bak", v(1), '{"messages":["😀","\U0010ffff"]}'.encode())
    case("raw_tab_live", b'{"messages":["a\tb",1,2]}', v(1))
    case("raw_del_live", b'{"messages":["a\x7fb",1,2]}', v(1))
    case("lone_surrogate_escape_bak", v(1), b'{"messages":["\\ud800","\\udfff"]}')
    case("bad_escape_bak", v(1), b'{"messages":["\\x41",1,2]}')
    case("trailing_comma_live", b'{"messages":[1,2,3,],}', v(1))
    case("form_feed_live", v(3) + b"\x0c", v(1))
    case("crlf_live", b'{\r\n"messages": [1, 2]\r\n}\r\n', v(1))
    case("deep_500_live", b'{"messages":' + b"[" * 499 + b"]" * 499 + b"}", v(2))
    case("deep_500_bak", v(1), b'{"x":' + b"[" * 498 + b"]" * 498 + b',"messages":[1,2]}')
    case("trailing_garbage_bak", v(1), v(3) + b"x")
    case("leading_whitespace_bak", v(1), b" \t\r\n" + v(3))
    case("big_float_bak", v(1), b'{"messages":[' + b"1" * 4400 + b".5,1e400]}")
    return f


def random_store(rng: random.Random, sessions: tuple[int, int] = (6, 20), case_twins: bool = True) -> Files:
    """A seeded random store: sessions in every backup situation, plus the usual clutter.

    case_twins allows ids differing from another only in case; the committed random
    stores leave them out so that only odd_names needs a case-sensitive checkout.
    """
    f: Files = {}

    def new_id() -> str:
        while True:
            r = rng.random()
            if r < 0.45:
                sid = "2024%02d%02d_%02d%02d%02d_%06x" % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                                                         rng.randint(0, 59), rng.randint(0, 59), rng.getrandbits(24))
            elif r < 0.58:
                sid = "%08x-%04x-%04x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16))
            elif r < 0.66:
                sid = "chat " + rng.choice(WORDS[:18]) + " " + str(rng.randint(1, 99))
            elif r < 0.73:
                sid = rng.choice(["café", "日本語", "Ünïcødé", "emoji 🚀", "ñandú", "Ωmega"]) + str(rng.randint(1, 9))
            elif r < 0.79:
                sid = rng.choice(WORDS[:18]) + "." + rng.choice(WORDS[:18])
            elif r < 0.84:
                sid = "." + rng.choice(WORDS[:18])
            elif r < 0.89:
                sid = rng.choice(WORDS[:18]) + ".json"
            elif r < 0.94 or not case_twins:
                sid = "_" + rng.choice(WORDS[:18])
            else:
                existing = [k[:-5] for k in f if k.endswith(".json") and "/" not in k]
                sid = rng.choice(existing).swapcase() if existing else "Mixed"
            names = {sid + ".json", sid + ".json.bak"}
            if case_twins:
                clash = names & f.keys()
            else:
                clash = {n.lower() for n in names} & {k.lower() for k in f}
            if not clash:
                return sid

    for _ in range(rng.randint(*sessions)):
        sid = new_id()
        live_name, bak_name = sid + ".json", sid + ".json.bak"
        situation = rng.choices(
            ["no_backup", "shrunk", "equal_bytes", "equal_count", "smaller_bak", "corrupt_live",
             "corrupt_bak", "both_corrupt", "list_live", "no_messages_live", "zero_bak", "mutated_both"],
            weights=[25, 20, 6, 5, 10, 10, 8, 4, 3, 3, 2, 4])[0]
        n = rand_msg_count(rng)
        if situation == "no_backup":
            f[live_name] = rand_doc(rng, n, mutate=0.2)
        elif situation == "shrunk":
            f[live_name], f[bak_name] = session_pair(rng, rng.randint(0, n), n + rng.randint(1, 5))
        elif situation == "equal_bytes":
            f[live_name] = f[bak_name] = rand_doc(rng, n)
        elif situation == "equal_count":
            f[live_name], f[bak_name] = rand_doc(rng, n), rand_doc(rng, n)
        elif situation == "smaller_bak":
            f[live_name], f[bak_name] = session_pair(rng, n + rng.randint(1, 5), n)
        elif situation == "corrupt_live":
            live, bak = session_pair(rng, n, n + rng.randint(0, 3))
            f[live_name], f[bak_name] = corrupt(rng, live), bak
        elif situation == "corrupt_bak":
            live, bak = session_pair(rng, n, n + rng.randint(0, 3))
            f[live_name], f[bak_name] = live, corrupt(rng, bak)
        elif situation == "both_corrupt":
            live, bak = session_pair(rng, n, n + rng.randint(0, 3))
            f[live_name], f[bak_name] = corrupt(rng, live), corrupt(rng, bak)
        elif situation == "list_live":
            f[live_name], f[bak_name] = b"[" + b",".join([b"{}"] * n) + b"]", rand_doc(rng, n)
        elif situation == "no_messages_live":
            f[live_name], f[bak_name] = b'{"title":"t"}', rand_doc(rng, n)
        elif situation == "zero_bak":
            f[live_name], f[bak_name] = corrupt(rng, rand_doc(rng, n)), b'{"messages":[]}'
        else:
            f[live_name], f[bak_name] = rand_doc(rng, n, mutate=1.0), rand_doc(rng, n + 1, mutate=1.0)

    for i in range(rng.choice([0, 0, 1, 2])):
        f.setdefault(f"orphan{i}.json.bak", rand_doc(rng, rng.randint(1, 8)))
    for name in rng.sample(["notes.txt", "X.JSON", "y.json.tmp", "z.json.replaced", "a.json.bak.bak",
                            "b.json.BAK", "session.json~", "README.md"], rng.randint(0, 3)):
        f.setdefault(name, rand_doc(rng, rng.randint(1, 5)))
    if rng.random() < 0.5:
        ids = sorted(k[:-5] for k in f if k.endswith(".json") and not k.startswith("_"))
        f["_index.json"] = json.dumps(ids, ensure_ascii=rng.random() < 0.5).encode()
    if rng.random() < 0.3:
        f["_x.json"], f["_x.json.bak"] = session_pair(rng, 1, 3)
    if rng.random() < 0.3:
        f["sub/s.json"], f["sub/s.json.bak"] = session_pair(rng, 1, 3)
    if rng.random() < 0.15:
        f[".json"], f[".json.json.bak"] = messages_doc(rng.randint(0, 3)), messages_doc(rng.randint(0, 3))
        if rng.random() < 0.5:
            f[".json.bak"] = messages_doc(rng.randint(0, 5))
    return f


STORES = {
    "shrunk_1000": store_shrunk_1000,
    "backups_nothing_to_restore": store_backups_nothing_to_restore,
    "no_backups": store_no_backups,
    "underscore_files": store_underscore_files,
    "live_vs_backup": store_live_vs_backup,
    "stray_files": store_stray_files,
    "odd_names": store_odd_names,
    "dot_json": store_dot_json,
    "subdir": store_subdir,
    "json_rules": store_json_rules,
    "random_small": lambda: random_store(random.Random("golden-random:small"), (8, 14), case_twins=False),
    "random_large": lambda: random_store(random.Random("golden-random:large"), (30, 34), case_twins=False),
}

# Stores that must come out of recovery byte-for-byte unchanged.
UNCHANGED_STORES = {"backups_nothing_to_restore", "no_backups"}


def write_tree(root: Path, files: Files) -> None:
    for name in sorted(files):
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(files[name])


def hash_tree(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if p.is_file() and not p.is_symlink():
                out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return dict(sorted(out.items()))


def detail_key(d: dict):
    return (d.get("session_id"), d.get("live_messages"), d.get("bak_messages"))


def normalise_report(report: dict) -> dict:
    """Directory order decides the order of details; sort them so the golden file is stable."""
    return {**report, "details": sorted(report.get("details", []), key=detail_key)}


def build_store(ref: Reference, name: str, files: Files, tmp: Path) -> None:
    out = STORES_DIR / name
    write_tree(out / "input", files)
    work = tmp / name
    shutil.copytree(out / "input", work)
    report = normalise_report(ref.recover(work))
    after = hash_tree(work)
    if name in UNCHANGED_STORES:
        assert after == hash_tree(out / "input"), f"{name}: expected no change"
    expected = {"report": report, "after": after}
    (out / "expected.json").write_text(
        json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"stores/{name}: {len(files)} files, scanned {report['scanned']}, restored {report['restored']}")


def generate(ref: Reference) -> None:
    for d in (COUNT_DIR, STORES_DIR):
        if d.exists():
            shutil.rmtree(d)
    COUNT_DIR.mkdir(parents=True)
    cases = build_count_cases(ref)
    (COUNT_DIR / "cases.json").write_text(
        "[\n" + ",\n".join(json.dumps(c, ensure_ascii=True) for c in cases) + "\n]\n", encoding="utf-8")
    print(f"count/cases.json: {len(cases)} cases")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in STORES.items():
            build_store(ref, name, make(), Path(tmp))


# ---------------------------------------------------------------------------
# --check: the reference against our CLI on random stores.
# ---------------------------------------------------------------------------


def is_replaced_copy(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.endswith(".replaced") or ".replaced." in base


def compare_reports(ref_report: dict, our_report: dict) -> str | None:
    for key in ("scanned", "restored"):
        if ref_report.get(key) != our_report.get(key):
            return f"{key}: reference {ref_report.get(key)!r}, ours {our_report.get(key)!r}"
    theirs = sorted(ref_report.get("details", []), key=detail_key)
    ours = sorted(our_report.get("details", []), key=detail_key)
    if len(theirs) != len(ours):
        return f"details: reference has {len(theirs)}, ours has {len(ours)}"
    for a, b in zip(theirs, ours):
        # Error texts differ between Python and Go; only whether there was one must match.
        a_cmp = {k: (True if k == "error" else v) for k, v in a.items()}
        b_cmp = {k: (True if k == "error" else v) for k, v in b.items()}
        if a_cmp != b_cmp:
            return f"details: reference {json.dumps(a, ensure_ascii=False)}, ours {json.dumps(b, ensure_ascii=False)}"
    return None


def compare_trees(ref_after: dict, our_after: dict) -> str | None:
    for name in sorted(set(ref_after) | set(our_after)):
        if name not in our_after:
            return f"after: {name!r} left by the reference is missing in ours"
        if name not in ref_after:
            if is_replaced_copy(name):
                continue
            return f"after: {name!r} exists only in ours"
        if ref_after[name] != our_after[name]:
            return f"after: {name!r} differs"
    return None


def check(ref: Reference, binary: str, n: int, seed: int, keep: bool) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="golden-check-"))
    failures = 0
    try:
        for i in range(n):
            files = random_store(random.Random(f"check:{seed}:{i}"))
            a, b = tmp / f"{i:03d}" / "reference", tmp / f"{i:03d}" / "ours"
            write_tree(a, files)
            write_tree(b, files)
            ref_report = ref.recover(a)
            try:
                proc = subprocess.run([binary, "recover", "--json", "--count-all", str(b)], capture_output=True)
            except OSError as exc:
                print(f"cannot run {binary}: {exc}")
                return 2
            problem = None
            if proc.returncode not in (0, 1):
                problem = f"{binary} exited {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}"
            else:
                try:
                    ours = json.loads(proc.stdout)
                except ValueError as exc:
                    problem = f"{binary} printed no JSON report ({exc})"
                else:
                    problem = compare_reports(ref_report, ours) or compare_trees(hash_tree(a), hash_tree(b))
            label = f"store {i} (seed {seed}, {len(files)} files)"
            if problem:
                failures += 1
                print(f"{label}: {problem}")
            else:
                print(f"{label}: ok")
    finally:
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp)
    print(f"{n - failures}/{n} stores match")
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                    help="path to session_recovery.py (default: %(default)s)")
    ap.add_argument("--check", metavar="BIN", help="compare BIN (our CLI) with the reference instead of generating")
    ap.add_argument("--stores", type=int, default=20, help="--check: number of random stores (default 20)")
    ap.add_argument("--seed", type=int, default=1, help="--check: seed for the random stores (default 1)")
    ap.add_argument("--keep", action="store_true", help="--check: keep the temporary stores")
    args = ap.parse_args()
    ref = Reference(args.reference)
    if args.check:
        return check(ref, args.check, args.stores, args.seed, args.keep)
    generate(ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
