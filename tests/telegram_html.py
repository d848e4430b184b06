"""Telegram's HTML parse mode as a checker: the visible text and entities, or the refusal.

Only the tags in `_TAG_ENTITY`, balanced and properly nested, and only &lt; &gt; &amp;
&quot; and numeric character references, as Telegram accepts them. The fake Bot API
server renders every HTML message through `parse_telegram_html` and the view tests call
it directly, so a markup or escaping bug fails a test instead of a delivery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class HtmlError(ValueError):
    """Text Telegram's HTML parser refuses; the message mimics Telegram's wording."""


_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass(slots=True)
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the visible text, as entity offsets are counted


def parse_telegram_html(
    text: str, *, strict_ampersand: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """Return the visible text and entities of Telegram-HTML `text`, or raise HtmlError.

    Walks the text once: 1. "<" opens or closes a supported tag (balanced, properly
    nested), 2. "&" must start &lt; &gt; &amp; &quot; or a numeric entity, 3. any
    other character is visible. Offsets are UTF-16 units, like Telegram's.
    """
    visible: list[str] = []
    offset = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<" and text.startswith("</", i):
            name, i_next = _end_tag(text, i)
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {_byte(text, i)}")
            if stack[-1].name != name:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {_byte(text, i)}, "
                    f'expected "</{stack[-1].name}>", found "</{name}>"'
                )
            tag = stack.pop()
            entity = _entity_for(tag, offset, stack)
            if entity is not None:
                entities.append(entity)
            i = i_next
            continue
        if char == "<":
            name, attrs, i_next = _start_tag(text, i)
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise HtmlError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {_byte(text, i)}'
                )
            stack.append(_OpenTag(name, attrs, offset))
            i = i_next
            continue
        if char == "&":
            piece, i_next = _char_ref(text, i)
            if piece is None:
                if strict_ampersand:
                    raise HtmlError(
                        f'Unescaped "&" at byte offset {_byte(text, i)}'
                        " (Telegram shows it as is; the fake refuses it to catch escaping bugs)"
                    )
                piece, i_next = "&", i + 1
        else:
            piece, i_next = char, i + 1
        visible.append(piece)
        offset += utf16_length(piece)
        i = i_next
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(visible), entities


def _entity_for(tag: _OpenTag, end: int, outer: list[_OpenTag]) -> dict[str, Any] | None:
    language = tag.attrs.get("class", "")
    if tag.name == "code" and outer and outer[-1].name == "pre" and language:
        # <pre><code class="language-x"> is one pre entity carrying the language
        outer[-1].attrs["language"] = language.removeprefix("language-")
        return None
    if end == tag.offset or (tag.name == "a" and not tag.attrs.get("href")):
        return None  # Telegram drops empty entities and links without a target
    entity: dict[str, Any] = {
        "type": _TAG_ENTITY[tag.name],
        "offset": tag.offset,
        "length": end - tag.offset,
    }
    if tag.name == "a":
        entity["url"] = tag.attrs["href"]
    elif tag.name == "pre" and tag.attrs.get("language"):
        entity["language"] = tag.attrs["language"]
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    return entity


def _start_tag(text: str, start: int) -> tuple[str, dict[str, str], int]:
    """Parse `<name attr="v" ...>` at `start`; return name, attributes and the next index."""
    n = len(text)
    unclosed = f"Unclosed start tag at byte offset {_byte(text, start)}"
    j = start + 1
    while j < n and not text[j].isspace() and text[j] != ">":
        j += 1
    if j >= n:
        raise HtmlError(unclosed)
    name = text[start + 1 : j].lower()
    if name not in _TAG_ENTITY:
        raise HtmlError(f'Unsupported start tag "{name}" at byte offset {_byte(text, start)}')
    attrs: dict[str, str] = {}
    while True:
        while j < n and text[j].isspace():
            j += 1
        if j >= n:
            raise HtmlError(unclosed)
        if text[j] == ">":
            return name, attrs, j + 1
        k = j
        while k < n and (text[k].isalnum() or text[k] in "-_"):
            k += 1
        if k == j:
            raise HtmlError(
                f'Empty attribute name in the tag "{name}" at byte offset {_byte(text, j)}'
            )
        attr, j = text[j:k].lower(), k
        while j < n and text[j].isspace():
            j += 1
        if j >= n or text[j] != "=":
            attrs[attr] = ""
            continue
        j += 1
        while j < n and text[j].isspace():
            j += 1
        if j < n and text[j] in "\"'":
            end = text.find(text[j], j + 1)
            if end < 0:
                raise HtmlError(unclosed)
            value, j = text[j + 1 : end], end + 1
        else:
            k = j
            while k < n and not text[k].isspace() and text[k] != ">":
                k += 1
            value, j = text[j:k], k
        attrs[attr] = _unescape(value)


def _end_tag(text: str, start: int) -> tuple[str, int]:
    j = start + 2
    while j < len(text) and (text[j].isalnum() or text[j] == "-"):
        j += 1
    name = text[start + 2 : j].lower()
    while j < len(text) and text[j].isspace():
        j += 1
    if j >= len(text) or text[j] != ">":
        raise HtmlError(f"Can't find end of tag at byte offset {_byte(text, start)}")
    return name, j + 1


def _char_ref(text: str, start: int) -> tuple[str | None, int]:
    match = _HTML_ENTITY.match(text, start)
    if match is None:
        return None, start
    decimal, hexadecimal, named = match.groups()
    if named:
        return _NAMED[named], match.end()
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None, start
    return chr(code), match.end()


def _unescape(value: str) -> str:
    parts: list[str] = []
    i = 0
    while i < len(value):
        piece, j = _char_ref(value, i) if value[i] == "&" else (None, i)
        if piece is None:
            piece, j = value[i], i + 1
        parts.append(piece)
        i = j
    return "".join(parts)


def _byte(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and lengths."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


__all__ = ["HtmlError", "parse_telegram_html", "utf16_length"]
