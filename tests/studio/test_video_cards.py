"""The sketch's cards: every word of every card the sample scripts make fits the 9:16 (and 16:9) frame, and the
question card is on screen only while the citizen asks it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFont

from studio.engine import pipeline
from studio.engine.render import _ffmpeg_video as fx
from studio.engine.render.video import Branding, PlacedText, Slide, render_slide, slide_layout
from studio.engine.text import speech
from studio.engine.text.scripts import ScriptLine
from tests.conftest import ROOT, Stack

FONTS = ROOT / "assets" / "defaults" / "fonts"
FONT, BOLD = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
SAMPLES = [ROOT / "assets" / "defaults" / "sample-law.txt", *sorted((ROOT / "tests" / "data").glob("*.txt"))]
# The organisations' full names, as settings.py has them by default and the worker brands every video with.
BRANDING = Branding(None, None, "Sở Tư pháp tỉnh Quảng Ninh", "Trung tâm Truyền thông tỉnh Quảng Ninh")
FRAMES = [(1080, 1920), (1280, 720)]
SENTENCE_S = 2.0


@dataclass(frozen=True)
class Sketch:
    """A video production's first script as the service wrote it, and what the render gives its title card."""

    name: str
    title: str
    album: str
    lines: list[ScriptLine]

    def sentences(self) -> list[tuple[int, float, float]]:
        """(line index, start, end) of each sentence, spoken one after another as the pipeline splits them."""
        out, at = [], 0.0
        for index, line in enumerate(self.lines):
            for _ in speech.split_sentences(line.text):
                out.append((index, at, at + SENTENCE_S))
                at += SENTENCE_S
            at += line.pause_ms / 1000
        return out

    def slides(self) -> list[Slide]:
        """The cards of the render, from the same plan the pipeline uses."""
        timed = self.sentences()
        return pipeline.slide_plan(self.title, self.album, self.lines, [(i, start) for i, start, _ in timed], timed[-1][2] + 1.0)


@pytest.fixture(scope="module")
def sketches(stack: Stack) -> Iterator[list[Sketch]]:
    """The video sketch the service writes for the bundled sample law and for each law in tests/data."""
    from app import create_app

    editor = stack.headers("editor")
    made = []
    with TestClient(create_app()) as api:
        for path in SAMPLES:
            doc = api.post("/api/documents", json={"text": path.read_text(encoding="utf-8")}, headers=editor)
            assert doc.status_code == 201, doc.text
            production = api.post("/api/productions", json={"document_id": doc.json()["id"], "format": "video"}, headers=editor)
            assert production.status_code == 201, production.text
            script = api.get(f"/api/productions/{production.json()['id']}/script", headers=editor).json()
            made.append(
                Sketch(
                    path.name,
                    production.json()["title"],
                    doc.json()["title"],
                    [ScriptLine.from_json(line) for line in script["lines"]],
                )
            )
    yield made


def _check_fits(placed: PlacedText, width: int, height: int) -> None:
    words = placed.text.split()
    assert " ".join(placed.rows).split() == words, f"{placed.name}: words lost or reordered: {placed.rows}"
    assert not any("…" in row for row in placed.rows)
    font = ImageFont.truetype(str(placed.font), placed.size)  # Pillow's own measure, not the code's
    widest = max(font.getlength(row) for row in placed.rows)
    assert widest <= placed.box_width, f"{placed.name}: a row is {widest:.0f} px in a {placed.box_width} px box"
    ascent, descent = font.getmetrics()
    rows = len(placed.rows)
    tall = rows * (ascent + descent) + (rows - 1) * max(2, placed.size // 4)
    assert tall <= placed.box_height + rows, f"{placed.name}: {tall} px of rows in a {placed.box_height} px box"
    unit = min(width, height)
    limit = width // 2 if placed.name.startswith("brand") else width - 2 * (unit // 16)
    assert placed.box_width <= limit


@pytest.mark.parametrize("frame", FRAMES, ids=["9x16", "16x9"])
def test_every_card_of_the_sample_sketches_fits_whole(sketches: list[Sketch], frame: tuple[int, int]) -> None:
    width, height = frame
    cards = 0
    for sketch in sketches:
        slides = sketch.slides()
        assert len(slides) >= 4, sketch.name  # title card, a question, its answer, the outro
        for slide in slides:
            layout = slide_layout(slide, width=width, height=height, branding=BRANDING, font=FONT, bold_font=BOLD)
            assert {p.name for p in layout} >= {"brand-left", "brand-right", "title"}
            for placed in layout:
                _check_fits(placed, width, height)
            cards += 1
    assert cards >= 12


def test_question_cards_carry_the_whole_question(sketches: list[Sketch]) -> None:
    for sketch in sketches:
        questions = [line.text for line in sketch.lines if line.role == "question"]
        titles = [slide.title for slide in sketch.slides()]
        assert questions and all(question in titles for question in questions), sketch.name
        assert titles[0] == sketch.title  # the title card has the production's whole title


def _text_pixels(strip: Image.Image, background: tuple[int, ...]) -> int:
    """Pixels of an RGB strip that differ from the background by more than 40 in some channel."""
    pixels = np.asarray(strip, dtype=np.int16)
    return int((np.abs(pixels - np.array(background, dtype=np.int16)).max(axis=2) > 40).sum())


def test_the_longest_cards_draw_inside_the_portrait_frame(sketches: list[Sketch], tmp_path: Path) -> None:
    width, height = 1080, 1920
    slides = [s for sketch in sketches for s in sketch.slides()]
    longest = sorted(slides, key=lambda s: len(s.title), reverse=True)[:2]
    bar_h, margin = width // 10, width // 16
    for index, slide in enumerate(longest):
        png = render_slide(
            slide, tmp_path / f"card-{index}.png", width=width, height=height, branding=BRANDING, font=FONT, bold_font=BOLD
        )
        image = Image.open(png).convert("RGB")
        body = (0, bar_h + 20, width, height)
        background = image.getpixel((width // 2, height - 5))
        assert isinstance(background, tuple)
        # Text stays out of the side margins of the card and of the header bar (drawtext would run off the frame).
        for x0, x1 in ((0, margin // 2), (width - margin // 2, width)):
            assert _text_pixels(image.crop((x0, body[1], x1, body[3])), background) == 0, (slide.title, x0)
            assert _text_pixels(image.crop((x0, 0, x1, bar_h - 4)), (255, 255, 255)) == 0, (slide.title, "header", x0)
        middle = image.crop((margin, bar_h + 20, width - margin, height // 2 + 300))
        assert _text_pixels(middle, background) > 1000  # and the card does show its text


def test_the_question_card_follows_who_is_speaking(sketches: list[Sketch]) -> None:
    for sketch in sketches:
        slides = sketch.slides()
        starts = [slide.start_s for slide in slides]
        frames = fx.frame_ranges(starts, slides[-1].end_s or 0.0)  # what render_video hands to ffmpeg
        assert sum(frames) == round((slides[-1].end_s or 0.0) * fx.FPS)
        speaker_of = {}
        for index, start, _ in sketch.sentences():
            line = sketch.lines[index]
            if line.role in ("question", "answer") and start in starts:
                speaker_of[starts.index(start)] = line.speaker
        for index, start, end in sketch.sentences():
            line = sketch.lines[index]
            if line.role not in ("question", "answer"):
                continue
            shown = max(i for i, s in enumerate(starts) if s <= start)
            assert (shown_end := slides[shown].end_s) is not None and shown_end >= end  # one card for the whole sentence
            assert speaker_of.get(shown) == line.speaker, (sketch.name, line.text, slides[shown].title)
            if line.role == "question":
                assert slides[shown].title == line.text
            else:
                assert slides[shown].title.startswith("Theo Điều") and ":" not in slides[shown].title
        question_cards = [i for i, who in speaker_of.items() if who == "citizen"]
        for i in question_cards:  # each question card ends exactly when the expert starts to answer
            answer_start = next(
                s for idx, s, _ in sketch.sentences() if s >= slides[i].start_s and sketch.lines[idx].role == "answer"
            )
            assert slides[i].end_s == answer_start
            assert frames[i] == round(answer_start * fx.FPS) - round(slides[i].start_s * fx.FPS)
