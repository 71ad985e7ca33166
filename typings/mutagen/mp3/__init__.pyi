from mutagen import FileType, StreamInfo
from mutagen.id3 import ID3

class MPEGInfo(StreamInfo):
    channels: int
    sample_rate: int
    bitrate: int

class MP3(FileType):
    info: MPEGInfo
    tags: ID3 | None
