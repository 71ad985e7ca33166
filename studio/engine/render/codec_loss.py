"""Codec-loss probing: the level a lossy encoder takes away, learned once per encoder setting and process."""

from __future__ import annotations

from pathlib import Path

from studio.engine.render import _ffmpeg as ff

_CODEC_LOSS: dict[tuple[str, str | None, int, int], float] = {}


def codec_loss_db(target: ff.Encode, scratch: Path) -> float:
    """Level the lossy encoder itself takes away (LAME at 160 kbit/s and below: about 0.44 dB), once per process."""
    if target.codec.startswith("pcm_"):
        return 0.0
    key = (target.codec, target.bitrate, target.sample_rate, target.channels)
    if key not in _CODEC_LOSS:
        tone = scratch / f"probe.{target.container}"
        reference = scratch / "probe.wav"
        ff.run(ff.codec_probe_args(target, reference, tone))
        levels = ff.parse_ebur128(ff.run(ff.level_pair_args(reference, tone)))
        _CODEC_LOSS[key] = round(levels["ebur128@reference"].integrated - levels["ebur128@coded"].integrated, 2)
        tone.unlink(missing_ok=True)
        reference.unlink(missing_ok=True)
    return _CODEC_LOSS[key]
