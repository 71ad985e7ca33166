"""Server-rendered pages: the public pages (feeds/) and the staff web application under /app (web/routes.py).

Templates, static files (CSS, the vendored htmx) and the gettext catalogues live in this package; the Jinja2
environments over the templates are in templating.py, below every domain, so that feeds need not import web.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
