"""django-csp's middleware, with one exception: DRF's browsable API may use inline styles.

The browsable API (an HTML rendering of the API for developers) is DRF's own template,
written with inline `style` attributes and a `<style>` block. Its scripts are files, so
scripts stay `'self'` only; its styles, and nothing else's, may be inline.
"""

from csp.middleware import CSPMiddleware
from rest_framework.renderers import BrowsableAPIRenderer

BROWSABLE_API_STYLES = {
    "style-src": ["'self'", "'unsafe-inline'"],
    "style-src-attr": ["'unsafe-inline'"],
}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        if isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer):
            response._csp_replace = BROWSABLE_API_STYLES
        return super().process_response(request, response)
