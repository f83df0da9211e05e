"""Plotly's own CSS as a file, so that pages need no inline <style> (CSP).

plotly.js inserts its global rules into a <style> element it creates, which a
Content-Security-Policy without 'unsafe-inline' refuses; it skips that when the page
already has an element `#plotly.js-style-global.no-inline-styles`. The dashboards link
`frontend/vendor/plotly.css` under that id, written from the rules inside the bundled
plotly.min.js by `python -m frontend.plotly_css` (a test checks they agree).
"""

import re
import sys
from pathlib import Path

BUNDLE = Path(__file__).resolve().parent / "static/frontend/vendor/plotly.min.js"
CSS = BUNDLE.with_name("plotly.css")
STRING = r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
PAIR = re.compile(STRING + r"\s*:\s*" + STRING)
RULES = re.compile(r"""=\{("X,X div":.*?)\};for\((\w+) in """, re.S)


def unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def plotly_rules(bundle: str) -> list[tuple[str, str]]:
    """(selector, declarations) pairs, in the bundle's order, with its X/Y substitutions."""
    match = RULES.search(bundle)
    if match is None:
        raise ValueError("plotly.min.js: the global style rules were not found")
    rules = []
    for key, value in PAIR.findall(match.group(1)):
        selector = re.sub(r"^,", " ,", unquote(key)).replace("X", ".js-plotly-plot .plotly")
        rules.append((selector.replace("Y", ".plotly-notifier"), unquote(value)))
    return rules


def plotly_css(bundle: str) -> str:
    header = "/* Generated from plotly.min.js by frontend/plotly_css.py. */\n"
    return header + "".join(f"{sel}{{{decl}}}\n" for sel, decl in plotly_rules(bundle))


if __name__ == "__main__":
    CSS.write_text(plotly_css(BUNDLE.read_text()))
    sys.stdout.write(f"wrote {CSS}\n")
