"""Run descriptions: markdown source -> sanitised HTML (nh3, strict allow-list)."""

import markdown as md
import nh3

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

_EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]


def render_description(source: str) -> str:
    """Render markdown to HTML and sanitise it; links get rel="noopener noreferrer"."""
    if not source.strip():
        return ""
    html = md.markdown(source, extensions=_EXTENSIONS, output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def first_line(source: str, limit: int = 120) -> str:
    """The description's first non-empty line as plain text, shortened for list columns."""
    for line in source.splitlines():
        text = line.strip().lstrip("#>*-+ ").strip()
        if text:
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return ""
