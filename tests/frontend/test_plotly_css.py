"""plotly.css, generated from the bundle so that pages need no inline style (CSP)."""

from frontend import plotly_css


def test_plotly_css_is_what_the_bundle_would_inject():
    """Upgrading plotly.min.js without regenerating plotly.css fails here."""
    bundle = plotly_css.BUNDLE.read_text()
    assert plotly_css.CSS.read_text() == plotly_css.plotly_css(bundle)
    assert len(plotly_css.plotly_rules(bundle)) > 50
