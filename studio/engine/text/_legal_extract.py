"""Getting plain text out of uploaded legal documents, within the size limits.

Private helper of `studio.engine.text.legal` (import from there): file-type detection, .txt/.docx/.pdf/.html
extraction, the text and NUL checks, and `tidy`; `studio.engine.text._legal_clean.clean_text` strips editorial
brackets and page furniture.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections import Counter

from studio.engine.text._legal_docx import MAX_MEMBERS, DamagedDocx, TextTooLong, ZipBomb, docx_text, entry_count
from textclean import NUL_MESSAGE

# A .docx may unpack to this many times the text limit (Word's XML around the text), and never less than this.
UNPACKED_PER_TEXT_BYTE = 4
MIN_UNPACKED = 16 << 20


class DocumentError(ValueError):
    """Input that cannot be ingested; .code says why, .message says it to the editor (Vietnamese, then English).

    Codes raised here: "empty", "unsupported" (file type), "too_large" (upload), "text_too_large", "zip_bomb", "nul"
    and "undecodable"; `studio.engine.text.legal.parse_document` adds "too_many_provisions" (and "empty" after cleaning).
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- type detection ----------------------------------------------------------------------------

_EXTENSIONS = {
    "txt": "txt",
    "text": "txt",
    "md": "txt",
    "docx": "docx",
    "pdf": "pdf",
    "html": "html",
    "htm": "html",
    "xhtml": "html",
}
_CONTENT_TYPES = {
    "text/plain": "txt",
    "text/markdown": "txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "text/html": "html",
    "application/xhtml+xml": "html",
}
_VAGUE_CONTENT_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}


def _unsupported(what: str) -> DocumentError:
    return DocumentError(
        "unsupported",
        f"Định dạng tệp không được hỗ trợ: {what}; hãy dùng .txt, .docx, .pdf hoặc .html "
        f"(unsupported file type: {what}; use .txt, .docx, .pdf or .html)",
    )


def detect_kind(data: bytes, filename: str | None, content_type: str | None) -> str:
    """'txt' | 'docx' | 'pdf' | 'html': by extension, then content type, then magic bytes."""
    if filename and "." in filename.rsplit("/", 1)[-1]:
        ext = filename.rsplit(".", 1)[-1].lower().strip()
        if ext in _EXTENSIONS:
            return _EXTENSIONS[ext]
        if ext == "doc":
            raise DocumentError(
                "unsupported",
                "Tệp Word cũ (.doc) không được hỗ trợ; hãy lưu lại thành .docx hoặc .pdf "
                "(legacy .doc is not supported; save it as .docx or .pdf)",
            )
        raise _unsupported(f".{ext}")
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype in _CONTENT_TYPES:
        return _CONTENT_TYPES[ctype]
    if ctype not in _VAGUE_CONTENT_TYPES:
        raise _unsupported(ctype)
    head = data[:1024]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        members = entry_count(data)
        if members is not None and members > MAX_MEMBERS:  # before zipfile makes an object for each
            raise zip_bomb(
                f"có {members:,} tệp thành phần, tối đa {MAX_MEMBERS:,}", f"{members:,} members, limit {MAX_MEMBERS:,}"
            )
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if "word/document.xml" in zf.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
        raise _unsupported("zip")
    sniff = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sniff.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "html"
    return "txt"


# --- extraction --------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _undecodable(vietnamese: str, english: str) -> DocumentError:
    return DocumentError("undecodable", f"Không đọc được nội dung văn bản: {vietnamese} (cannot read the text: {english})")


def _decode_txt(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        if b"\x00" in data:
            raise _undecodable("tệp nhị phân, không phải văn bản", "binary data")
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _undecodable(
            f"không phải {encoding.upper()} hợp lệ; hãy lưu lại tệp dạng Unicode UTF-8 (các bảng mã cũ TCVN3, VNI, "
            "Windows-1258 không được hỗ trợ)",
            f"not valid {encoding.upper()}; save the file as UTF-8",
        ) from exc
    if len(_CONTROL.findall(text)) > max(2, len(text) // 1000):
        raise _undecodable("tệp nhị phân, không phải văn bản", "binary data")
    return text


def zip_bomb(vietnamese: str, english: str) -> DocumentError:
    """The error for a .docx that would unpack to far more than it holds."""
    return DocumentError(
        "zip_bomb",
        f"Tệp .docx bất thường, nghi là bom nén (zip bomb): {vietnamese}; tệp không được giải nén "
        f"(suspicious .docx, possibly a zip bomb: {english}; refused without unpacking it)",
    )


def _docx_text(data: bytes, max_text_bytes: int) -> str:
    try:
        return docx_text(data, max_unpacked=max(UNPACKED_PER_TEXT_BYTE * max_text_bytes, MIN_UNPACKED), max_chars=max_text_bytes)
    except ZipBomb as exc:
        raise zip_bomb(exc.vietnamese, exc.english) from exc
    except TextTooLong as exc:
        raise text_too_large(None, max_text_bytes) from exc
    except DamagedDocx as exc:
        raise _undecodable("tệp .docx hỏng", "damaged .docx") from exc


def _pdf_text(data: bytes, max_text_bytes: int) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("unsupported", "PDF có mật khẩu, không đọc được (password-protected PDF)")
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            size += len(pages[-1]) + 1
            if size > max_text_bytes:  # characters: a lower bound of the UTF-8 bytes
                raise text_too_large(None, max_text_bytes)
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise _undecodable("tệp PDF hỏng", "damaged PDF") from exc
    text = "\n".join(_strip_running_lines(pages))
    if not text.strip():
        raise DocumentError(
            "unsupported",
            "PDF không có lớp chữ (ảnh quét); hãy nhận dạng chữ (OCR) trước hoặc dán nội dung "
            "(PDF has no extractable text, e.g. a scan; run OCR first or paste the text)",
        )
    return text


def _strip_running_lines(pages: list[str], edge: int = 2) -> list[str]:
    """Drop running headers and footers: lines at a page's top or bottom that recur on other pages.

    Digits are ignored when comparing ("Công báo số 45 ... trang 3"), so page numbers do not hide them.
    A shorter document can repeat a header only twice, which `clean_text`'s text-wide rule would miss.
    """
    if len(pages) < 2:
        return pages
    split = [[line.strip() for line in page.splitlines()] for page in pages]

    def edges(lines: list[str]) -> list[int]:
        filled = [i for i, line in enumerate(lines) if line]
        return sorted(set(filled[:edge] + filled[-edge:]))

    seen: Counter[str] = Counter()
    for lines in split:
        seen.update({re.sub(r"\d+", "#", lines[i]) for i in edges(lines)})
    needed = max(2, len(pages) // 2)
    running = {key for key, count in seen.items() if count >= needed}
    out = []
    for lines in split:
        drop = {i for i in edges(lines) if re.sub(r"\d+", "#", lines[i]) in running}
        out.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return out


_BLOCK_TAGS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "br",
    "caption",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
}
_DROP_TAGS = {"script", "style", "nav", "noscript", "template", "head", "iframe", "svg", "button", "select"}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.IGNORECASE)


def _html_text(data: bytes) -> str:
    import lxml.html
    from lxml import etree

    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8"
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16").encode("utf-8")
        encoding = "utf-8"
    else:
        match = _CHARSET.search(data[:4096])
        encoding = match.group(1).decode("ascii").lower() if match else "utf-8"
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "utf-8"
    try:
        root = lxml.html.fromstring(data, parser=lxml.html.HTMLParser(encoding=encoding, remove_comments=True))
    except (etree.ParserError, ValueError) as exc:
        raise _undecodable("HTML không đọc được", "unreadable HTML") from exc

    parts: list[str] = []
    boundary, empty_block = "\x01", "\x02"  # block edges collapse to one line break; an empty <p> is a blank line

    def flat(text: str, pre: bool) -> str:
        return text if pre else re.sub(r"\s+", " ", text)

    def walk(el: lxml.html.HtmlElement, in_pre: bool) -> None:
        tag = el.tag.rsplit("}", 1)[-1].lower() if isinstance(el.tag, str) else ""
        if tag and tag not in _DROP_TAGS:
            pre = in_pre or tag == "pre"
            if tag == "br":
                parts.append("\n")
            elif tag in _BLOCK_TAGS:
                if tag in {"p", "div"} and not el.text_content().strip() and el.find(".//img") is None:
                    parts.append(empty_block)
                else:
                    parts.append(boundary)
            if el.text:
                parts.append(flat(el.text, pre))
            for child in el:
                walk(child, pre)
            if tag in _BLOCK_TAGS and tag != "br":
                parts.append(boundary)
        if el.tail:
            parts.append(flat(el.tail, in_pre))

    walk(root, False)
    text = "".join(parts)
    return re.sub(
        r"[ \t]*[\x01\x02][\x01\x02 \t]*",
        lambda m: "\n\n" if empty_block in m.group() else "\n",
        text,
    )


# Invisible characters, C0 and C1 controls (but tab and line feed, already unified) and bidi overrides.
_INVISIBLE = re.compile(
    r"[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b-\x1f\x7f-\x9f"
    r"\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"
)
_ODD_SPACE = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")


def tidy(text: str) -> str:
    """NFC, unified line ends and spaces, no controls, no trailing blanks, at most one blank line in a row.

    Each step is one pass with a pattern the engine scans fast (a literal start, `"  +"` rather than `" {2,}"`,
    or a class of rare characters): on a 5 MB text each holds the GIL, and so the server's event loop, for
    milliseconds rather than a quarter of a second.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n").replace("\x85", "\n")
    text = _INVISIBLE.sub("", text)
    text = re.sub("  +", " ", _ODD_SPACE.sub(" ", text))
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n\n\n+", "\n\n", text)
    return text.strip()


def too_large(size: int, max_bytes: int) -> DocumentError:
    """The error for input over the size limit (LAWCAST_MAX_UPLOAD_BYTES)."""
    return DocumentError(
        "too_large",
        f"Tệp quá lớn: {size:,} byte, tối đa {max_bytes:,} byte "
        f"(file too large: {size:,} bytes, limit {max_bytes:,}; see LAWCAST_MAX_UPLOAD_BYTES)",
    )


def text_too_large(size: int | None, max_bytes: int) -> DocumentError:
    """The error for text (extracted or pasted) over the text limit; `size` None when reading stopped at the limit."""
    vi, en = (f"{size:,}", f"{size:,}") if size is not None else (f"hơn {max_bytes:,}", f"over {max_bytes:,}")
    return DocumentError(
        "text_too_large",
        f"Văn bản quá dài: {vi} byte chữ, tối đa {max_bytes:,} byte "
        f"(text too large: {en} bytes of text, limit {max_bytes:,}; see LAWCAST_MAX_TEXT_BYTES)",
    )


def check_text(text: str, max_text_bytes: int) -> str:
    """`text` if it is within the text limit and holds no NUL; raises DocumentError otherwise."""
    if "\x00" in text:
        raise DocumentError("nul", NUL_MESSAGE)
    if len(text) * 4 > max_text_bytes:  # 1 to 4 UTF-8 bytes a character: only a long text needs encoding
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > max_text_bytes:
            raise text_too_large(size, max_text_bytes)
    return text


def extract_text(
    data: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    *,
    max_bytes: int = 5_000_000,
    max_text_bytes: int | None = None,
) -> str:
    """Plain NFC text of an uploaded .txt/.docx/.pdf/.html file; raises DocumentError.

    `max_bytes` bounds the file, `max_text_bytes` (default `max_bytes`) the UTF-8 text extracted from it.
    """
    text_limit = max_text_bytes or max_bytes
    if len(data) > max_bytes:
        raise too_large(len(data), max_bytes)
    if not data.strip():
        raise DocumentError("empty", "Tệp rỗng (empty file)")
    kind = detect_kind(data, filename, content_type)
    if kind in ("docx", "pdf"):
        raw = {"docx": _docx_text, "pdf": _pdf_text}[kind](data, text_limit)
    else:
        raw = {"txt": _decode_txt, "html": _html_text}[kind](data)
    text = tidy(check_text(raw, text_limit))
    if not text:
        raise DocumentError("empty", "Tệp không có nội dung chữ (the file contains no text)")
    return text
