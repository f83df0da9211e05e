"""User text in figures is drawn as text, never as Plotly's HTML subset.

Plotly renders titles, trace names, axis tick labels, hover labels, annotations and
text labels through a small HTML dialect (`<a href>`, `<b>`, `<span style>`, `<br>`…),
so a metric named `<a href="https://evil.example">` would be drawn as a link. Every
figure leaves the server through `figure_json`, which escapes `&`, `<` and `>` in every
string of the figure (Plotly turns `&lt;` back into a literal `<` on screen) except the
templates (`hovertemplate`, `texttemplate`), which the builders write themselves and
which must therefore never embed user text: they refer to it as `%{x}`, `%{y}`,
`%{text}` or `%{customdata}`, whose values are escaped like the rest.
"""

import html

import numpy as np
from plotly.io.json import to_json_plotly

TEMPLATE_KEYS = frozenset(
    {"hovertemplate", "texttemplate", "hovertemplatefallback", "texttemplatefallback"}
)


def escape_text(text: str) -> str:
    return html.escape(text, quote=False)


def plain_text(value, key: str | None = None):
    """`value` (a figure dict or any part of it) with every string escaped, templates aside."""
    if isinstance(value, str):
        return value if key in TEMPLATE_KEYS else escape_text(value)
    if isinstance(value, dict):
        return {k: plain_text(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_text(item, key) for item in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        return plain_text(value.tolist(), key)
    return value


def figure_json(fig) -> str:
    """The figure as the JSON the browser draws, user text escaped (see module doc)."""
    return to_json_plotly(plain_text(fig.to_dict()))
