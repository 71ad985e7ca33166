"""Server-rendered pages: Jinja2 templates and static files (CSS), no JavaScript needed."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
