"""Generate the bundled default jingles and music bed from ffmpeg's synthesis sources (no third-party audio).

Run: python -m assets.generate_defaults  (writes assets/defaults/*.flac, 48 kHz stereo)
"""

from __future__ import annotations

from pathlib import Path

from studio.engine.render import _ffmpeg as ff

DEFAULTS = Path(__file__).resolve().parent / "defaults"
BED_LOOP_S = 24.0  # every partial and tremolo completes whole cycles in 24 s, so the loop is seamless


def hz(midi: int) -> float:
    """Equal-tempered frequency of a MIDI note."""
    return 440.0 * 2 ** ((midi - 69) / 12)


def bell(t0: float, midi: int, decay: float = 2.5, gain: float = 1.0) -> str:
    """A soft bell/marimba note struck at t0: fundamental plus a quiet octave, exponential decay."""
    f = hz(midi)
    env = f"gte(t,{t0})*exp(-{decay}*(t-{t0}))*(1-exp(-200*(t-{t0})))"
    return f"{gain}*{env}*(sin(2*PI*{f:.3f}*(t-{t0}))+0.25*sin(4*PI*{f:.3f}*(t-{t0})))"


def swell(t0: float, midis: list[int], rise: float, gain: float) -> str:
    """A sustained chord that swells in from t0."""
    tones = "+".join(f"sin(2*PI*{hz(m):.3f}*t)" for m in midis)
    return f"{gain}*clip((t-{t0})/{rise},0,1)*({tones})"


def jingle(notes: list[tuple[float, int]], chord_at: float, chord: list[int], duration: float, out: Path) -> None:
    """Arpeggio then a held chord, spread a little across the stereo field, faded out at the end."""
    left = "+".join(
        [bell(t, m, gain=0.16 if i % 2 else 0.11) for i, (t, m) in enumerate(notes)] + [swell(chord_at, chord, 0.4, 0.05)]
    )
    right = "+".join(
        [bell(t, m, gain=0.11 if i % 2 else 0.16) for i, (t, m) in enumerate(notes)] + [swell(chord_at, chord, 0.4, 0.05)]
    )
    fade = f"afade=t=out:st={duration - 1.2:.2f}:d=1.2"
    ff.run(ff.tone_args(f"{left}|{right}", duration, out, post=fade))


def bed(out: Path) -> None:
    """A soft pad: a few partials of an Fmaj9 voicing, each with its own slow tremolo."""
    partials = [(53, 1), (60, 2), (64, 3), (67, 2), (69, 4)]  # F3 C4 E4 G4 A4; tremolo cycles per loop
    terms = []
    for index, (midi, cycles) in enumerate(partials):
        # Snap to a whole number of cycles per loop so the end meets the start.
        f = round(hz(midi) * BED_LOOP_S) / BED_LOOP_S
        rate = cycles / BED_LOOP_S
        terms.append(f"(0.6+0.4*sin(2*PI*{rate:.5f}*t+{index}))*sin(2*PI*{f:.5f}*t)")
    pad = "0.018*(" + "+".join(terms) + ")"
    # Same pad in both channels: FLAC codes the zero side channel almost for free, keeping the file small.
    ff.run(ff.tone_args(f"{pad}|{pad}", BED_LOOP_S, out))


def main() -> None:
    """Write jingle-intro.flac, jingle-outro.flac and music-bed.flac into assets/defaults."""
    DEFAULTS.mkdir(parents=True, exist_ok=True)
    c_major = [60, 64, 67, 72]
    jingle(
        [(0.0, 72), (0.18, 76), (0.36, 79), (0.54, 84), (0.9, 79), (1.08, 84)], 0.9, c_major, 3.6, DEFAULTS / "jingle-intro.flac"
    )
    jingle([(0.0, 79), (0.2, 76), (0.4, 72), (0.7, 67)], 0.55, [48, 55, 60, 64], 2.6, DEFAULTS / "jingle-outro.flac")
    bed(DEFAULTS / "music-bed.flac")


if __name__ == "__main__":
    main()
