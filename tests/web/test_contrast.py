"""WCAG 2.x AA contrast of the staff pages and the public site, measured in a real browser (Debian's chromium).

Each representative screen is opened as its user would see it (every role's dashboard, the lists, the script editor
editable and read-only, review with a diff, renders, the week grid, slots, emergency, stations, reports, users,
messages and error pages, the public site), at desktop and at phone size. A page script reads what the browser
computed for every visible piece of text: its colour, size and weight, and the background and opacity of the element
and of each ancestor. Python composites those layers and computes the ratio, so the one implementation of the WCAG
formula is tested against the reference values on its own and then used for every screen.

Every <details> is opened first: what a tap shows is read too. Exempt, as WCAG 1.4.3 allows: disabled controls
(inactive user interface components) and text nobody can see (display: none, visibility: hidden, opacity 0, clipped
to 1 px for screen readers, or moved off-screen). Measured: text nodes, SVG text (its fill), form values and
placeholders, the file button, and ::before/::after text; not measured: list markers (they take their item's colour)
and hover styles. Focus indicators are checked elsewhere; this module is about text contrast only.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.web.conftest import PHONE, SCREENSHOTS, Account, browser_sign_in, existing_user, scoped_account, screenshot
from tests.web.test_browser import make_production
from tests.web.test_screens_ops import unsent_job
from tests.web.test_screens_plan import TZ, approved_bulletin, areas, local_today

RGB = tuple[float, float, float]
RGBA = tuple[float, float, float, float]
WHITE: RGB = (255.0, 255.0, 255.0)  # the canvas, when no element sets a background
NORMAL_MIN, LARGE_MIN = 4.5, 3.0  # WCAG 1.4.3 (AA)
LARGE_PX, LARGE_BOLD_PX, BOLD = 24.0, 18.66, 700  # 18 pt, or 14 pt bold, in CSS px
COLOUR = re.compile(r"rgba?\(([^()]*)\)")

# --- the formula and the compositing (pure; one implementation) ----------------------------------------------------


def parse_colour(text: str) -> RGBA:
    """A computed CSS colour as Chromium serialises it (`rgb(r, g, b)`, `rgba(r, g, b, a)`) as (r, g, b, alpha)."""
    text = text.strip()
    if text == "transparent":
        return (0.0, 0.0, 0.0, 0.0)
    found = COLOUR.fullmatch(text)
    assert found, f"a colour this check cannot read: {text!r}"
    parts = [float(p) for p in re.split(r"[\s,/]+", found.group(1).strip()) if p]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else 1.0)


def over(top: RGBA, below: RGB) -> RGB:
    """`top` painted over an opaque colour (source-over alpha compositing)."""
    alpha = top[3]
    return (
        top[0] * alpha + below[0] * (1 - alpha),
        top[1] * alpha + below[1] * (1 - alpha),
        top[2] * alpha + below[2] * (1 - alpha),
    )


def luminance(colour: RGB) -> float:
    """WCAG 2.x relative luminance: each sRGB channel linearised, then weighted 0.2126, 0.7152, 0.0722.

    The sRGB threshold 0.04045 is used; WCAG 2.x prints 0.03928, and no 8-bit channel value lies between the two.
    """

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio (L1 + 0.05) / (L2 + 0.05), the lighter colour's luminance over the darker's: 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def required_ratio(size_px: float, weight: int) -> float:
    """3:1 for large text (at least 24 px, or 18.66 px and bold), else 4.5:1."""
    large = size_px >= LARGE_PX or (size_px >= LARGE_BOLD_PX and weight >= BOLD)
    return LARGE_MIN if large else NORMAL_MIN


@dataclass(frozen=True)
class Layer:
    """One element's painting: the ways its background may look under the text, and its opacity."""

    variants: tuple[tuple[RGBA, ...], ...]  # each: colours painted in order (background colour, then an image colour)
    opacity: float = 1.0


def layer_of(style: dict[str, str]) -> Layer:
    """A layer from an element's computed background-color, background-image and opacity.

    Gradients: the text may sit on any part of one, so each colour stop painted over the background colour is a
    variant and the text must pass on the worst. Bitmaps (url()) cannot be measured: the declared background colour,
    the fallback a browser shows while the image loads, stands for them (no screen here has one).
    """
    colour = parse_colour(style["bg"])
    image = style["image"]
    stops = [parse_colour(stop.group(0)) for stop in COLOUR.finditer(image)] if "gradient(" in image else []
    if "gradient(" in image and "transparent" in image:
        stops.append((0.0, 0.0, 0.0, 0.0))
    variants = tuple((colour, stop) for stop in stops) or ((colour,),)
    return Layer(variants, float(style["opacity"]))


def paint(layers: Sequence[Layer], text: RGBA, below: RGB = WHITE) -> list[tuple[RGB, RGB]]:
    """(background, text) pixels of text inside nested layers (outermost first) over `below`, one pair per variant.

    An opacity below 1 blends the layer's whole content (its background, its descendants and the text) with what lies
    under the layer, as a browser composites an opacity group.
    """
    if not layers:
        return [(below, over(text, below))]
    first, rest = layers[0], layers[1:]
    pairs: list[tuple[RGB, RGB]] = []
    for variant in first.variants:
        base = below
        for colour in variant:
            base = over(colour, base)
        for background, ink in paint(rest, text, base):
            pairs.append((over((*background, first.opacity), below), over((*ink, first.opacity), below)))
    return pairs


def hex_of(colour: RGB) -> str:
    """#rrggbb of a composited colour."""
    return "#" + "".join(f"{round(c):02x}" for c in colour)


def test_ratio_matches_the_wcag_reference_values() -> None:
    black, white = (0.0, 0.0, 0.0), (255.0, 255.0, 255.0)
    assert contrast_ratio(black, white) == pytest.approx(21.0)
    assert contrast_ratio(white, white) == pytest.approx(1.0)
    assert round(contrast_ratio((118.0, 118.0, 118.0), white), 2) == 4.54  # #767676: the lightest grey passing 4.5:1
    assert round(contrast_ratio((119.0, 119.0, 119.0), white), 2) == 4.48  # #777777 fails
    assert round(contrast_ratio((0.0, 0.0, 255.0), white), 2) == 8.59  # pure blue
    assert round(contrast_ratio((255.0, 0.0, 0.0), white), 2) == 4.0  # pure red
    assert contrast_ratio(white, (118.0, 118.0, 118.0)) == contrast_ratio((118.0, 118.0, 118.0), white)  # order-free
    assert required_ratio(16, 400) == 4.5 and required_ratio(24, 400) == 3.0
    assert required_ratio(18.66, 700) == 3.0 and required_ratio(18.66, 400) == 4.5 and required_ratio(18, 700) == 4.5


def test_compositing_of_translucent_backgrounds_gradients_and_opacity() -> None:
    assert parse_colour("rgba(0, 0, 0, 0.5)") == (0.0, 0.0, 0.0, 0.5) and parse_colour("rgb(11, 61, 107)")[3] == 1.0
    page = layer_of({"bg": "rgba(0, 0, 0, 0)", "image": "none", "opacity": "1"})
    # Black text on 50 % black over the white canvas: a mid grey behind it.
    [(background, ink)] = paint([page, layer_of({"bg": "rgba(0, 0, 0, 0.5)", "image": "none", "opacity": "1"})], (0, 0, 0, 1))
    assert hex_of(background) == "#808080" and ink == (0.0, 0.0, 0.0)
    # Black text in an element at opacity 0.5 on white: the text itself is mid grey.
    [(background, ink)] = paint([page, Layer((((*WHITE, 1.0),),), 0.5)], (0, 0, 0, 1))
    assert background == WHITE and hex_of(ink) == "#808080" and round(contrast_ratio(background, ink), 2) == 3.98
    # A striped gradient: the text must pass on the darker stripe as well as on the plain background.
    stripes = {
        "bg": "rgb(217, 221, 226)",
        "opacity": "1",
        "image": "repeating-linear-gradient(135deg, rgba(0, 0, 0, 0) 0px, rgba(0, 0, 0, 0.5) 6px)",
    }
    backgrounds = {hex_of(b) for b, _ in paint([page, layer_of(stripes)], (0, 0, 0, 1))}
    assert backgrounds == {"#d9dde2", "#6c6e71"}


# --- the page script: what the browser computed -----------------------------------------------------------------------

# Opens every <details> (chips, lanes, reasons, area trees): their content is text a person reads after one tap.
EXPAND = "() => document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; })"

# Returns, for every visible text, where it is, its colour, size, weight, and the computed background-color,
# background-image and opacity of the element and each ancestor (outermost first). It computes no ratio.
COLLECT = r"""() => {
  const FALLBACK = new Set(['PROGRESS', 'METER', 'AUDIO', 'VIDEO', 'CANVAS', 'OBJECT', 'IFRAME', 'SCRIPT', 'STYLE',
                            'TEMPLATE', 'NOSCRIPT', 'TITLE', 'OPTION', 'OPTGROUP', 'SELECT', 'TEXTAREA']);
  const FIELDS = new Set(['', 'text', 'search', 'email', 'number', 'password', 'tel', 'url', 'date', 'time',
                          'datetime-local', 'month', 'week', 'submit', 'button', 'reset']);
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    [...el.classList].slice(0, 2).map(c => '.' + c).join('');
  const where = el => {
    const parts = [];
    for (let n = el; n && n !== document.body && parts.length < 4; n = n.parentElement) parts.unshift(name(n));
    return parts.join(' > ');
  };
  const layer = s => ({bg: s.backgroundColor, image: s.backgroundImage, opacity: s.opacity,
                       effect: s.filter !== 'none' || s.mixBlendMode !== 'normal'});
  const layers = el => {
    const out = [];
    for (let n = el; n; n = n.parentElement) out.unshift(layer(getComputedStyle(n)));
    return out;
  };
  const hidden = el => {
    if (!el.checkVisibility({visibilityProperty: true, checkVisibilityCSS: true, opacityProperty: true, checkOpacity: true})) return true;
    const box = el.getBoundingClientRect();
    if (box.right + scrollX <= 0 || box.bottom + scrollY <= 0) return true;  // moved off-screen
    for (let n = el; n && n !== document.documentElement; n = n.parentElement) {
      const s = getComputedStyle(n), r = n.getBoundingClientRect();
      if (s.clip === 'rect(0px, 0px, 0px, 0px)' || (s.overflow !== 'visible' && (r.width <= 1 || r.height <= 1))) return true;
    }
    return false;
  };
  const painted = node => {
    const range = document.createRange();
    range.selectNodeContents(node);
    return [...range.getClientRects()].some(r => r.width > 0 && r.height > 0);
  };
  const ownText = el => [...el.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim() && painted(n))
    .map(n => n.textContent.trim()).join(' ');
  const disabled = el => !!el.closest(':disabled, [aria-disabled="true"]');
  const item = (el, s, text, kind, colour, extra) => ({
    where: where(el) + kind, text: text.replace(/\s+/g, ' ').slice(0, 70), colour,
    size: parseFloat(s.fontSize), weight: parseInt(s.fontWeight, 10), disabled: disabled(el),
    layers: extra ? [...layers(el), layer(extra)] : layers(el),
  });
  const found = [];
  let invisible = 0;
  for (const el of document.body.querySelectorAll('*')) {
    if (hidden(el)) { if (ownText(el) || el.value) invisible += 1; continue; }
    const s = getComputedStyle(el);
    const svg = el instanceof SVGElement;
    if (!FALLBACK.has(el.tagName)) {
      const text = ownText(el);
      if (text) found.push(item(el, s, text, '', svg && s.fill.startsWith('rgb') ? s.fill : s.color));
    }
    const type = (el.getAttribute('type') || '').toLowerCase();
    if ((el.tagName === 'INPUT' && FIELDS.has(type)) || el.tagName === 'TEXTAREA') {
      if (el.value.trim()) found.push(item(el, s, el.value, '', s.color));
      else if (el.placeholder) found.push(item(el, s, el.placeholder, '::placeholder', getComputedStyle(el, '::placeholder').color));
    } else if (el.tagName === 'SELECT' && el.selectedOptions.length) {
      found.push(item(el, s, el.selectedOptions[0].text, '', s.color));
    } else if (el.tagName === 'INPUT' && type === 'file') {
      const button = getComputedStyle(el, '::file-selector-button');
      found.push(item(el, button, 'file-selector-button', '::file-selector-button', button.color, button));
      found.push(item(el, s, el.files.length ? el.files[0].name : '(no file)', '', s.color));
    }
    for (const pseudo of ['::before', '::after']) {
      const p = getComputedStyle(el, pseudo);
      const content = p.content;
      if (!content || content === 'none' || content === 'normal' || p.display === 'none') continue;
      if (/^"\s*"$/.test(content)) continue;  // an empty decoration (a dot, a line), not text
      found.push(item(el, p, content, pseudo, p.color, p));
    }
  }
  return {found, invisible};
}"""

# --- one screen, measured -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One visible text as measured: where, its composited colours (the worst variant), the ratio and the minimum."""

    screen: str
    where: str
    text: str
    ink: str
    background: str
    ratio: float
    required: float
    size: float
    weight: int
    note: str = ""

    @property
    def passes(self) -> bool:
        """At least the required ratio (not rounded: 4.49:1 fails), and measurable."""
        return self.ratio >= self.required and not self.note

    def __str__(self) -> str:
        return (
            f"[{self.screen}] {self.where} {self.text!r}: {self.ink} on {self.background} = {self.ratio:.2f}:1, "
            f"needs {self.required:g}:1 ({self.size:g}px, weight {self.weight}){self.note}"
        )


def read(screen: str, text: dict[str, Any]) -> Reading:
    """The reading of one text the page script found."""
    layers = [layer_of(style) for style in text["layers"]]
    background, ink = min(paint(layers, parse_colour(text["colour"])), key=lambda pair: contrast_ratio(*pair))
    return Reading(
        screen,
        text["where"],
        text["text"],
        hex_of(ink),
        hex_of(background),
        contrast_ratio(background, ink),
        required_ratio(text["size"], text["weight"]),
        text["size"],
        text["weight"],
        # A CSS filter or blend mode changes the painted colours in ways this model does not follow.
        " [filter or blend mode: not measurable; use plain colours]" if any(s["effect"] for s in text["layers"]) else "",
    )


@dataclass
class Audit:
    """Every screen measured by a test: texts checked, exempt and unseen per screen, and every reading."""

    label: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    readings: list[Reading] = field(default_factory=list)

    @property
    def failures(self) -> list[Reading]:
        """The texts below their required contrast."""
        return [r for r in self.readings if not r.passes]

    def screen(self, page: Any, name: str) -> None:
        """Measure the page as it is now (its <details> opened); a screenshot goes to var/screenshots/contrast-NAME."""
        page.wait_for_load_state()
        page.evaluate(EXPAND)
        page.wait_for_timeout(150)  # toggle events fire, and HTMX loads what a lane opens
        page.wait_for_function("!document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")
        screenshot(page, f"contrast-{name}")
        raw = page.evaluate(COLLECT)
        checked = [read(name, text) for text in raw["found"] if not text["disabled"]]
        self.readings += checked
        exempt = len(raw["found"]) - len(checked)
        self.counts[name] = {"checked": len(checked), "exempt_disabled": exempt, "not_visible": raw["invisible"]}

    def pairs(self) -> list[str]:
        """Every distinct colour pair with its lowest ratio and an example, nearest its minimum first."""
        worst: dict[tuple[str, str, float], Reading] = {}
        for r in self.readings:
            key = (r.ink, r.background, r.required)
            if key not in worst or r.ratio < worst[key].ratio:
                worst[key] = r
        return [str(r) for r in sorted(worst.values(), key=lambda r: r.ratio / r.required)]

    def verdict(self) -> None:
        """Write the figures to var/screenshots/contrast-LABEL.json, then fail listing every text below AA."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        summary = {"counts": self.counts, "failures": [str(f) for f in self.failures], "pairs": self.pairs()}
        (SCREENSHOTS / f"contrast-{self.label}.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        too_few = {name: c["checked"] for name, c in self.counts.items() if c["checked"] < 5}
        assert too_few == {}, f"screens where almost nothing was measured (did the page load?): {too_few}"
        assert not self.failures, f"{len(self.failures)} texts below WCAG AA contrast:\n" + "\n".join(map(str, self.failures))


# --- the data behind the screens --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """Everything the screens show: productions in each state, a fleet with each health, a week of airings, users."""

    document: int
    draft: int
    review: int
    bulletin: int
    published: int
    province: int
    commune: int
    district: int
    stations: list[int]
    slot: int
    emergency: int
    channel: str
    user: int
    officer: Account


def _productions(accounts: dict[str, Account], tag: str) -> dict[str, int]:
    """A draft (with a queued and a failed render), one in review with two versions, an approved and a published
    bulletin, and an emergency notice half way through its approvals."""
    from db import session_scope
    from studio import service, workflow
    from studio.engine.text.scripts import ScriptLine
    from studio.models import RenderJob
    from web import emergency

    draft = make_production("web-editor", title=f"Kịch bản đo tương phản {tag}")
    review = make_production("web-admin", title=f"Bản duyệt đo tương phản {tag}")
    bulletin, _output = approved_bulletin(accounts, f"Bản tin khẩn đo tương phản {tag}")
    published, _output = approved_bulletin(accounts, f"Bản tin công khai đo tương phản {tag}")
    unsent_job(draft, "web-producer", "radio")
    with session_scope() as session:
        admin = existing_user(session, "web-admin")
        production = service.get_production(session, review)
        lines = service.script_version(session, production).lines
        changed = [ScriptLine("presenter", lines[0].text + " Sửa một chút."), *lines[2:], ScriptLine("expert", "Dòng mới.")]
        workflow.edit_script(session, production=production, lines=changed, user=admin)
        workflow.transition(session, production=production, action="submit", user=admin, comment="Nhờ duyệt giúp.")
        editor = existing_user(session, "web-editor")
        [notice] = emergency.create_from_text(session, user=editor, title=f"Bão thử {tag}", text="Bà con chằng chống nhà cửa.")
        workflow.transition(session, production=notice, action="submit", user=editor)
        session.add(
            RenderJob(
                production_id=draft,
                script_version=1,
                profile="radio",
                content_hash=uuid.uuid4().hex * 2,
                status="failed",
                progress=0.4,
                stage="mix",
                error="ffmpeg thoát với mã 1: lỗi thử khi trộn nhạc nền",
            )
        )
        public = service.get_production(session, published)
        public.channel_slug = f"kenh-{tag}"
        workflow.transition(session, production=public, action="publish", user=existing_user(session, "web-producer"))
        document = service.get_production(session, draft).document_id
    return {"draft": draft, "review": review, "bulletin": bulletin, "published": published, "document": document}


def _week(made: dict[str, Any], bulletin: int, tag: str) -> tuple[int, int]:
    """A daily slot on the commune, airings of each priority and state today, and an emergency now; (slot, emergency)."""
    from broadcast import network, placements
    from broadcast import service as broadcast
    from broadcast.models import Airing
    from db import session_scope
    from studio import service
    from studio.models import Output

    commune = made["communes"][0]
    with session_scope() as session:
        slot = broadcast.create_slot(
            session,
            name="Bản tin sáng",
            target_kind="area",
            target_id=commune,
            rrule="FREQ=DAILY",
            start_time=clock(6, 0),
            duration_s=900,
            dtstart=local_today(),
        )
        broadcast.expand(session, slots=[slot], horizon_days=7)
        output = session.query(Output).filter_by(production_id=bulletin).one()
        for hour, priority, status in ((7, "normal", "published"), (8, "priority", "published"), (10, "normal", "aired")):
            start = datetime.combine(local_today(), clock(hour, 0), tzinfo=TZ).astimezone(UTC)
            session.add(
                Airing(
                    plan_id=None,
                    target_kind="area",
                    target_id=commune,
                    production_id=bulletin,
                    output_id=output.id,
                    start=start,
                    end=start + timedelta(minutes=1),
                    priority=priority,
                    status=status,
                    reason=f"Thử tương phản: {priority}",
                )
            )
        emergency = placements.emergency(session, production_id=bulletin, area_id=commune)
        network.create_channel(
            session,
            slug=f"kenh-{tag}",
            name=f"Kênh đo tương phản {tag}",
            kind="podcast",
            description="Kênh thử của kiểm tra tương phản.",
        )
        assert service.get_production(session, bulletin).status == "approved"
        return slot.id, emergency.id


def _fleet(made: dict[str, Any], emergency: int) -> list[int]:
    """Stations of each health: one pulled and played the emergency, one pulled it, one never polled, one silent."""
    from app import create_app
    from broadcast.models import Station
    from db import session_scope

    stations = made["stations"][made["communes"][0]]
    with TestClient(create_app()) as api:
        for station in stations[:2]:
            auth = {"Authorization": f"Bearer {made['tokens'][station]}"}
            assert api.get(f"/stations/{station}/schedule.json", headers=auth).status_code == 200
        played = {"airing_id": emergency, "played_at": datetime.now(UTC).isoformat(), "duration_s": 60}
        auth = {"Authorization": f"Bearer {made['tokens'][stations[0]]}"}
        assert api.post(f"/stations/{stations[0]}/plays", json={"plays": [played]}, headers=auth).json()["stored"] == 1
    with session_scope() as session:
        session.get(Station, stations[3]).last_seen_at = datetime.now(UTC) - timedelta(minutes=10)  # amber
    return stations


def _users(tag: str) -> int:
    """A locked user, and a user with a live, an expired and a revoked API token; the latter's id."""
    import auth
    from db import session_scope

    with session_scope() as session:
        locked = auth.create_user(session, name=f"tuong-phan-khoa-{tag}", role="editor")
        locked.locked_until = datetime.now(UTC) + timedelta(hours=1)
        user = auth.create_user(session, name=f"tuong-phan-ma-{tag}", role="producer", display_name="Đo tương phản")
        auth.issue_token(session, user=user)
        auth.revoke_tokens(session, user=user)
        auth.issue_token(session, user=user)
        auth.issue_token(session, user=user, expires_at=datetime.now(UTC) - timedelta(days=1))
        return user.id


@pytest.fixture(scope="module")
def scene(stack: Stack, accounts: dict[str, Account]) -> Iterator[Scene]:
    """The data of every screen, made through the services (set-up, not under test); its bulletins go off air after."""
    from db import session_scope
    from studio import service, workflow

    tag = uuid.uuid4().hex[:6]
    made = areas(f"tuong-phan-{tag}", communes=1, stations=4)
    productions = _productions(accounts, tag)
    slot, emergency = _week(made, productions["bulletin"], tag)
    officer = scoped_account(f"can-bo-tuong-phan-{tag}", "scheduler", made["province"])
    yield Scene(
        document=productions["document"],
        draft=productions["draft"],
        review=productions["review"],
        bulletin=productions["bulletin"],
        published=productions["published"],
        province=made["province"],
        district=made["district"],
        commune=made["communes"][0],
        stations=_fleet(made, emergency),
        slot=slot,
        emergency=emergency,
        channel=f"kenh-{tag}",
        user=_users(tag),
        officer=officer,
    )
    with session_scope() as session:  # other modules' fills must not schedule them
        producer = existing_user(session, "web-producer")
        for key in ("bulletin", "published"):
            production = service.get_production(session, productions[key])
            workflow.transition(session, production=production, action="withdraw", user=producer)


# --- the screens ------------------------------------------------------------------------------------------------------


@pytest.fixture
def as_role(signed_in: Callable[..., Any], new_page: Callable[..., Any], scene: Scene) -> Callable[..., Any]:
    """Factory: one signed-in page per (role, viewport), reused across screens; "officer" is the province's officer."""
    pages: dict[tuple[str, bool], Any] = {}

    def make(role: str, phone: bool = False) -> Any:
        if (role, phone) not in pages:
            if role == "officer":
                pages[role, phone] = new_page(PHONE if phone else None)
                browser_sign_in(pages[role, phone], scene.officer)
            else:
                pages[role, phone] = signed_in(role, PHONE if phone else None)
        return pages[role, phone]

    return make


def test_staff_screens_meet_wcag_aa_contrast(as_role: Callable[..., Any], new_page: Callable[..., Any], scene: Scene) -> None:
    audit = Audit("desktop")
    page = new_page()
    page.goto("/app/login")
    audit.screen(page, "login")
    page.get_by_label("Tên đăng nhập").fill("khong-co-nguoi-nay")  # no real account gathers a failed attempt
    page.get_by_label("Mật khẩu").fill("sai-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("alert").wait_for()
    audit.screen(page, "login-error")
    for role in ("admin", "editor", "legal_reviewer", "producer", "scheduler"):
        as_role(role).goto("/app/")
        audit.screen(as_role(role), f"dashboard-{role}")
    screens: list[tuple[str, str, str]] = [
        ("documents", "editor", "/app/documents"),
        ("document", "editor", f"/app/documents/{scene.document}"),
        ("productions", "editor", "/app/productions"),
        ("production-new", "editor", f"/app/productions/new?document_id={scene.document}"),
        ("not-found", "editor", "/app/documents/987654321"),
        ("editor-read-only", "legal_reviewer", f"/app/productions/{scene.draft}"),
        ("review-diff", "legal_reviewer", f"/app/productions/{scene.review}/review?from=1&to=2"),
        ("review-own-version", "admin", f"/app/productions/{scene.review}/review"),
        ("users", "admin", "/app/users"),
        ("user", "admin", f"/app/users/{scene.user}"),
        ("renders", "producer", "/app/jobs"),
        ("schedule-commune", "officer", f"/app/schedule?area_id={scene.commune}"),
        ("schedule-province", "officer", f"/app/schedule?area_id={scene.province}"),
        ("slot-new", "officer", f"/app/slots/new?target=area:{scene.commune}"),
        ("slot", "officer", f"/app/slots/{scene.slot}"),
        ("emergency", "scheduler", "/app/emergency"),
        (
            "emergency-confirm",
            "scheduler",
            f"/app/emergency/confirm?production_id={scene.bulletin}&area={scene.commune}",
        ),
        ("emergency-watch", "scheduler", f"/app/emergency/{scene.emergency}"),
        ("stations", "scheduler", f"/app/stations?area_id={scene.district}"),
        ("station", "scheduler", f"/app/stations/{scene.stations[0]}"),
        ("reports", "scheduler", f"/app/reports?area_id={scene.commune}"),
    ]
    for name, role, url in screens:
        as_role(role).goto(url)
        audit.screen(as_role(role), name)
    _interactive_screens(as_role, scene, audit)
    audit.verdict()


def _interactive_screens(as_role: Callable[..., Any], scene: Scene, audit: Audit) -> None:
    """States reached by a click: the editor's flags and saved flash, a new station token, the fill's summary."""
    editor = as_role("editor")
    editor.goto(f"/app/productions/{scene.draft}")
    first = editor.locator("li.line").first
    first.get_by_label("Lời thoại").fill("Ông QWZXB nộp phạt 1.500.000 đồng theo Nghị định 15/2020/NĐ-CP.")
    first.locator("ul.flags li").filter(has_text="QWZXB").wait_for()
    audit.screen(editor, "editor-flags")
    editor.get_by_role("button", name="Lưu phiên bản").click()
    editor.get_by_role("status").filter(has_text="Đã lưu phiên bản").wait_for()
    audit.screen(editor, "editor-saved")
    scheduler = as_role("scheduler")
    scheduler.goto(f"/app/stations/{scene.stations[2]}")
    scheduler.get_by_role("button", name="Cấp mã mới").click()
    scheduler.locator("#ma-moi").wait_for()
    audit.screen(scheduler, "station-new-token")
    officer = as_role("officer")
    officer.goto(f"/app/schedule?area_id={scene.commune}")
    officer.get_by_role("button", name="Lấp lịch").click()
    officer.get_by_role("heading", name=re.compile("Lấp lịch")).wait_for()
    audit.screen(officer, "schedule-fill")


def test_phone_layouts_and_public_pages_meet_wcag_aa_contrast(
    as_role: Callable[..., Any], new_page: Callable[..., Any], scene: Scene
) -> None:
    audit = Audit("phone-and-public")
    screens: list[tuple[str, str, str]] = [
        ("phone-dashboard", "producer", "/app/"),
        ("phone-productions", "editor", "/app/productions"),
        ("phone-document", "editor", f"/app/documents/{scene.document}"),
        ("phone-editor", "editor", f"/app/productions/{scene.draft}"),
        ("phone-review", "legal_reviewer", f"/app/productions/{scene.review}/review?from=1&to=2"),
        ("phone-renders", "producer", "/app/jobs"),
        ("phone-schedule-commune", "officer", f"/app/schedule?area_id={scene.commune}"),
        ("phone-schedule-province", "officer", f"/app/schedule?area_id={scene.province}"),
        ("phone-slot", "officer", f"/app/slots/{scene.slot}"),
        ("phone-emergency-watch", "scheduler", f"/app/emergency/{scene.emergency}"),
        ("phone-stations", "scheduler", f"/app/stations?area_id={scene.district}"),
        ("phone-reports", "scheduler", f"/app/reports?area_id={scene.commune}"),
        ("phone-users", "admin", "/app/users"),
    ]
    for name, role, url in screens:
        as_role(role, phone=True).goto(url)
        audit.screen(as_role(role, phone=True), name)
    public = new_page()
    for name, url in (
        ("public-home", "/"),
        ("public-channel", f"/channels/{scene.channel}"),
        ("public-episode", f"/episodes/{scene.published}"),
        ("public-not-found", "/episodes/987654321"),
    ):
        public.goto(url)
        audit.screen(public, name)
    public_phone = new_page(PHONE)
    public_phone.goto(f"/episodes/{scene.published}")
    audit.screen(public_phone, "phone-public-episode")
    audit.verdict()


def test_the_page_script_finds_exactly_the_failing_texts(new_page: Callable[..., Any]) -> None:
    page = new_page()
    page.set_content(
        """<style>input::placeholder { color: #aaa } .label::before { content: "Nhãn: "; color: #999 }</style>
        <p style="color:#777">fails at 4.48</p><p style="color:#767676">passes at 4.54</p>
        <h1 style="font-size:24px;color:#949494">large passes at 3.03</h1>
        <div style="background:rgba(0,0,0,.6)"><span style="color:#000">fails on 60 % black</span></div>
        <p style="opacity:.5;color:#000">fails through opacity</p><button disabled style="color:#ccc">exempt</button>
        <span style="position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);color:#eee">unseen</span>
        <input placeholder="placeholder too light"><p style="color:#777">fails at 4.48</p>
        <p style="background:#fff linear-gradient(#fff, #333);color:#000">fails on the dark end</p>
        <details><summary>closed</summary><p style="color:#888">fails inside closed details</p></details>
        <p class="label">the label fails</p><p style="filter:brightness(.5)">filtered</p>
        <p style="opacity:0;color:#eee">transparent, so unseen</p>"""
    )
    audit = Audit("self-check")
    audit.screen(page, "self-check")
    found = {f.where.rsplit(">", 1)[-1].strip() + " " + f.text: round(f.ratio, 2) for f in audit.failures}
    assert found == {
        "p fails at 4.48": 4.48,
        "span fails on 60 % black": 3.66,
        "p fails through opacity": 3.98,
        "input::placeholder placeholder too light": 2.32,
        "p fails on the dark end": 1.66,
        "p fails inside closed details": 3.54,
        'p.label::before "Nhãn: "': 2.85,
        "p filtered": 21.0,
    }
    assert len(audit.failures) == 9  # the same text twice is two failures
    assert audit.counts["self-check"] == {"checked": 13, "exempt_disabled": 1, "not_visible": 2}
