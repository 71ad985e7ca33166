from mutagen import FileType, StreamInfo
from mutagen.id3 import ID3

class WaveStreamInfo(StreamInfo):
    channels: int
    sample_rate: int
    bits_per_sample: int
    bitrate: int

class WAVE(FileType):
    info: WaveStreamInfo
    tags: ID3 | None
