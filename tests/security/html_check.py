"""Reading a page back with an HTML5 parser (html5lib) and saying what could run in it."""

from __future__ import annotations

import re
from collections import Counter

import html5lib

from runs.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

# Attributes whose value a browser loads or navigates to.
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "data", "poster", "background", "cite", "ping"}
)
# Read after removing ASCII whitespace, controls and invisible characters, as a
# browser (or a sanitiser worth the name) would.
_IGNORED = re.compile("[\x00-\x20\x7f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:")
# The description's own markup, as the sanitiser allows it.
MARKDOWN_MARKUP = frozenset(
    {(tag, "") for tag in ALLOWED_TAGS}
    | {(tag, attr) for tag, attrs in ALLOWED_ATTRIBUTES.items() for attr in attrs}
    | {("a", "rel")}  # nh3 adds rel="noopener noreferrer"
)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def parse(html: str):
    return html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)


def elements(doc):
    for el in doc.iter():
        if isinstance(el.tag, str):
            yield el


def markup(html: str | object) -> Counter:
    """(tag, attribute) pairs of the page (or of its parsed tree), counted."""
    doc = parse(html) if isinstance(html, str) else html
    found: Counter = Counter()
    for el in elements(doc):
        tag = _local(el.tag)
        found[(tag, "")] += 1
        for name in el.attrib:
            found[(tag, _local(name))] += 1
    return found


def dangerous_url(value: str) -> bool:
    return _IGNORED.sub("", value).lower().startswith(_DANGEROUS_SCHEMES)


def problems(
    html: str | object, studio_markup: Counter | None = None, *, markdown: bool = False
) -> list[str]:
    """What in `html` could run script, or is markup the studio did not write.

    An htmx attribute is the studio's when the corpus's `pwned` appears only in its
    query string (where the studio's own URLs carry values, encoded).

    `studio_markup`: the pairs the same page has with harmless values; any pair
    beyond it came from a value (with `markdown`, the description's allowed markup
    may be added).
    """
    found = []
    doc = parse(html) if isinstance(html, str) else html
    for el in elements(doc):
        tag = _local(el.tag)
        attrs = {_local(k): v for k, v in el.attrib.items()}
        if tag == "script" and not (
            attrs.get("src", "").startswith("/static/") or attrs.get("type") == "application/json"
        ):
            found.append(f"a script element: {_text(el)!r}")
        if tag in ("iframe", "object", "embed", "base", "frame") or (
            tag == "meta" and "http-equiv" in attrs
        ):
            found.append(f"a {tag} element")
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"an event handler: <{tag} {name}={value!r}>")
            elif name in URL_ATTRIBUTES and dangerous_url(value):
                found.append(f"a script URL: <{tag} {name}={value!r}>")
            elif name == "srcdoc":
                found.append(f"a srcdoc: <{tag} srcdoc={value!r}>")
            elif name.startswith(("hx-", "data-hx-")) and "pwned" in value.split("?", 1)[0]:
                found.append(f"an htmx attribute from a value: <{tag} {name}={value!r}>")
    if studio_markup is not None:
        extra = markup(doc) - studio_markup
        foreign = sorted(pair for pair in extra if not (markdown and pair in MARKDOWN_MARKUP))
        if foreign:
            found.append(f"markup the studio did not write: {foreign}")
    return found


def _text(el) -> str:
    return "".join(el.itertext())[:80]
