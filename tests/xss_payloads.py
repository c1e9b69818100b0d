"""Script-injection payloads (RELIABILITY T-i). Each one, if it ever ran, would call
`window.__xss("<id>")`, so execution is unambiguous: the browser tests define `__xss`
and fail on any call."""

from __future__ import annotations


def _payloads() -> dict[str, str]:
    templates = [
        "<script>__xss('{id}')</script>",
        "<img src=x onerror=__xss('{id}')>",
        "<svg onload=__xss('{id}')>",
        "<svg><script>__xss('{id}')</script></svg>",
        "<body onload=__xss('{id}')>",
        "<input autofocus onfocus=__xss('{id}')>",
        "<details open ontoggle=__xss('{id}')>",
        "<iframe srcdoc=\"<script>parent.__xss('{id}')</script>\"></iframe>",
        "<iframe src=\"javascript:parent.__xss('{id}')\"></iframe>",
        "<a href=\"javascript:__xss('{id}')\">klik</a>",
        "<a href=\"jav&#x09;ascript:__xss('{id}')\">klik</a>",
        "<a href=\"&#106;avascript:__xss('{id}')\">klik</a>",
        "<a href=\"java\nscript:__xss('{id}')\">klik</a>",
        "<math><mtext><table><mglyph><style><img src=x onerror=__xss('{id}')>",
        "<noscript><p title=\"</noscript><img src=x onerror=__xss('{id}')>\">",
        "<svg><style><img src=x onerror=__xss('{id}')></style></svg>",
        "<base href=\"javascript:__xss('{id}')//\">",
        '<meta http-equiv="refresh" content="0;url=javascript:__xss(\'{id}\')">',
        "<form action=\"javascript:__xss('{id}')\"><button>kirim</button></form>",
        "<div style=\"background:url(javascript:__xss('{id}'))\">x</div>",
        "<object data=\"javascript:__xss('{id}')\"></object>",
        "<embed src=\"javascript:__xss('{id}')\">",
        "<video><source onerror=__xss('{id}')></video>",
        "<audio src=x onerror=__xss('{id}')>",
        "<marquee onstart=__xss('{id}')>x</marquee>",
        "\"><script>__xss('{id}')</script>",
        "'><img src=x onerror=__xss('{id}')>",
        "</textarea><script>__xss('{id}')</script>",
        "</title><script>__xss('{id}')</script>",
        "</li><img src=x onerror=__xss('{id}')>",
        "[klik](javascript:__xss('{id}'))",
        "![x](x\" onerror=\"__xss('{id}'))",
        "<scr<script>ipt>__xss('{id}')</scr</script>ipt>",
        "<SCRIPT>__xss('{id}')</SCRIPT>",
        "<img src=x onerror=\"&#95;&#95;xss('{id}')\">",
        "<img src=`x` onerror=__xss('{id}')>",
        "<svg><a xlink:href=\"javascript:__xss('{id}')\"><text y=20>x</text></a></svg>",
        "<svg><animate onbegin=__xss('{id}') attributeName=x dur=1s>",
        "<svg><set attributeName=onload to=__xss('{id}')>",
        "<link rel=import href=\"data:text/html,<script>parent.__xss('{id}')</script>\">",
        "<isindex action=javascript:__xss('{id}') type=submit>",
        "<table background=\"javascript:__xss('{id}')\">",
        "<div onpointerover=__xss('{id}') style=\"position:fixed;inset:0\">x</div>",
        "<style>@import 'javascript:__xss(\"{id}\")';</style>",
        "<img src=x:x onerror=window['__x'+'ss']('{id}')>",
        "javascript:__xss('{id}')",
        "{{{{constructor.constructor('__xss(\"{id}\")')()}}}}",
        "${{__xss('{id}')}}",
        "<template><img src=x onerror=__xss('{id}')></template>",
        "<select autofocus onfocus=__xss('{id}')>",
        "<textarea autofocus onfocus=__xss('{id}')>",
        "<keygen autofocus onfocus=__xss('{id}')>",
        "<img srcset=\",,,,x\" onerror=__xss('{id}')>",
        "<plaintext><img src=x onerror=__xss('{id}')>",
        "<xmp><img src=x onerror=__xss('{id}')></xmp>",
        "<svg><foreignObject><img src=x onerror=__xss('{id}')></foreignObject></svg>",
        "\u202e<img src=x onerror=__xss('{id}')>.jpg",
        '<img src="https://tracker.example/pixel.gif?{id}">',
        "<a href=\"data:text/html,<script>__xss('{id}')</script>\">klik</a>",
        "<button formaction=\"javascript:__xss('{id}')\" form=f>x</button><form id=f>",
        "<img src=x onerror=__xss('{id}')//",
    ]
    return {
        f"x{number:02d}": text.format(id=f"x{number:02d}") for number, text in enumerate(templates)
    }


PAYLOADS = _payloads()
SMOKE = dict(list(PAYLOADS.items())[:10])
