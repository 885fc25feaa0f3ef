"""The XSS corpus: markup, schemes, mutation XSS, htmx attributes, template injection.

Every payload that would run calls `pwned()` or fetches `/pwned`, so a browser
that runs one, or an htmx attribute that survives, is easy to recognise.
"""

from __future__ import annotations

# Markup that runs script when it reaches the page as markup.
MARKUP = [
    "<script>pwned()</script>",
    "<ScRiPt>pwned()</sCrIpT>",
    "<script src=/pwned.js></script>",
    "<script>/*</script><script>pwned()//*/</script>",
    "<img src=x onerror=pwned()>",
    '<img src="x" onerror="pwned()">',
    "<img/src=x/onerror=pwned()>",
    "<img\nsrc=x\nonerror=pwned()>",
    "<img src=x onerror\t=pwned()>",
    "<img src=x oNeRrOr=pwned()>",
    "<img src=`x` onerror=pwned()>",
    "<svg onload=pwned()>",
    "<svg/onload=pwned()>",
    "<svg><script>pwned()</script></svg>",
    "<svg><animate onbegin=pwned() attributeName=x dur=1s>",
    "<svg><set attributeName=onmouseover to=pwned()>",
    '<svg><a xlink:href="javascript:pwned()"><text x=20 y=20>x</text></a></svg>',
    "<svg><foreignObject><img src=x onerror=pwned()></foreignObject></svg>",
    '<svg><use href="data:image/svg+xml,<svg id=x><script>pwned()</script></svg>#x"/></svg>',
    '<math><maction actiontype="statusline" xlink:href="javascript:pwned()">x</maction></math>',
    '<math href="javascript:pwned()">x</math>',
    "<math><mtext><img src=x onerror=pwned()></mtext></math>",
    '<iframe src="javascript:pwned()"></iframe>',
    '<iframe srcdoc="<script>pwned()</script>"></iframe>',
    '<object data="javascript:pwned()"></object>',
    '<embed src="javascript:pwned()">',
    "<body onload=pwned()>",
    "<details open ontoggle=pwned()>",
    "<input autofocus onfocus=pwned()>",
    "<select autofocus onfocus=pwned()>",
    "<textarea autofocus onfocus=pwned()>",
    "<video><source onerror=pwned()></video>",
    "<audio src=x onerror=pwned()>",
    "<marquee onstart=pwned()>x</marquee>",
    "<x onclick=pwned()>click</x>",
    '<form action="javascript:pwned()"><button>x</button></form>',
    '<button formaction="javascript:pwned()">x</button>',
    '<meta http-equiv="refresh" content="0;url=javascript:pwned()">',
    '<link rel=stylesheet href="javascript:pwned()">',
    "<style>@import 'javascript:pwned()';</style>",
    '<div style="background:url(javascript:pwned())">x</div>',
    '<div style="x:expression(pwned())">x</div>',
    '<base href="javascript:pwned()//">',
    "<isindex action=javascript:pwned() type=image>",
    '<table background="javascript:pwned()">',
    "<keygen autofocus onfocus=pwned()>",
    '<a href="javascript:pwned()" id="x">x</a>',
    "<scr<script>ipt>pwned()</scr</script>ipt>",
    "<<script>script>pwned()<</script>/script>",
    "<script\x20type=text/javascript>pwned()</script>",
    "<script>pwned`1`</script>",
    "<img src=x:x onerror=eval(atob('cHduZWQoKQ=='))>",
]

# Breaking out of the element, attribute or block a value is written into.
BREAKOUTS = [
    '"><script>pwned()</script>',
    "'><img src=x onerror=pwned()>",
    '" onmouseover="pwned()',
    "' onmouseover='pwned()",
    '" autofocus onfocus="pwned()" x="',
    "</textarea><script>pwned()</script>",
    "</title><script>pwned()</script>",
    "</script><script>pwned()</script>",
    "</script><svg onload=pwned()>",
    '\\"}</script><script>pwned()</script>',
    "</style><script>pwned()</script>",
    "</noscript><img src=x onerror=pwned()>",
    "--><img src=x onerror=pwned()>",
    "]]><img src=x onerror=pwned()>",
    "<![CDATA[<script>pwned()</script>]]>",
    "<?xml version=1?><script>pwned()</script>",
    "</option></select><img src=x onerror=pwned()>",
    "</td></tr></table><img src=x onerror=pwned()>",
    "</pre><img src=x onerror=pwned()>",
    "</code></pre><script>pwned()</script>",
    "`; pwned(); `",
    "'; pwned(); '",
    '"; pwned(); "',
    "\u202e<script>pwned()</script>",
    "\u2028<script>pwned()</script>\u2029",
]

# Mutation XSS: markup that a parse, serialise, parse round trip turns into script.
MUTATION = [
    '<!--<img src="--><img src=x onerror=pwned()//">',
    '<noscript><p title="</noscript><img src=x onerror=pwned()>">',
    '<noembed><img title="</noembed><img src=x onerror=pwned()>">',
    '<noframes><img title="</noframes><img src=x onerror=pwned()>">',
    "<template><script>pwned()</script></template>",
    "<select><template><style><img src=x onerror=pwned()></style></template></select>",
    '<svg></p><style><a id="</style><img src=1 onerror=pwned()>">',
    '<math><mi><mglyph><svg><mtext><textarea><path id="</textarea><img onerror=pwned() src=1>">',
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=pwned()>",
    "<math><mtext><table><mglyph><style><img src=x onerror=pwned()>",
    "<svg><style><img src=x onerror=pwned()></style></svg>",
    '<xmp><p title="</xmp><img src=x onerror=pwned()>">',
    '<iframe><p title="</iframe><img src=x onerror=pwned()>">',
    "<listing>&lt;img src=x onerror=pwned()&gt;</listing>",
    '<a title="&lt;/a&gt;&lt;img src=x onerror=pwned()&gt;">x</a>',
]

# htmx attributes smuggled into markup the sanitiser allows.
HTMX = [
    '<a href="/" hx-get="/pwned" hx-trigger="load">x</a>',
    '<a href="/" hx-on:click="pwned()">x</a>',
    '<a href="/" hx-on::load="pwned()">x</a>',
    '<span hx-on-click="pwned()">x</span>',
    '<img src="/static/x.png" hx-get="/pwned" hx-trigger="load">',
    '<div hx-post="/pwned" hx-trigger="load">x</div>',
    '<div data-hx-get="/pwned" data-hx-trigger="load">x</div>',
    '<div data-hx-on:click="pwned()">x</div>',
    '<p hx-vals=\'js:{a: pwned()}\' hx-get="/pwned" hx-trigger="load">x</p>',
    "<p hx-headers='js:{a: pwned()}'>x</p>",
    '<div hx-swap-oob="true" id="run-tags">x</div>',
    '<a href="/pwned" hx-boost="true">x</a>',
    '<code class="language-py" hx-get="/pwned" hx-trigger="load">x</code>',
    '<td hx-get="/pwned" hx-trigger="load">x</td>',
    '<details hx-on:toggle="pwned()"><summary>x</summary></details>',
    '<abbr title="x" hx-get="/pwned" hx-trigger="mouseover">x</abbr>',
    '<div hx-ext="pwned" hx-disinherit="*">x</div>',
    '<a href="/" x-data="{}" x-init="pwned()">x</a>',
]

# Text that a template engine would run if the value reached one as a template.
TEMPLATE = [
    "{{7*7}}",
    "{{ request.user.password }}",
    "{{settings.SECRET_KEY}}",
    "{% debug %}",
    "{% load static %}{% static 'x' %}",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
    "[[${7*7}]]",
    "{{constructor.constructor('pwned()')()}}",
    "{{$on.constructor('pwned()')()}}",
    "{{ '' | safe }}<script>pwned()</script>",
]

# URL schemes a link or an image may be tricked into.
SCHEMES = [
    "javascript:pwned()",
    "JaVaScRiPt:pwned()",
    " javascript:pwned()",
    "javascript :pwned()",
    "java\tscript:pwned()",
    "java\nscript:pwned()",
    "java\rscript:pwned()",
    "jav&#x09;ascript:pwned()",
    "jav&#9;ascript:pwned()",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;pwned()",
    "&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;pwned()",
    "&#0000106avascript:pwned()",
    "javascript&colon;pwned()",
    "javascript&#58;pwned()",
    "javascript\u200b:pwned()",
    "\ufeffjavascript:pwned()",
    "java\u00adscript:pwned()",
    "\x01javascript:pwned()",
    "javascript://%0apwned()",
    "data:text/html,<script>pwned()</script>",
    "data:text/html;base64,PHNjcmlwdD5wd25lZCgpPC9zY3JpcHQ+",
    "DATA:text/html,<script>pwned()</script>",
    "vbscript:pwned()",
    "livescript:pwned()",
]

# The places a scheme can go in a description (or anywhere markup leaks).
SCHEME_FORMS = [
    '<a href="{}">x</a>',
    "[x]({})",
    "[x](<{}>)",
    "![x]({})",
    '<img src="{}">',
    "[x][1]\n\n[1]: {}",
]


def scheme_payloads() -> list[str]:
    return [form.format(scheme) for scheme in SCHEMES for form in SCHEME_FORMS]


PAYLOADS: list[str] = list(
    dict.fromkeys([*MARKUP, *BREAKOUTS, *MUTATION, *HTMX, *TEMPLATE, *scheme_payloads()])
)
