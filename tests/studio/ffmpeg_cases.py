"""Every ffmpeg builder run on tiny real inputs, reduced to what must not change when its graph is rewritten.

Each case returns decoded-stream hashes (`-f hash`, sha256 of the decoded samples or pixels) and the
measurements ffmpeg logs. tests/studio/data/ffmpeg_golden.json holds what the builders produced before
they moved to ffmpeg-python (string-built graphs); test_ffmpeg_graphs.py runs the cases again and compares.
Regenerate only when an output is meant to change: `.venv/bin/python -m tests.studio.ffmpeg_cases --write`.

The cases call the builders through `Api`, so the same cases ran against the old modules.
Input files are made with literal ffmpeg command lines on purpose: they must not move with the builders.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import imageio_ffmpeg

GOLDEN = Path(__file__).resolve().parent / "data" / "ffmpeg_golden.json"
FONTS = Path(__file__).resolve().parents[2] / "assets" / "defaults" / "fonts"
DEFAULTS = FONTS.parent
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
VIDEO_CASES = ("video_wav_ass", "video_copy_audio", "video_one_still")
# sidechaincompress gives slightly different samples from run to run (tails of the ducked bed; measured with
# the string-built graphs over 8 runs: at most 3.2e-4 per sample, 4e-5 dB per 100 ms block). A bed range that
# falls outside the narration is left out of these cases: the string-built graph fed it to an anullsink, which
# made the whole mix differ from run to run by up to 1e-2 (test_ffmpeg_graphs checks it now changes nothing).
UNSTABLE_MIX_CASES = ("mix_full_mono_compressed", "mix_stereo_bed_limited")


@dataclass
class Api:
    """The builders and runner under test."""

    ff: ModuleType  # studio.engine.render._ffmpeg
    fx: ModuleType  # studio.engine.render._ffmpeg_video
    decode_mp3: Callable[..., bytes]  # studio.engine.tts.gtts_engine.decode_mp3


def _ffmpeg(*args: str) -> bytes:
    return subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True
    ).stdout


def stream_hash(path: Path, kind: str = "a") -> str:
    """sha256 of the decoded first audio (as float32) or video stream of a file."""
    codec = ["-c:a", "pcm_f32le"] if kind == "a" else []
    out = _ffmpeg("-i", str(path), "-map", f"0:{kind}:0", *codec, "-f", "hash", "-hash", "sha256", "-")
    return out.decode().strip().split("=", 1)[1]


def gray_frames(path: Path) -> list[int]:
    """Each decoded video frame as a 16x9 grey thumbnail, summed (a tolerant picture of the video)."""
    raw = _ffmpeg("-i", str(path), "-map", "0:v:0", "-vf", "scale=16:9:flags=area", "-f", "rawvideo", "-pix_fmt", "gray", "-")
    return [sum(raw[i : i + 144]) for i in range(0, len(raw), 144)]


def _r128(ff: ModuleType, log: str) -> dict[str, list[float | None]]:
    return {name: [r.integrated, r.threshold, r.lra, r.peak] for name, r in sorted(ff.parse_ebur128(log).items())}


def _blocks(log: str, name: str) -> list[list[float]]:
    from studio.engine.render import loudness

    return [list(values) for values in loudness.parse_frames(log, name)]


def block_rms_db(path: Path) -> list[float]:
    """RMS (dBFS) of each 100 ms block of a file's audio, downmixed to mono at 48 kHz."""
    import numpy as np

    raw = _ffmpeg("-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "f32le", "-")
    samples = np.frombuffer(raw, dtype=np.float32).astype(np.float64)
    blocks = samples[: len(samples) // 4800 * 4800].reshape(-1, 4800)
    return [round(float(v), 5) for v in 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-12)]


# --- inputs -----------------------------------------------------------------------------------


def _speechlike(path: Path, duration: float, seed: int, rate: int = 22050, layout: str = "mono", fmt: str = "pcm_s16le") -> None:
    graph = (
        f"anoisesrc=d={duration}:r={rate}:a=0.6:seed={seed},bandpass=f=900:width_type=h:w=1400,"
        f"volume='0.15+0.85*abs(sin(2*PI*{3 + seed % 3}*t))':eval=frame,aformat=channel_layouts={layout}"
    )
    _ffmpeg("-f", "lavfi", "-i", graph, "-c:a", fmt, str(path))


def make_inputs(root: Path) -> dict[str, Path]:
    """Tiny deterministic inputs: speech-like WAVs, float mixes, stills, a logo, subtitles, an AAC and an MP3."""
    from studio.engine.render.subtitles import Cue, to_ass

    paths = {
        name: root / name
        for name in (
            "s1.wav",
            "s2.wav",
            "t24.wav",
            "mixA.wav",
            "mixB.wav",
            "still0.png",
            "still1.png",
            "logo.png",
            "text.txt",
            "subs.ass",
            "av.wav",
            "av.m4a",
            "voice.mp3",
        )
    }
    _speechlike(paths["s1.wav"], 1.1, 1)
    _speechlike(paths["s2.wav"], 0.8, 2)
    _ffmpeg("-f", "lavfi", "-i", "sine=f=330:d=0.6:r=24000", "-ac", "1", "-c:a", "pcm_s16le", str(paths["t24.wav"]))
    _speechlike(paths["mixA.wav"], 2.5, 3, 48000, "stereo", "pcm_f32le")
    _speechlike(paths["mixB.wav"], 1.5, 4, 48000, "stereo", "pcm_f32le")
    for name, color in (("still0.png", "0x0B3A6E"), ("still1.png", "0xD62828")):
        _ffmpeg(
            "-f",
            "lavfi",
            "-i",
            f"color=c={color}:s=160x90:d=1,drawbox=x=20:y=20:w=60:h=30:color=white:t=fill",
            "-frames:v",
            "1",
            str(paths[name]),
        )
    _ffmpeg("-f", "lavfi", "-i", "color=c=red:s=16x16:d=1", "-frames:v", "1", str(paths["logo.png"]))
    paths["text.txt"].write_text("Xin chào: 'Điều 1'\n[a, b; c]", encoding="utf-8")
    cues = [Cue(0.2, 0.9, "Người dân hỏi"), Cue(1.0, 1.8, "Chuyên gia trả lời")]
    paths["subs.ass"].write_text(to_ass(cues, width=160, height=90), encoding="utf-8")
    _ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=2:r=48000", "-ac", "2", "-c:a", "pcm_s16le", str(paths["av.wav"]))
    _ffmpeg("-i", str(paths["av.wav"]), "-c:a", "aac", "-b:a", "128k", str(paths["av.m4a"]))
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=300:duration=0.7:sample_rate=24000",
        "-ac",
        "1",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "32k",
        str(paths["voice.mp3"]),
    )
    return paths


# --- audio cases ------------------------------------------------------------------------------


def _sources(api: Api, inputs: dict[str, Path], root: Path) -> tuple[Any, Any]:
    from studio.engine.render import narration

    ff = api.ff
    segments = (ff.Segment(inputs["s1.wav"], 60000), ff.Segment(inputs["s2.wav"], 40000))
    joined = root / "joined.wav"
    narration.write_layout(segments, [0, 60000], 22050, joined)
    mixed = (ff.Segment(inputs["s1.wav"], 55000), ff.Segment(inputs["t24.wav"], 33000), ff.Segment(inputs["s2.wav"], 40000))
    return ff.NarrationSource(segments, joined, 2400), ff.NarrationSource(mixed)


def narration_cases(api: Api, inputs: dict[str, Path], root: Path) -> dict[str, object]:
    """narration_args and measure_args."""
    ff = api.ff
    joined, phrases = _sources(api, inputs, root)
    out: dict[str, object] = {}
    for name, source in (("narration_joined", joined), ("narration_phrases", phrases)):
        wav = root / f"{name}.wav"
        ff.run(ff.narration_args(source, wav))
        out[name] = {"audio": stream_hash(wav)}
    extras = {"intro": DEFAULTS / "jingle-intro.flac", "bed": DEFAULTS / "music-bed.flac"}
    out["measure_sources_and_extras"] = _r128(ff, ff.run(ff.measure_args([joined, phrases], extras)))
    out["measure_bandlimited"] = _r128(ff, ff.run(ff.measure_args([joined, phrases], {}, (200, 5000))))
    return out


def _mix(api: Api, name: str, source: Any, mix: Any, processing: Any, root: Path) -> dict[str, object]:
    ff = api.ff
    wav = root / f"{name}.wav"
    log = ff.run(ff.mix_args(source, mix, processing, wav))
    return {"audio": stream_hash(wav), "rms_db": block_rms_db(wav), "r128": _r128(ff, log), "blocks": _blocks(log, "ebur128@mix")}


def mix_cases(api: Api, inputs: dict[str, Path], root: Path) -> dict[str, object]:
    """mix_args: narration alone unlimited; bed, jingles, compression, band-limit and mono; a stereo bed with a limiter."""
    ff = api.ff
    joined, phrases = _sources(api, inputs, root)
    intro, outro, bed = (DEFAULTS / n for n in ("jingle-intro.flac", "jingle-outro.flac", "music-bed.flac"))
    alone = ff.Mix(narration_gain=-3.2, narration_samples=joined.samples)
    full = ff.Mix(
        narration_gain=2.5,
        narration_samples=phrases.samples,
        intro=intro,
        intro_gain=-4.0,
        intro_samples=100000,
        outro=outro,
        outro_gain=-5.5,
        outro_samples=0,
        bed=bed,
        bed_gain=-18.0,
        bed_samples=30000,
        bed_ranges=((0.3, 1.2), (1.5, 2.0)),
        duck_key_gain=0.7,
    )
    stereo = ff.Mix(
        narration_gain=1.0,
        narration_samples=joined.samples,
        outro=outro,
        outro_gain=-3.0,
        outro_samples=60000,
        bed=bed,
        bed_gain=-16.0,
        bed_samples=24 * 48000,
        bed_ranges=((0.2, 1.5),),
        duck_key_gain=1.3,
    )
    return {
        "mix_narration_alone": _mix(api, "alone", joined, alone, ff.Processing(None, False, 2, -2.5, -14.5, False), root),
        "mix_full_mono_compressed": _mix(
            api, "full", phrases, full, ff.Processing((200, 5000), True, 1, -3.0, -16.0, True), root
        ),
        "mix_stereo_bed_limited": _mix(api, "stereo", joined, stereo, ff.Processing(None, False, 2, -2.0, -14.5, True), root),
    }


def _encode(
    api: Api, name: str, wavs: list[Any], target: Any, measured: Any, ext: str, root: Path, **kw: Any
) -> dict[str, object]:
    ff = api.ff
    path = root / f"{name}.{ext}"
    log = ff.run(ff.encode_args(wavs, target, measured, path, **kw))
    found: dict[str, object] = {"audio": stream_hash(path), "r128": _r128(ff, log)}
    if "input_i" in log:
        found["loudnorm"] = ff.parse_loudnorm_json(log)
    if kw.get("section_gain_db") is not None:
        found["bytes"] = hashlib.sha256(path.read_bytes()).hexdigest()  # the splicer depends on the muxer's exact layout
    return found


def encode_cases(api: Api, inputs: dict[str, Path], root: Path) -> dict[str, object]:
    """encode_args: loudnorm with and without limiter, none, gains, a row of mixes, a spliceable section."""
    ff = api.ff
    mp3 = ff.Encode(-16.0, -2.0, 11.0, 44100, 2, "libmp3lame", "128k", "mp3", 2.4)
    wav = ff.Encode(-23.0, -1.0, 15.0, 48000, 2, "pcm_s16le", None, "wav", 2.5)
    aac = ff.Encode(-16.0, -1.5, 11.0, 48000, 2, "aac", "128k", "ipod", 2.5)
    mono = ff.Encode(-18.0, -2.0, 8.0, 24000, 1, "libmp3lame", "64k", "mp3", 4.0)
    section = ff.Encode(-23.0, -1.5, 15.0, 48000, 2, "libmp3lame", "320k", "mp3", 2.5)
    loud = ff.R128(-19.3, -29.5, 4.2, -1.1)
    quiet = ff.R128(-19.3, -29.5, 4.2, -12.0)
    a, b = inputs["mixA.wav"], inputs["mixB.wav"]
    return {
        "encode_loudnorm_limited": _encode(api, "limited", [a], mp3, loud, "mp3", root),
        "encode_loudnorm_no_limiter": _encode(api, "nolimit", [a], wav, quiet, "wav", root),
        "encode_unmeasured_aac": _encode(api, "unmeasured", [a], aac, None, "m4a", root),
        "encode_row_with_gains_mono": _encode(api, "row", [(a, -1.5), (b, 2.0)], mono, loud, "mp3", root),
        "encode_one_with_gain": _encode(api, "onegain", [(a, -2.0)], wav, quiet, "wav", root),
        "encode_section": _encode(api, "section", [a], section, None, "mp3", root, section_gain_db=-1.25),
    }


def file_cases(api: Api, inputs: dict[str, Path], root: Path) -> dict[str, object]:
    """codec probe, level pair, file measurement, decoded length, tone synthesis, gTTS decode, the bench's sine."""
    ff = api.ff
    target = ff.Encode(-16.0, -2.0, 11.0, 44100, 2, "libmp3lame", "128k", "mp3", 10.0)
    reference, coded = root / "probe.wav", root / "probe.mp3"
    ff.run(ff.codec_probe_args(target, reference, coded))
    tone = root / "tone.flac"
    ff.run(ff.tone_args("0.3*sin(2*PI*440*t)|0.25*sin(2*PI*660*t)", 0.5, tone, post="afade=t=in:d=0.1"))
    sine = root / "sine.wav"
    ff.run(ff.sine_args(sine, frequency=220, duration_s=1.5, sample_rate=48000, channels=2))
    voice = inputs["voice.mp3"].read_bytes()
    return {
        "codec_probe": {"reference": stream_hash(reference), "coded": stream_hash(coded)},
        "level_pair": _r128(ff, ff.run(ff.level_pair_args(reference, coded))),
        "measure_file_true_peak": _r128(ff, ff.run(ff.measure_file_args(inputs["mixA.wav"]))),
        "measure_file_sample_peak": _r128(ff, ff.run(ff.measure_file_args(inputs["mixB.wav"], true_peak=False))),
        "decode_length": ff.parse_out_time(ff.run(ff.decode_length_args(inputs["voice.mp3"]))),
        "tone": {"audio": stream_hash(tone)},
        "sine": {"audio": stream_hash(sine)},
        "gtts_neutral": hashlib.sha256(api.decode_mp3(voice)).hexdigest(),
        "gtts_rate_pitch": hashlib.sha256(api.decode_mp3(voice, rate=250, pitch=70)).hexdigest(),
    }


# --- video cases ------------------------------------------------------------------------------


def slide_cases(api: Api, inputs: dict[str, Path], root: Path) -> dict[str, object]:
    """slide_args with boxes, text blocks (aligned, with characters that need escaping) and a logo; and a bare one."""
    fx = api.fx
    font, bold = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
    texts = [
        fx.TextBlock(inputs["text.txt"], bold, 11, "0xFFFFFF", "6", "14"),
        fx.TextBlock(inputs["text.txt"], font, 9, "0xFFFF00", "(w-tw)/2", "h-th-8", "center"),
        fx.TextBlock(inputs["text.txt"], font, 8, "white", "w-tw-4", "40", "right"),
    ]
    full, bare = root / "slide.png", root / "bare.png"
    run = api.ff.run
    run(
        fx.slide_args(
            full,
            width=160,
            height=90,
            background="0x0B3A6E",
            boxes=[(0, 0, 160, 9, "0xFFFFFF"), (0, 9, 160, 2, "0xD62828")],
            texts=texts,
            logos=[fx.Logo(inputs["logo.png"], 8, "4", "(9-h)/2"), fx.Logo(inputs["logo.png"], 6, "W-w-4", "1")],
        )
    )
    run(fx.slide_args(bare, width=64, height=36, background="0x123456", boxes=[], texts=[]))
    return {"slide_full": {"video": stream_hash(full, "v")}, "slide_bare": {"video": stream_hash(bare, "v")}}


def video_cases(api: Api, inputs: dict[str, Path], root: Path) -> dict[str, object]:
    """video_args with a WAV and burned subtitles, with AAC copied and a skipped still, with one still; and the probe."""
    fx = api.fx
    s0, s1 = inputs["still0.png"], inputs["still1.png"]
    runs: dict[str, tuple[list[Path], list[int], Path, dict[str, Any]]] = {
        "video_wav_ass": ([s0, s1], [25, 25], inputs["av.wav"], {"ass": inputs["subs.ass"], "fonts_dir": FONTS}),
        "video_copy_audio": (
            [s0, s1, s0],
            [0, 30, 20],
            inputs["av.m4a"],
            {"ass": None, "fonts_dir": None, "copy_audio": True, "progress": False},
        ),
        "video_one_still": ([s1], [50], inputs["av.wav"], {"ass": inputs["subs.ass"], "fonts_dir": None}),
    }
    out: dict[str, object] = {}
    for name, (stills, frames, audio, kw) in runs.items():
        path = root / f"{name}.mp4"
        api.ff.run(fx.video_args(stills, frames, audio, path, duration_s=2.0, **kw))
        out[name] = {"video": stream_hash(path, "v"), "frames": gray_frames(path), "audio": stream_hash(path)}
    info = fx.parse_probe(fx.probe_stderr(root / "video_wav_ass.mp4"))
    out["probe"] = {k: info[k] for k in ("width", "height", "fps", "vcodec", "acodec", "sample_rate", "channels", "duration_s")}
    return out


CASES = (narration_cases, mix_cases, encode_cases, file_cases, slide_cases, video_cases)


def run_all(api: Api, root: Path) -> dict[str, object]:
    """Every case's results, by case name."""
    inputs_dir, out_dir = root / "in it's: [a,b]; c=d", root / "out"  # characters that filter options must escape
    inputs_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = make_inputs(inputs_dir)
    results: dict[str, object] = {}
    for group in CASES:
        results.update(group(api, inputs, out_dir))
    return results


def current_api() -> Api:
    """The builders as they are now."""
    from studio.engine.render import _ffmpeg, _ffmpeg_video
    from studio.engine.tts.gtts_engine import decode_mp3

    return Api(_ffmpeg, _ffmpeg_video, decode_mp3)


if __name__ == "__main__" and "--write" in sys.argv:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        found = run_all(current_api(), Path(tmp))
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
