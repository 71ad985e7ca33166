"""The Jinja2 environments of the server-rendered pages, below every domain so that feeds need not import web.

The template files stay in the `web` package (web/templates, its package data): the public pages at the top
level of that directory, the staff application's under app/.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "web" / "templates"

# The public pages (feeds.routes): Starlette's environment, which autoescapes every template.
public = Jinja2Templates(directory=TEMPLATES)
# The staff pages (web.render, which adds its filters and globals): HTML autoescaped, block tags trimmed.
staff = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html",)), trim_blocks=True, lstrip_blocks=True
)
