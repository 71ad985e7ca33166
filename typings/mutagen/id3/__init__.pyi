from collections.abc import Sequence
from enum import IntFlag
from typing import Literal, overload

from mutagen import Metadata, MutagenError, _FileThing

class error(MutagenError): ...
class ID3NoHeaderError(error, ValueError): ...

class Frame:
    @property
    def FrameID(self) -> str: ...
    @property
    def HashKey(self) -> str: ...
    def pprint(self) -> str: ...

class TextFrame(Frame):
    encoding: int
    text: list[str]
    def __init__(self, encoding: int = ..., text: str | Sequence[str] = ...) -> None: ...

class TIT2(TextFrame): ...
class TPE1(TextFrame): ...
class TALB(TextFrame): ...
class TLAN(TextFrame): ...

class CTOCFlags(IntFlag):
    TOP_LEVEL = 2
    ORDERED = 1

class ID3Tags(Metadata):
    def __getitem__(self, key: str) -> Frame: ...
    def __contains__(self, key: object) -> bool: ...
    @overload
    def getall(self, key: Literal["CHAP"]) -> list[CHAP]: ...
    @overload
    def getall(self, key: Literal["CTOC"]) -> list[CTOC]: ...
    @overload
    def getall(self, key: str) -> list[Frame]: ...
    def delall(self, key: str) -> None: ...
    def add(self, frame: Frame) -> None: ...

class CHAP(Frame):
    element_id: str
    start_time: int
    end_time: int
    start_offset: int
    end_offset: int
    sub_frames: ID3Tags
    def __init__(
        self,
        element_id: str = ...,
        start_time: int = ...,
        end_time: int = ...,
        start_offset: int = ...,
        end_offset: int = ...,
        sub_frames: Sequence[Frame] | ID3Tags = ...,
    ) -> None: ...

class CTOC(Frame):
    element_id: str
    flags: CTOCFlags
    child_element_ids: list[str]
    sub_frames: ID3Tags
    def __init__(
        self,
        element_id: str = ...,
        flags: CTOCFlags | int = ...,
        child_element_ids: Sequence[str] = ...,
        sub_frames: Sequence[Frame] | ID3Tags = ...,
    ) -> None: ...

class ID3(ID3Tags):
    def __init__(
        self, filething: _FileThing | None = None, known_frames: object = None, translate: bool = True, v2_version: int = 4
    ) -> None: ...
    def save(
        self,
        filething: _FileThing | None = None,
        v1: int = 1,
        v2_version: int = 4,
        v23_sep: str = "/",
        padding: object = None,
    ) -> None: ...
