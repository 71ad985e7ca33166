"""The render pipeline: script lines -> speech -> mixed, normalised media plus sidecars.

Pure with respect to the database: it takes plain data and a work directory and returns files; that data
(RenderSpec, Report, RenderedFile, BadScript) is in studio/engine/spec.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from studio.engine.render import audio, subtitles, video
from studio.engine.render._ffmpeg import Cancelled
from studio.engine.render.profiles import PROFILES, AudioProfile, mezzanine
from studio.engine.spec import BadScript, RenderedFile, RenderSpec, Report
from studio.engine.text import speech
from studio.engine.text.scripts import ScriptLine
from studio.engine.tts import Engine, PhraseCache, speak

PIPELINE_VERSION = "4"  # part of every content hash: bump when the same script would render different bytes
SENTENCE_PAUSE_MS = 250

# Engine voice and espeak pitch per speaker. Measured median F0 with espeak: presenter ~111 Hz,
# expert ~73 Hz, citizen ~127 Hz, so the two sides of a sketch's dialogue are clearly apart.
VOICES: dict[str, tuple[str, int]] = {
    "presenter": ("vi", 50),
    "expert": ("vi-VN-x-south", 38),
    "citizen": ("vi-VN-x-central", 85),
}

VIDEO_PROFILES = {"video_16x9": (1280, 720, "video_web"), "video_9x16": (1080, 1920, "video_web")}
FORMAT_PROFILES = {
    "radio": ("radio", "podcast"),
    "loudspeaker": ("loudspeaker",),
    "video": ("video_16x9", "video_9x16"),
}
# Rendered only when asked: a radio segment's low-bitrate loudspeaker cut (the feeds' alternateEnclosure).
OPTIONAL_PROFILES = {"radio": ("loudspeaker",)}


@dataclass
class Spoken:
    """A synthesised sentence and where it came from."""

    line_index: int
    written: str
    speaker: str
    wav: Path
    duration_s: float
    pause_after_ms: int
    bed: bool
    chapter: str | None
    engine: str
    speech_log: dict[str, object] = field(default_factory=dict)


@lru_cache(maxsize=1)
def assets_fingerprint() -> str:
    """Hash of the bundled jingles, bed and fonts, so replacing one re-renders."""
    digest = hashlib.sha256()
    root = audio.default_asset("fonts").parent
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def profiles_for(format: str) -> tuple[str, ...]:
    """Output profiles a production format renders to."""
    return FORMAT_PROFILES[format]


def allowed_profiles(format: str) -> tuple[str, ...]:
    """Profiles a render of this format may ask for: the default ones plus the optional ones."""
    return FORMAT_PROFILES[format] + OPTIONAL_PROFILES.get(format, ())


def voice_for(speaker: str) -> tuple[str, int]:
    """Engine voice and pitch of a script speaker."""
    return VOICES.get(speaker, VOICES["presenter"])


def spoken_script(lines: Sequence[ScriptLine], lexicon: dict[str, str]) -> list[tuple[int, str, str, str]]:
    """(line index, speaker, written sentence, spoken sentence) for every sentence of the script."""
    out = []
    for index, line in enumerate(lines):
        for sentence in speech.split_sentences(line.text):
            spoken = speech.normalize(sentence, lexicon).text
            if spoken.strip():
                out.append((index, line.speaker, sentence, spoken))
    return out


def synthesise(spec: RenderSpec, *, engines: Sequence[Engine], cache: PhraseCache, report: Report) -> Iterator[Spoken]:
    """Speak every sentence through the phrase cache, one sentence at a time, yielding each as it is ready."""
    sentences = spoken_script(spec.lines, spec.lexicon)
    last_of_line = {index: pos for pos, (index, *_rest) in enumerate(sentences)}
    chaptered: set[object] = set()
    result: list[Spoken] = []
    for pos, (index, speaker, written, spoken) in enumerate(sentences):
        if report.cancel():
            raise Cancelled("cancelled during speech synthesis")
        line = spec.lines[index]
        voice, pitch = voice_for(speaker)
        phrase = speak(spoken, engines=engines, cache=cache, voice=voice, rate=spec.rate, pitch=pitch)
        report.engines_used.add(phrase.engine)
        chapter = _chapter_title(line, chaptered)
        pause = line.pause_ms if last_of_line[index] == pos else SENTENCE_PAUSE_MS
        result.append(
            Spoken(
                index,
                written,
                speaker,
                phrase.path,
                phrase.duration_s,
                pause,
                line.bed,
                chapter,
                phrase.engine,
                phrase.record(),
            )
        )
        report.progress(0.5 * (pos + 1) / len(sentences), "speech")
        yield result[-1]
    if not result:
        raise BadScript(
            "Kịch bản không có câu nào đọc được: các dòng chỉ có dấu câu, ký hiệu hoặc để trống. "
            "Hãy viết lời đọc cho ít nhất một dòng rồi dựng lại (the script has nothing to speak)."
        )


def check_length(spec: RenderSpec, spoken: Sequence[Spoken], jingles_s: float) -> float:
    """Planned length of the output; over the product's limit (a loudspeaker bulletin) it is refused before encoding."""
    total = jingles_s + sum(s.duration_s + s.pause_after_ms / 1000 for s in spoken)
    limit = spec.max_duration_s
    if limit is not None and total > limit:
        raise BadScript(
            f"Bản tin loa dài {total:.0f} giây, vượt giới hạn {limit / 60:.0f} phút ({limit:.0f} giây). "
            "Hãy rút gọn kịch bản, hoặc tạo lại sản phẩm để chia thành các phần (Phần 1/2, 2/2...) "
            "(loudspeaker bulletin too long)."
        )
    return total


def _chapter_title(line: ScriptLine, seen: set[object]) -> str | None:
    role = line.role
    key = line.provision_id or (role if role in ("intro", "recap", "outro", "title") else None)
    if key is None or key in seen:
        return None
    seen.add(key)
    titles = {"intro": "Giới thiệu", "recap": "Tóm tắt", "outro": "Kết thúc", "title": "Mở đầu"}
    return titles.get(str(key)) or line.text.split(":")[0][:80].rstrip(".")


def render(
    spec: RenderSpec, *, work_dir: Path, engines: Sequence[Engine], cache: PhraseCache, report: Report
) -> list[RenderedFile]:
    """Render one profile: speech, mix, loudness, encode, then subtitles, transcript and chapters."""
    work_dir.mkdir(parents=True, exist_ok=True)
    audio_profile = _audio_profile(spec.profile)
    spoken: list[Spoken] = []
    mixed = _mix(spec, audio_profile, spoken, work_dir=work_dir, engines=engines, cache=cache, report=report)
    cues = subtitles.cues_from_timings(
        [s.written for s in spoken],
        [(t.start_s, t.end_s) for t in mixed.timings],
        speakers=[s.speaker for s in spoken],
    )
    files = _sidecars(work_dir, cues, spoken, mixed, spec.title)
    if spec.profile in VIDEO_PROFILES:
        files.insert(0, _video(spec, spoken, mixed, cues, work_dir=work_dir, report=report))
    else:
        loudness = mixed.loudness
        files.insert(
            0,
            RenderedFile(
                "audio", mixed.path, audio_profile.extension, mixed.duration_s, loudness.integrated_lufs, loudness.true_peak_dbtp
            ),
        )
    report.progress(1.0, "done")
    return files


def _audio_profile(profile: str) -> AudioProfile:
    """How the mix is encoded: a video's audio stays PCM until the mux, which encodes AAC in parallel with the picture."""
    return mezzanine(PROFILES[VIDEO_PROFILES[profile][2]]) if profile in VIDEO_PROFILES else PROFILES[profile]


def _mix(
    spec: RenderSpec,
    audio_profile: AudioProfile,
    spoken: list[Spoken],
    *,
    work_dir: Path,
    engines: Sequence[Engine],
    cache: PhraseCache,
    report: Report,
) -> audio.AudioResult:
    """Speak and mix the script into one audio file; `spoken` collects the sentences as they are spoken."""
    intro, outro = audio.default_asset("jingle-intro.flac"), audio.default_asset("jingle-outro.flac")
    jingles_s = audio.probe_duration(intro) + audio.probe_duration(outro)

    def narration() -> Iterator[audio.NarrationLine]:
        # Sections are mixed while later sentences are still being spoken; a bulletin over its limit
        # is refused here, once the last sentence is known and before anything is encoded.
        for s in synthesise(spec, engines=engines, cache=cache, report=report):
            spoken.append(s)
            yield audio.NarrationLine(s.wav, s.duration_s, s.pause_after_ms, s.bed, s.chapter)
        check_length(spec, spoken, jingles_s)

    share = 0.4 if spec.profile in VIDEO_PROFILES else 0.45
    return audio.render_audio(
        narration(),
        audio_profile,
        work_dir / f"audio.{audio_profile.extension}",
        intro=intro,
        outro=outro,
        bed=audio.default_asset("music-bed.flac"),
        work_dir=work_dir,
        cache_dir=cache.root / "sections",
        cache_limit_mb=spec.section_cache_mb,
        title=spec.title,
        artist=spec.artist,
        album=spec.album,
        cancel=report.cancel,
        on_progress=lambda f: report.progress(0.5 + share * f, "mix"),
    )


def _video(
    spec: RenderSpec,
    spoken: Sequence[Spoken],
    mixed: audio.AudioResult,
    cues: Sequence[subtitles.Cue],
    *,
    work_dir: Path,
    report: Report,
) -> RenderedFile:
    """The video of a video profile: slides and burnt-in subtitles over the mixed audio."""
    width, height, _ = VIDEO_PROFILES[spec.profile]
    result = video.render_video(
        mixed.path,
        mixed.duration_s,
        _slides(spec, spoken, mixed),
        cues,
        work_dir / "video.mp4",
        width=width,
        height=height,
        work_dir=work_dir,
        branding=video.Branding(spec.logo_left, spec.logo_right, spec.branding_left, spec.branding_right),
        font=audio.default_asset("fonts/DejaVuSans.ttf"),
        bold_font=audio.default_asset("fonts/DejaVuSans-Bold.ttf"),
        cancel=report.cancel,
        on_progress=lambda f: report.progress(0.9 + 0.09 * f, "video"),
    )
    return RenderedFile(
        "video", result.path, "mp4", result.duration_s, mixed.loudness.integrated_lufs, mixed.loudness.true_peak_dbtp
    )


def _sidecars(
    work_dir: Path, cues: Sequence[subtitles.Cue], spoken: Sequence[Spoken], mixed: audio.AudioResult, title: str
) -> list[RenderedFile]:
    names = ("subs.vtt", "subs.srt", "transcript.txt", "chapters.json", "speech.json")
    vtt, srt, txt, chap, log = (work_dir / name for name in names)
    subtitles.write_text_atomic(vtt, subtitles.to_webvtt(cues))
    subtitles.write_text_atomic(srt, subtitles.to_srt(cues))
    subtitles.write_text_atomic(txt, transcript_text(spoken))
    subtitles.write_text_atomic(chap, chapters_json(mixed.chapters, title))
    subtitles.write_text_atomic(log, speech_log_json(spoken, mixed.timings))
    return [
        RenderedFile("vtt", vtt, "vtt"),
        RenderedFile("srt", srt, "srt"),
        RenderedFile("transcript", txt, "txt"),
        RenderedFile("chapters", chap, "chapters.json"),
        RenderedFile("speech", log, "speech.json"),
    ]


def speech_log_json(spoken: Sequence[Spoken], timings: Sequence[audio.Timed]) -> str:
    """Per-sentence speech log: which engine and voice spoke it (and which failed first), and where it sits."""
    sentences = [
        {
            "line": item.line_index,
            "speaker": item.speaker,
            "text": item.written,
            "start_s": round(timing.start_s, 3),
            "end_s": round(timing.end_s, 3),
            **item.speech_log,
        }
        for item, timing in zip(spoken, timings, strict=True)
    ]
    return json.dumps({"sentences": sentences}, ensure_ascii=False, indent=2) + "\n"


SPEAKER_NAMES = {"presenter": "Người dẫn", "expert": "Chuyên gia pháp lý", "citizen": "Người dân"}


def transcript_text(spoken: Sequence[Spoken]) -> str:
    """Plain-text transcript, one paragraph per script line, with speaker names."""
    paragraphs: list[str] = []
    current = -1
    for item in spoken:
        name = SPEAKER_NAMES.get(item.speaker, item.speaker)
        if item.line_index != current:
            paragraphs.append(f"{name}: {item.written}")
            current = item.line_index
        else:
            paragraphs[-1] += " " + item.written
    return "\n\n".join(paragraphs) + "\n"


def chapters_json(chapters: Sequence[tuple[float, str]], title: str) -> str:
    """Podcasting 2.0 JSON chapters."""
    body = {
        "version": "1.2.0",
        "title": title,
        "chapters": [{"startTime": round(start, 3), "title": name} for start, name in chapters],
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def _slides(spec: RenderSpec, spoken: Sequence[Spoken], mixed: audio.AudioResult) -> list[video.Slide]:
    sentences = [(item.line_index, timing.start_s) for item, timing in zip(spoken, mixed.timings, strict=True)]
    return slide_plan(spec.title, spec.album, spec.lines, sentences, mixed.duration_s)


# A new card at each change of provision or of who speaks: the citizen's question is on screen while it
# is asked, and the expert's answer (cited by its provision) replaces it as soon as the expert speaks.
CARD_ROLES = {"question": "question", "answer": "answer", "heading": "provision", "body": "provision", "outro": "outro"}


def slide_plan(
    title: str,
    album: str,
    lines: Sequence[ScriptLine],
    sentences: Sequence[tuple[int, float]],
    duration_s: float,
) -> list[video.Slide]:
    """Title card first, then a card for each stretch of one provision said by one speaker, shown while it is said.

    sentences: (script line index, start in seconds) of each spoken sentence, in time order.
    """
    slides = [video.Slide(title, album if album.strip() != title.strip() else "", 0.0, None)]
    current: object = None
    for line_index, start_s in sentences:
        line = lines[line_index]
        group = CARD_ROLES.get(line.role)
        if group is None:
            continue
        key = (line.provision_id if group != "outro" else None, group, line.speaker)
        if key != current:
            current = key
            text = line.text
            # The answer's card cites where the answer comes from ("Theo Điều 5 Luật ..."), not the whole answer.
            heading = text.split(":")[0] if group == "answer" else text
            slides.append(video.Slide(heading, "", start_s, None))
    # Each slide runs until the next one starts; the last runs to the end.
    return [
        video.Slide(slide.title, slide.body, slide.start_s, slides[index + 1].start_s if index + 1 < len(slides) else duration_s)
        for index, slide in enumerate(slides)
    ]
