"""Script templates per format: provisions in, script lines out (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Espeak reads Vietnamese at roughly this many syllables (words) per second at rate 165;
# used only to plan loudspeaker parts before anything is rendered.
WORDS_PER_SECOND = 2.9
LOUDSPEAKER_MAX_S = 180.0
VIDEO_MAX_WORDS = 190


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


@dataclass
class Line:
    """One script line: who says what, then how long a pause."""

    speaker: str
    text: str
    pause_ms: int = 400
    provision_id: int | None = None
    role: str = "body"
    bed: bool = False

    def as_dict(self) -> dict[str, object]:
        """JSON form stored in a script version."""
        return {
            "speaker": self.speaker,
            "text": self.text,
            "pause_ms": self.pause_ms,
            "provision_id": self.provision_id,
            "role": self.role,
            "bed": self.bed,
        }


@dataclass
class Draft:
    """A first script plus notes for the editor."""

    lines: list[Line]
    notes: list[str] = field(default_factory=list)


def estimate_seconds(lines: Sequence[Line]) -> float:
    """Rough spoken length of lines, for planning before rendering."""
    words = sum(len(line.text.split()) for line in lines)
    pauses = sum(line.pause_ms for line in lines) / 1000
    return words / WORDS_PER_SECOND + pauses


def _doc_name(doc: DocumentInfo) -> str:
    name = doc.doc_type or "văn bản"
    if doc.number:
        name = f"{name} số {doc.number}"
    return name


def _provision_lines(provisions: Sequence[ProvisionText], speaker: str = "presenter") -> list[Line]:
    lines: list[Line] = []
    for prov in provisions:
        heading = f"{prov.label}. {prov.heading}".strip(". ") if prov.heading else prov.label
        lines.append(Line(speaker, heading + ".", 600, prov.id, "heading"))
        if prov.body.strip():
            lines.append(Line(speaker, prov.body.strip(), 900, prov.id, "body"))
    return lines


def radio_script(doc: DocumentInfo, provisions: Sequence[ProvisionText]) -> Draft:
    """The weekly column 'Tìm hiểu pháp luật': greeting, provisions, recap, outro."""
    name = _doc_name(doc)
    lines = [
        Line(
            "presenter",
            f"Kính thưa quý thính giả, chào mừng quý vị đến với chuyên mục Tìm hiểu pháp luật. "
            f"Hôm nay chúng ta cùng tìm hiểu {name} về {doc.title.rstrip('.')}.",
            800,
            role="intro",
            bed=True,
        ),
        *_provision_lines(provisions),
    ]
    labels = ", ".join(p.label for p in provisions[:6])
    recap = f"Như vậy, chúng ta vừa tìm hiểu các quy định tại {labels} của {name}."
    if doc.effective_on:
        recap += f" Văn bản có hiệu lực kể từ ngày {doc.effective_on}."
    lines.append(Line("presenter", recap, 700, role="recap", bed=True))
    lines.append(
        Line(
            "presenter",
            "Chuyên mục Tìm hiểu pháp luật do Sở Tư pháp phối hợp với Trung tâm Truyền thông tỉnh thực hiện. "
            "Cảm ơn quý vị đã lắng nghe, hẹn gặp lại quý vị trong chuyên mục tuần sau.",
            500,
            role="outro",
            bed=True,
        )
    )
    notes = []
    estimate = estimate_seconds(lines)
    if estimate < 300:
        notes.append(f"Dự kiến {estimate / 60:.1f} phút, ngắn hơn 5 phút của chuyên mục: có thể chọn thêm điều khoản.")
    if estimate > 900:
        notes.append(f"Dự kiến {estimate / 60:.1f} phút, dài hơn 15 phút: nên bớt điều khoản.")
    return Draft(lines, notes)


def loudspeaker_parts(doc: DocumentInfo, provisions: Sequence[ProvisionText]) -> list[Draft]:
    """Bulletins of at most 3 minutes each; numbered parts when the provisions need more."""
    groups: list[list[ProvisionText]] = [[]]
    budget = LOUDSPEAKER_MAX_S - 25.0  # greeting and closing lines
    for prov in provisions:
        trial = groups[-1] + [prov]
        if groups[-1] and estimate_seconds(_provision_lines(trial)) > budget:
            groups.append([prov])
        else:
            groups[-1] = trial
        if estimate_seconds(_provision_lines([prov])) > budget:
            raise ValueError(
                f"{prov.label} dài khoảng {estimate_seconds(_provision_lines([prov])):.0f} giây, "
                "vượt giới hạn 3 phút của một bản tin loa; hãy chọn các khoản của điều này thay vì cả điều."
            )
    total = len(groups)
    drafts = []
    for index, group in enumerate(groups, start=1):
        part = f" Phần {index}/{total}." if total > 1 else ""
        lines = [
            Line("presenter", f"Bản tin pháp luật.{part} Sau đây là nội dung {_doc_name(doc)}.", 500, role="intro"),
            *_provision_lines(group),
            Line("presenter", "Đề nghị bà con nhân dân nghiêm chỉnh thực hiện. Bản tin đến đây là hết.", 300, role="outro"),
        ]
        drafts.append(Draft(lines, [f"Phần {index}/{total}"] if total > 1 else []))
    return drafts


def video_script(doc: DocumentInfo, provisions: Sequence[ProvisionText]) -> Draft:
    """A 60-90 s sketch: a citizen asks, a legal expert answers, the presenter frames it."""
    name = _doc_name(doc)
    lines = [
        Line("presenter", f"Tiểu phẩm pháp luật: {doc.title.rstrip('.')}.", 500, role="title"),
    ]
    words = 0
    for prov in provisions:
        heading = prov.heading or prov.label
        question = f"Thưa luật sư, {heading[:1].lower() + heading[1:]} được quy định thế nào?"
        body = prov.body.strip() or heading
        answer_words = body.split()
        remaining = VIDEO_MAX_WORDS - words - len(question.split())
        if remaining < 25:
            break
        if len(answer_words) > remaining:
            body = " ".join(answer_words[:remaining]).rstrip(",;") + "."
        lines.append(Line("citizen", question, 300, prov.id, "question"))
        lines.append(Line("expert", f"Theo {prov.label} {name}: {body}", 500, prov.id, "answer"))
        words += len(question.split()) + len(body.split())
    lines.append(Line("presenter", "Hãy tìm hiểu và thực hiện đúng quy định của pháp luật.", 300, role="outro"))
    notes = []
    estimate = estimate_seconds(lines)
    if not 60 <= estimate <= 90:
        notes.append(f"Dự kiến {estimate:.0f} giây; tiểu phẩm nên dài 60-90 giây.")
    return Draft(lines, notes)
