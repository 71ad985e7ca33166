from collections.abc import Iterator, Sequence

from mutagen import FileType, Metadata, StreamInfo, _FileThing

class MP4Tags(Metadata):
    # Values are lists whose item type depends on the atom (text, numbers, pairs, covers, free-form data).
    def __getitem__(self, key: str) -> list[object]: ...
    def __setitem__(self, key: str, value: Sequence[object]) -> None: ...
    def __delitem__(self, key: str) -> None: ...
    def __contains__(self, key: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def save(self, filething: _FileThing | None = None, padding: object = None) -> None: ...

class MP4Info(StreamInfo):
    channels: int
    sample_rate: int
    bitrate: int
    bits_per_sample: int
    codec: str

class MP4(FileType):
    info: MP4Info
    tags: MP4Tags | None
    def __getitem__(self, key: str) -> list[object]: ...
