"""The Simplified Chinese catalogue: complete, not fuzzy, compiled from the committed .po, placeholders intact.

No database: the .po is read with a small parser below (no polib), the .mo with the standard library.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import translation

LC_MESSAGES = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # index 0 for a singular entry's msgstr

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def source_texts(self) -> list[str]:
        return [self.msgid] + ([self.msgid_plural] if self.msgid_plural is not None else [])


def _unquote(text: str, lineno: int) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{PO_PATH.name}:{lineno}: expected a quoted string, got {text!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], text[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file, header included; obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int | None] | None = None  # which field continuation lines extend

    def start(lineno: int) -> Entry:
        nonlocal entry
        entry = Entry(line=lineno)
        entries.append(entry)
        return entry

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, target = None, None
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if entry is not None and target is not None:  # a comment after the strings starts a new entry
                entry, target = None, None
            current = entry or start(lineno)
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        if line.startswith('"'):
            if entry is None or target is None:
                raise ValueError(f"{path.name}:{lineno}: continuation line outside an entry")
            name, index = target
            text = _unquote(line, lineno)
            if name == "msgstr":
                entry.msgstr[index] += text
            else:
                setattr(entry, name, getattr(entry, name) + text)
            continue
        keyword, _, rest = line.partition(" ")
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if match:
            target = ("msgstr", int(match.group(1)))
            entry.msgstr[target[1]] = _unquote(rest, lineno)
        elif keyword in ("msgctxt", "msgid"):
            if entry is None or entry.msgstr or (keyword == "msgctxt" and target is not None):
                start(lineno)
            target = (keyword, None)
            setattr(entry, keyword, _unquote(rest, lineno))
        elif keyword == "msgid_plural":
            target = (keyword, None)
            entry.msgid_plural = _unquote(rest, lineno)
        elif keyword == "msgstr":
            target = ("msgstr", 0)
            entry.msgstr[0] = _unquote(rest, lineno)
        else:
            raise ValueError(f"{path.name}:{lineno}: unexpected line {raw!r}")
    return entries


ENTRIES = parse_po(PO_PATH)
HEADER = next(entry for entry in ENTRIES if entry.is_header)
MESSAGES = [entry for entry in ENTRIES if not entry.is_header]

# printf-style (%s, %d, %(name)s, %%), str.format-style ({0}, {name}), HTML tags and entities.
PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]"
    r"|\{[^{}\s]*\}"
    r"|</?[A-Za-z][^<>]*>"
    r"|&(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9A-Fa-f]+);"
)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def label(entry: Entry) -> str:
    return f"line {entry.line}: {entry.msgid!r}"


def test_the_po_parses_into_a_header_and_messages():
    assert len(MESSAGES) > 250
    assert len({(e.msgctxt, e.msgid) for e in MESSAGES}) == len(MESSAGES), "duplicate msgids"


def test_the_header_declares_chinese_utf8_and_one_plural_form():
    header = dict(
        line.split(":", 1) for line in HEADER.msgstr[0].splitlines() if ":" in line
    )
    header = {key.strip(): value.strip() for key, value in header.items()}
    assert header["Language"] == "zh_Hans"
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    assert header["Project-Id-Version"].startswith("pilechain")
    assert header["Plural-Forms"] == "nplurals=1; plural=0;"
    assert "fuzzy" not in HEADER.flags


def test_every_entry_is_translated_and_none_is_fuzzy():
    fuzzy = [label(e) for e in ENTRIES if "fuzzy" in e.flags]
    untranslated = [label(e) for e in MESSAGES if not e.msgstr or not all(s.strip() for s in e.msgstr.values())]
    assert fuzzy == []
    assert untranslated == []


def test_plural_entries_have_exactly_the_one_chinese_form():
    wrong = [label(e) for e in MESSAGES if e.msgid_plural is not None and sorted(e.msgstr) != [0]]
    assert wrong == []


class _Missing(gettext.NullTranslations):
    """Fallback that makes a message absent from the .mo visible even when its msgstr equals its msgid."""

    MISSING = "\x00missing\x00"

    def gettext(self, message):
        return self.MISSING

    def ngettext(self, msgid1, msgid2, n):
        return self.MISSING

    def pgettext(self, context, message):
        return self.MISSING

    def npgettext(self, context, msgid1, msgid2, n):
        return self.MISSING


def test_the_compiled_mo_matches_the_po():
    with MO_PATH.open("rb") as fp:
        catalog = gettext.GNUTranslations(fp)
    catalog.add_fallback(_Missing())
    stale = []
    for e in MESSAGES:
        if e.msgid_plural is None:
            got = catalog.gettext(e.msgid) if e.msgctxt is None else catalog.pgettext(e.msgctxt, e.msgid)
            if got != e.msgstr[0]:
                stale.append((label(e), got, e.msgstr[0]))
            continue
        for n in (1, 2, 5):
            if e.msgctxt is None:
                got = catalog.ngettext(e.msgid, e.msgid_plural, n)
            else:
                got = catalog.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
            if got != e.msgstr[0]:
                stale.append((label(e), n, got, e.msgstr[0]))
    assert stale == [], "django.mo is stale: run `manage.py compilemessages -l zh_Hans`"
    assert catalog.info().get("language") == "zh_Hans"


@pytest.mark.parametrize(
    ("english", "chinese"),
    [("Piles", "充电桩"), ("Log in", "登录"), ("Simplified Chinese", "简体中文")],
)
def test_django_serves_the_chinese_strings(english, chinese):
    with translation.override("zh-hans"):
        assert translation.gettext(english) == chinese
    with translation.override("en"):
        assert translation.gettext(english) == english


def test_django_uses_the_single_plural_form():
    with translation.override("zh-hans"):
        for n in (1, 3):
            text = translation.ngettext("%(counter)s result", "%(counter)s results", n) % {"counter": n}
            assert text == f"共 {n} 条结果"


def _edges(text: str) -> tuple[str, str]:
    """The leading and trailing whitespace of `text`."""
    stripped = text.strip()
    if not stripped:
        return text, ""
    start = text.index(stripped)
    return text[:start], text[start + len(stripped):]


def test_placeholders_and_surrounding_whitespace_are_kept():
    wrong = []
    for e in MESSAGES:
        expected = set().union(*(placeholders(text) for text in e.source_texts))
        source = e.msgid_plural if e.msgid_plural is not None else e.msgid
        for msgstr in e.msgstr.values():
            if placeholders(msgstr) != expected:
                wrong.append((label(e), "placeholders", sorted(expected), sorted(placeholders(msgstr))))
            if _edges(msgstr) != _edges(source):
                wrong.append((label(e), "leading/trailing whitespace", _edges(source), _edges(msgstr)))
    assert wrong == []


def test_the_javascript_catalogue_is_complete_and_compiled():
    """Strings of the pages' scripts (the live alerts page) come from djangojs through /jsi18n/."""
    entries = [e for e in parse_po(LC_MESSAGES / "djangojs.po") if not e.is_header]
    assert entries, "no JavaScript strings: was makemessages -d djangojs run?"
    assert [label(e) for e in entries if "fuzzy" in e.flags or not all(s.strip() for s in e.msgstr.values())] == []
    with (LC_MESSAGES / "djangojs.mo").open("rb") as fp:
        catalog = gettext.GNUTranslations(fp)
    assert [label(e) for e in entries if catalog.gettext(e.msgid) != e.msgstr[0]] == []
