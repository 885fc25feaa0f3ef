"""Run descriptions: markdown source -> sanitised HTML (nh3, strict allow-list).

nh3 binds ammonia, the maintained Rust sanitiser (bleach, the usual Python choice,
was ended by its maintainers); docs/security.md says why and lists the allow-list.
"""

import re
import unicodedata
from urllib.parse import quote, urlsplit

import markdown as md
import nh3
from django.conf import settings

MAX_DESCRIPTION_CHARS = 65_536

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol",
    "p", "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "code": {"class"},
    "td": {"align"},
    "th": {"align"},
}
# No javascript:, data: or vbscript: URLs; relative links (other runs, views) stay.
URL_SCHEMES = {"http", "https", "mailto"}
IMAGE_SCHEMES = {"http", "https"}
# Characters a browser skips, or a person cannot see, inside a URL's scheme: they are
# taken out before the scheme is read, so `java\tscript:`, `java\u200bscript:` or
# `\ufeffjavascript:` read as `javascript:` and are dropped. Controls (Cc), format
# characters (Cf: zero-width ones, BOM, soft hyphen, bidi marks), separators (Z*), and
# the default-ignorable ones of other categories (Hangul fillers, variation selectors,
# the combining grapheme joiner).
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"
    "\U0001bca0-\U0001bca3\U000e0000-\U000e0fff]"
)
# A scheme, read from the squeezed URL: whatever comes before a ':' that comes before
# any '/', '?' or '#' (a relative path's first part cannot hold a ':').
_SCHEME = re.compile(r"^([^/?#]*?):")

_EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]
# Column alignment as `align`, which survives sanitising (style attributes do not).
_EXTENSION_CONFIGS = {"tables": {"use_align_attribute": True}}

# `[baseline](run:<run id>)` and `[best](view:<view id>)`: shorthand link targets
# rewritten to the workspace's pages before sanitising. Run ids and view ids are
# URL-safe, so anything else is left alone (and the sanitiser drops the unknown scheme).
_SHORTHAND = re.compile(
    r'\b(?P<attr>href|src)="(?P<kind>run|view):(?P<id>[A-Za-z0-9][A-Za-z0-9._-]{0,254})'
    r'(?P<fragment>#[A-Za-z0-9._-]*)?"'
)
_SHORTHAND_PATHS = {"run": "runs", "view": "views"}
# Fenced code gets `language-<name>`; other classes could borrow the studio's own
# styles (a fixed-position overlay, say), so only these survive.
_CODE_CLASS = re.compile(r"^language-[A-Za-z0-9_+-]{1,40}$")


def _expand_shorthand(html: str, workspace_slug: str) -> str:
    slug = quote(workspace_slug, safe="")

    def link(m: re.Match) -> str:
        path = f"/w/{slug}/{_SHORTHAND_PATHS[m['kind']]}/{m['id']}/{m['fragment'] or ''}"
        return f'{m["attr"]}="{path}"'

    return _SHORTHAND.sub(link, html)


def _squeezed(value: str) -> str:
    """The URL without the characters a browser skips or a reader cannot see."""
    value = _IGNORABLE.sub("", value)
    return "".join(c for c in value if unicodedata.category(c) not in _INVISIBLE_CATEGORIES)


def _own_origin() -> tuple[str, str]:
    base = urlsplit(settings.STUDIO_BASE_URL)
    return base.scheme.lower(), base.netloc.lower()


def url_allowed(value: str, *, image: bool = False, remote_images: bool = True) -> bool:
    """Whether a link (or, with `image`, an image source) may stay in a description.

    The scheme is read after the invisible characters are taken out: http, https,
    mailto for links; http and https for images (only the studio's own address unless
    `remote_images`). Without a scheme, a path on the studio (`/w/...`, `#part`,
    `?query`, `notes/x`) stays; a network path (`//host`, `/\\host`) does not.
    """
    squeezed = _squeezed(value).replace("\\", "/")
    scheme = _SCHEME.match(squeezed)
    if scheme is None:
        return not squeezed.startswith("//")
    name = scheme.group(1).lower()
    if name not in (IMAGE_SCHEMES if image else URL_SCHEMES):
        return False
    if image and not remote_images:
        parts = urlsplit(squeezed)
        return (parts.scheme.lower(), parts.netloc.lower()) == _own_origin()
    return True


def _attribute_filter(remote_images: bool):
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "class":
            kept = [c for c in value.split() if tag == "code" and _CODE_CLASS.match(c)]
            return " ".join(kept) or None
        if (tag, attribute) in (("a", "href"), ("img", "src")):
            image = tag == "img"
            return value if url_allowed(value, image=image, remote_images=remote_images) else None
        return value

    return keep


_LIST_ITEM = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])([ \t]+)")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
INDENT = 4


def _width(blank: str) -> int:
    return len(blank.expandtabs(INDENT))


def nest_lists(source: str) -> str:
    """List items indented as people write them (two spaces, three under `1.`, a tab)
    re-indented four spaces a level, as Python-Markdown needs to nest them.

    A list item indented more than the one above it is its child; as far or less, a
    sibling of the item it lines up with. Fenced code, and indented code outside a
    list, stay as they are."""
    out: list[str] = []
    levels: list[int] = []  # the source indents of the open list levels
    fenced = False
    for line in source.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        item = None if fenced else _LIST_ITEM.match(line)
        if item is None:
            if line.strip() and not line[:1].isspace():
                levels = []  # text at the margin ends the list
            out.append(line)
            continue
        indent = _width(item[1])
        if not levels and indent >= INDENT:
            out.append(line)  # indented code, not a list
            continue
        while levels and indent < levels[-1]:
            levels.pop()
        if not levels or indent > levels[-1]:
            levels.append(indent)
        out.append(" " * (INDENT * (len(levels) - 1)) + line[len(item[1]) :])
    return "\n".join(out)


def render_description(source: str, *, workspace_slug: str | None = None) -> str:
    """Render markdown to HTML and sanitise it; links get rel="noopener noreferrer".

    With `workspace_slug`, the link targets `run:<id>` and `view:<id>` become
    that workspace's run and saved-view pages; without it they are dropped. Images
    come from the studio itself unless STUDIO_REMOTE_IMAGES allows any http(s) host.
    """
    if not source.strip():
        return ""
    html = md.markdown(
        nest_lists(source),
        extensions=_EXTENSIONS,
        extension_configs=_EXTENSION_CONFIGS,
        output_format="html",
    )
    if workspace_slug:
        html = _expand_shorthand(html, workspace_slug)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=_attribute_filter(settings.STUDIO_REMOTE_IMAGES),
    )


# Inline markdown a first line is read without (first_line): images and links keep their
# text, code spans and emphasis their content, HTML tags go, escapes keep the character.
_PLAIN = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])"), r"\1"),
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*\\])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w\\])_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])"), r"\1"),
]
# A line's block markers: headings, quotes, list items (with a task box).
_BLOCK = re.compile(r"^(?:#{1,6}\s+|>\s*|(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?)+")
# Lines that say nothing as text: rules, heading underlines, code fences.
_NOTHING = re.compile(r"^(?:[-*_=\s]+|(?:```|~~~).*)$")


def first_line(source: str, limit: int = 120) -> str:
    """The description's first non-empty line as plain text (no markdown), shortened for
    list columns and exports."""
    for line in source.splitlines():
        if _NOTHING.match(line.strip()):
            continue
        text = _BLOCK.sub("", line.strip())
        for pattern, repl in _PLAIN:
            text = pattern.sub(repl, text)
        text = " ".join(text.split())
        if text:
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return ""
