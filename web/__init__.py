"""Server-rendered pages: the public pages (feeds/) and the staff web application under /app (web/routes.py).

Templates, static files (CSS, the vendored htmx) and the gettext catalogues live in this package.
"""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
