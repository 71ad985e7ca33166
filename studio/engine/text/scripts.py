"""Script templates per format: provisions in, script lines out (pure)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeVar

from studio.engine.text import speech

# espeak reads the spoken form (numbers and citations written out) at about 3.8 syllables a second at
# rate 165 (measured on the sample law); planning uses a slightly slower reader, so plans err long.
SPOKEN_WORDS_PER_SECOND = 3.6
SENTENCE_PAUSE_S = 0.25  # the pipeline's pause between sentences of one line
JINGLES_S = 6.5  # bundled intro (3.6 s) and outro (2.6 s) jingles, rounded up
LOUDSPEAKER_MAX_S = 180.0
RADIO_MIN_S, RADIO_MAX_S = 300.0, 900.0  # the weekly column runs 5 to 15 minutes
# The bed fades out after the greeting and in before the recap within this breath (its 0.8 s fades and
# a pause), which is also where the renderer may cut the programme into separately mixed sections.
BED_BREATH_MS = 1200
LOUDSPEAKER_PLAN_S = LOUDSPEAKER_MAX_S - 15.0  # room for an engine that reads slower than planned
VIDEO_MIN_S, VIDEO_MAX_S = 60.0, 90.0
VIDEO_TARGET_S = 82.0  # planned length of a sketch, inside 60-90 s with room for a slower reader
LENGTH_LIMITS_S = {
    "radio": (RADIO_MIN_S, RADIO_MAX_S),
    "loudspeaker": (0.0, LOUDSPEAKER_MAX_S),
    "video": (VIDEO_MIN_S, VIDEO_MAX_S),
}


@dataclass(frozen=True)
class ProvisionText:
    """What a template needs of a provision."""

    id: int | None
    label: str
    heading: str
    body: str


@dataclass(frozen=True)
class DocumentInfo:
    """What a template needs of a document."""

    title: str
    doc_type: str | None
    number: str | None
    effective_on: str | None = None


@dataclass(frozen=True)
class ScriptLine:
    """One script line: who says what, then how long a pause (stored as JSON: `to_json` and `from_json`)."""

    speaker: str
    text: str
    pause_ms: int = 400
    provision_id: int | None = None
    role: str = "body"
    bed: bool = False

    def to_json(self) -> dict[str, object]:
        """JSON form stored in a script version."""
        return {
            "speaker": self.speaker,
            "text": self.text,
            "pause_ms": self.pause_ms,
            "provision_id": self.provision_id,
            "role": self.role,
            "bed": self.bed,
        }

    @classmethod
    def from_json(cls, data: object) -> ScriptLine:
        """The line a stored JSON object holds; absent optional fields take their defaults.

        Raises TypeError for anything that is not a line (not an object, a field missing or of the wrong type):
        a stored script that fails here is corrupt, and is never half read.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"a script line is a JSON object, not {type(data).__name__}: {data!r:.80}")
        provision_id = None if data.get("provision_id") is None else _field(data, "provision_id", int)
        return cls(
            speaker=_field(data, "speaker", str),
            text=_field(data, "text", str),
            pause_ms=_field(data, "pause_ms", int, 400),
            provision_id=provision_id,
            role=_field(data, "role", str, "body"),
            bed=_field(data, "bed", bool, False),
        )


_Value = TypeVar("_Value")


def _field(data: Mapping[str, object], name: str, kind: type[_Value], default: _Value | None = None) -> _Value:
    value = data.get(name, default)
    # bool is an int to Python, never to a script: a pause of `true` is corrupt, not one millisecond.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"a script line's '{name}' must be a {kind.__name__}, not {value!r:.80}")
    return value


@dataclass
class Draft:
    """A first script plus notes for the editor."""

    lines: list[ScriptLine]
    notes: list[str] = field(default_factory=list)


def estimate_seconds(lines: Sequence[ScriptLine], *, jingles: bool = False) -> float:
    """Planned spoken length of lines (from their spoken form), with the jingles if asked."""
    seconds = JINGLES_S if jingles else 0.0
    for line in lines:
        sentences = [speech.normalize(sentence).text for sentence in speech.split_sentences(line.text)]
        words = sum(len(sentence.split()) for sentence in sentences if sentence.strip())
        seconds += words / SPOKEN_WORDS_PER_SECOND + max(0, len(sentences) - 1) * SENTENCE_PAUSE_S + line.pause_ms / 1000
    return seconds


def _doc_name(doc: DocumentInfo) -> str:
    name = doc.doc_type or "văn bản"
    if doc.number:
        name = f"{name} số {doc.number}"
    return name


# Titles that begin with what the document does read straight after its name ("Luật số 99/2025/QH15 sửa đổi, ...").
_ACTION_OPENINGS = ("quy định", "sửa đổi", "bổ sung", "ban hành", "hướng dẫn", "bãi bỏ", "phê duyệt", "thông qua", "điều chỉnh")


def named_subject(doc: DocumentInfo) -> str:
    """The document's name and what it is about, as said aloud: '{name} về {subject}', never 'về Về'."""
    name = _doc_name(doc)
    title = " ".join(unicodedata.normalize("NFC", doc.title).split()).rstrip(".")
    first, _, rest = title.partition(" ")
    if first.lower() == "về" and rest:
        return f"{name} về {rest}"  # many decisions are titled "Về ..." ("On ..."): the connective is already there
    if title.lower().startswith(_ACTION_OPENINGS):
        return f"{name} {title[:1].lower()}{title[1:]}"
    return f"{name} về {title}" if title else name


def _provision_lines(provisions: Sequence[ProvisionText], speaker: str = "presenter") -> list[ScriptLine]:
    lines: list[ScriptLine] = []
    for prov in provisions:
        heading = f"{prov.label}. {prov.heading}".strip(". ") if prov.heading else prov.label
        lines.append(ScriptLine(speaker, heading + ".", 600, prov.id, "heading"))
        if prov.body.strip():
            lines.append(ScriptLine(speaker, prov.body.strip(), 900, prov.id, "body"))
    return lines


def radio_script(doc: DocumentInfo, provisions: Sequence[ProvisionText]) -> Draft:
    """The weekly column 'Tìm hiểu pháp luật': greeting, provisions, recap, outro."""
    name = _doc_name(doc)
    lines = [
        ScriptLine(
            "presenter",
            f"Kính thưa quý thính giả, chào mừng quý vị đến với chuyên mục Tìm hiểu pháp luật. "
            f"Hôm nay chúng ta cùng tìm hiểu {named_subject(doc)}.",
            BED_BREATH_MS,
            role="intro",
            bed=True,
        ),
        *_provision_lines(provisions),
    ]
    lines[-1] = replace(lines[-1], pause_ms=max(lines[-1].pause_ms, BED_BREATH_MS))
    labels = ", ".join(p.label for p in provisions[:6])
    recap = f"Như vậy, chúng ta vừa tìm hiểu các quy định tại {labels} của {name}."
    if doc.effective_on:
        recap += f" Văn bản có hiệu lực kể từ ngày {doc.effective_on}."
    lines.append(ScriptLine("presenter", recap, 700, role="recap", bed=True))
    lines.append(
        ScriptLine(
            "presenter",
            "Chuyên mục Tìm hiểu pháp luật do Sở Tư pháp phối hợp với Trung tâm Truyền thông tỉnh thực hiện. "
            "Cảm ơn quý vị đã lắng nghe, hẹn gặp lại quý vị trong chuyên mục tuần sau.",
            500,
            role="outro",
            bed=True,
        )
    )
    notes = []
    estimate = estimate_seconds(lines, jingles=True)
    if estimate < RADIO_MIN_S:
        notes.append(f"Dự kiến {estimate / 60:.1f} phút, ngắn hơn 5 phút của chuyên mục: có thể chọn thêm điều khoản.")
    if estimate > RADIO_MAX_S:
        notes.append(f"Dự kiến {estimate / 60:.1f} phút, dài hơn 15 phút: nên bớt điều khoản.")
    return Draft(lines, notes)


def _bulletin(doc: DocumentInfo, provisions: Sequence[ProvisionText], part: str, *, emergency: bool = False) -> list[ScriptLine]:
    if emergency:
        # An emergency is announced as one, twice, so that people who only half hear it stop to listen.
        intro = f"Thông báo khẩn cấp! Thông báo khẩn cấp!{part} Sau đây là nội dung {_doc_name(doc)}."
        outro = "Đề nghị bà con nhân dân khẩn trương thực hiện. Thông báo khẩn cấp đến đây là hết."
    else:
        intro = f"Bản tin pháp luật.{part} Sau đây là nội dung {_doc_name(doc)}."
        outro = "Đề nghị bà con nhân dân nghiêm chỉnh thực hiện. Bản tin đến đây là hết."
    return [
        ScriptLine("presenter", intro, 500, role="intro"),
        *_provision_lines(provisions),
        ScriptLine("presenter", outro, 300, role="outro"),
    ]


def loudspeaker_parts(doc: DocumentInfo, provisions: Sequence[ProvisionText], *, emergency: bool = False) -> list[Draft]:
    """Bulletins of at most 3 minutes each; numbered parts when the provisions need more.

    A part is planned whole (jingles, greeting, provisions, closing) against LOUDSPEAKER_PLAN_S;
    a single provision that cannot fit is refused with the reason. An emergency bulletin is
    introduced and closed as an emergency announcement, not as the routine legal bulletin.
    """

    def planned(group: Sequence[ProvisionText]) -> float:
        return estimate_seconds(_bulletin(doc, group, " Phần 9/9.", emergency=emergency), jingles=True)

    groups: list[list[ProvisionText]] = []
    for prov in provisions:
        alone = planned([prov])
        if alone > LOUDSPEAKER_PLAN_S:
            raise ValueError(
                f"{prov.label} đọc mất khoảng {alone:.0f} giây, vượt giới hạn 3 phút của một bản tin loa; "
                "hãy chọn các khoản của điều này thay vì cả điều (provision too long for one bulletin)."
            )
        if groups and planned(groups[-1] + [prov]) <= LOUDSPEAKER_PLAN_S:
            groups[-1].append(prov)
        else:
            groups.append([prov])
    total = len(groups)
    drafts = []
    for index, group in enumerate(groups, start=1):
        part = f" Phần {index}/{total}." if total > 1 else ""
        drafts.append(Draft(_bulletin(doc, group, part, emergency=emergency), [f"Phần {index}/{total}"] if total > 1 else []))
    return drafts


def _clipped(body: str, fits: Callable[[str], bool]) -> str | None:
    """The longest start of body (cut after a clause where possible) for which fits() holds; None if under 12 words."""
    words = body.split()
    if fits(body):
        return body
    low, high = 0, len(words)
    while low < high:  # most words that fit
        mid = (low + high + 1) // 2
        if fits(" ".join(words[:mid]) + "."):
            low = mid
        else:
            high = mid - 1
    if low < 12:
        return None
    cut = max((i + 1 for i in range(low // 2, low) if words[i][-1] in ";:.,"), default=low)
    return " ".join(words[:cut]).rstrip(",;:") + "."


def _answer(prov: ProvisionText, name: str, text: str) -> ScriptLine:
    return ScriptLine("expert", f"Theo {prov.label} {name}: {text}", 500, prov.id, "answer")


def _fits(
    before: Sequence[ScriptLine], answer: Callable[[str], ScriptLine], outro: ScriptLine, target_s: float, text: str
) -> bool:
    """Whether the sketch, answered with text after `before` and closed by the outro, is planned within target_s."""
    return estimate_seconds([*before, answer(text), outro], jingles=True) <= target_s


def video_script(doc: DocumentInfo, provisions: Sequence[ProvisionText], *, target_s: float = VIDEO_TARGET_S) -> Draft:
    """A 60-90 s sketch: a citizen asks, a legal expert answers (two voices), the presenter frames it."""
    name = _doc_name(doc)
    title = ScriptLine("presenter", f"Tiểu phẩm pháp luật: {doc.title.rstrip('.')}.", 500, role="title")
    outro = ScriptLine("presenter", "Hãy tìm hiểu và thực hiện đúng quy định của pháp luật.", 300, role="outro")
    lines = [title]
    for prov in provisions:
        heading = prov.heading or prov.label
        question = ScriptLine(
            "citizen", f"Thưa luật sư, {heading[:1].lower() + heading[1:]} được quy định thế nào?", 300, prov.id, "question"
        )
        answer = partial(_answer, prov, name)
        body = _clipped(prov.body.strip() or heading, partial(_fits, [*lines, question], answer, outro, target_s))
        if body is None:
            break
        lines += [question, answer(body)]
    lines.append(outro)
    notes = []
    estimate = estimate_seconds(lines, jingles=True)
    if not VIDEO_MIN_S <= estimate <= VIDEO_MAX_S:
        notes.append(f"Dự kiến {estimate:.0f} giây; tiểu phẩm nên dài {VIDEO_MIN_S:.0f}-{VIDEO_MAX_S:.0f} giây.")
    return Draft(lines, notes)
