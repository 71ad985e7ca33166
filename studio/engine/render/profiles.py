"""Audio output profiles: sample rate, channels, codec and loudness target of each product."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class AudioProfile:
    """How one product's audio is encoded and how loud it is."""

    name: str
    sample_rate: int
    channels: int
    codec: str  # ffmpeg encoder: libmp3lame, aac, pcm_s16le
    bitrate: str | None
    lufs: float
    true_peak: float
    lra: float
    extension: str
    bandlimit: tuple[int, int] | None = None
    compress: bool = False
    headroom_db: float | None = None  # true-peak headroom kept for a later lossy encode (default: from the codec)

    @property
    def container(self) -> str:
        """ffmpeg muxer name for the extension."""
        return {"mp3": "mp3", "m4a": "ipod", "wav": "wav"}[self.extension]

    @property
    def encoder_true_peak(self) -> float:
        """True-peak target before encoding, with headroom for the lossy codec's overshoot."""
        if self.headroom_db is not None:
            return self.true_peak - self.headroom_db
        if self.codec == "pcm_s16le":
            return self.true_peak
        kbps = int((self.bitrate or "128k").rstrip("k")) // max(1, self.channels)
        return self.true_peak - (0.5 if kbps >= 96 else 1.0)


PROFILES: dict[str, AudioProfile] = {
    p.name: p
    for p in (
        AudioProfile("radio", 48000, 2, "libmp3lame", "320k", -23.0, -1.0, 15.0, "mp3"),
        AudioProfile("radio_wav", 48000, 2, "pcm_s16le", None, -23.0, -1.0, 15.0, "wav"),
        AudioProfile("loudspeaker", 24000, 1, "libmp3lame", "48k", -16.0, -1.0, 7.0, "mp3", bandlimit=(300, 3400), compress=True),
        AudioProfile("podcast", 44100, 2, "libmp3lame", "128k", -16.0, -1.0, 11.0, "mp3"),
        AudioProfile("podcast_mono", 44100, 1, "libmp3lame", "64k", -19.0, -1.0, 11.0, "mp3"),
        AudioProfile("video_web", 48000, 2, "aac", "128k", -16.0, -1.0, 11.0, "m4a"),
        AudioProfile("video_tv", 48000, 2, "aac", "192k", -23.0, -1.0, 15.0, "m4a"),
    )
}


def mezzanine(profile: AudioProfile) -> AudioProfile:
    """The profile's loudness and headroom as 16-bit WAV, for a later encode (the video mux encodes AAC itself)."""
    return replace(
        profile,
        name=f"{profile.name}_wav",
        codec="pcm_s16le",
        bitrate=None,
        extension="wav",
        headroom_db=profile.true_peak - profile.encoder_true_peak,
    )
