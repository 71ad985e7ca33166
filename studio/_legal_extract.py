"""Getting plain text out of uploaded legal documents, and cleaning the text.

Private helper of `studio.legal` (import from there): file-type detection, .txt/.docx/.pdf/.html
extraction, and `clean_text`, which strips editorial brackets and page furniture.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections import Counter

from studio._legal_docx import DamagedDocx, docx_text

ERROR_CODES = ("empty", "unsupported", "too_large", "undecodable", "no_structure")


class DocumentError(ValueError):
    """Input that cannot be ingested; .code is one of: empty, unsupported, too_large, undecodable, no_structure"""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- type detection ----------------------------------------------------------------------------

_EXTENSIONS = {
    "txt": "txt", "text": "txt", "md": "txt",
    "docx": "docx",
    "pdf": "pdf",
    "html": "html", "htm": "html", "xhtml": "html",
}
_CONTENT_TYPES = {
    "text/plain": "txt", "text/markdown": "txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/pdf": "pdf", "application/x-pdf": "pdf",
    "text/html": "html", "application/xhtml+xml": "html",
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
    return DocumentError(
        "undecodable", f"Không đọc được nội dung văn bản: {vietnamese} (cannot read the text: {english})"
    )


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


def _docx_text(data: bytes) -> str:
    try:
        return docx_text(data)
    except DamagedDocx as exc:
        raise _undecodable("tệp .docx hỏng", "damaged .docx") from exc


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(
                "unsupported", "PDF có mật khẩu, không đọc được (password-protected PDF)"
            )
        pages = [page.extract_text() or "" for page in reader.pages]
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
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
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

    def walk(el, in_pre: bool) -> None:  # type: ignore[no-untyped-def]
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


def _tidy(text: str) -> str:
    """NFC, unified line ends and spaces, no trailing blanks, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", text)
    text = re.sub(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+", " ", text)
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def too_large(size: int, max_bytes: int) -> DocumentError:
    """The error for input over the size limit (LAWCAST_MAX_UPLOAD_BYTES)."""
    return DocumentError(
        "too_large",
        f"Tệp quá lớn: {size:,} byte, tối đa {max_bytes:,} byte "
        f"(file too large: {size:,} bytes, limit {max_bytes:,}; see LAWCAST_MAX_UPLOAD_BYTES)",
    )


def extract_text(
    data: bytes, filename: str | None = None, content_type: str | None = None, *, max_bytes: int = 5_000_000
) -> str:
    """Plain NFC text of an uploaded .txt/.docx/.pdf/.html file; raises DocumentError."""
    if len(data) > max_bytes:
        raise too_large(len(data), max_bytes)
    if not data.strip():
        raise DocumentError("empty", "Tệp rỗng (empty file)")
    kind = detect_kind(data, filename, content_type)
    raw = {"txt": _decode_txt, "docx": _docx_text, "pdf": _pdf_text, "html": _html_text}[kind](data)
    text = _tidy(raw)
    if not text:
        raise DocumentError("empty", "Tệp không có nội dung chữ (the file contains no text)")
    return text


# --- cleaning ----------------------------------------------------------------------------------

_FOOTNOTE = re.compile(r"[ \t]*\[\s*\d{1,3}\s*\]")
_EDITORIAL_WORDS = (
    r"sửa đổi|bổ sung|bãi bỏ|thay thế|hủy bỏ|huỷ bỏ|đình chỉ|hết hiệu lực|được hướng dẫn|hợp nhất"
    r"|đính chính|bị thay|ngưng hiệu lực|được bổ sung|được sửa"
)
_EDITORIAL = re.compile(r"[ \t]*\[[^\[\]\n]{0,400}?(?:" + _EDITORIAL_WORDS + r")[^\[\]\n]{0,400}?\]", re.IGNORECASE)
# The same, wrapped over up to three lines (a PDF's line breaks): "[Điều này được bổ sung bởi Khoản 2\nLuật ...]".
_EDITORIAL_WRAPPED = re.compile(
    r"[ \t]*\[(?=[^\[\]]*\n)(?:[^\[\]\n]*\n){0,3}?[^\[\]\n]*?(?:" + _EDITORIAL_WORDS + r")[^\[\]]{0,400}?\]",
    re.IGNORECASE,
)
_FOOTNOTE_LINE = re.compile(r"^\[\s*\d{1,3}\s*\]\s+\S")
_PAGE_LINE = re.compile(
    r"^(?:(?:trang|page|tr\.)\s*\d{1,4}(?:\s*(?:/|of|trên|\|)\s*\d{1,4})?"
    r"|[-–—]?\s*\d{1,4}\s*[-–—]?"
    r"|\d{1,4}\s*/\s*\d{1,4})$",
    re.IGNORECASE,
)
_STRUCTURAL_START = re.compile(
    r"^(?:phần|chương|mục|tiểu mục|điều)\s+\S|^\d+[a-zđ]?\.\s|^[a-zđ]\)\s", re.IGNORECASE
)


def _is_furniture_candidate(line: str) -> bool:
    return (
        0 < len(line) <= 100
        and not _STRUCTURAL_START.match(line)
        and not line.endswith((".", ";", ":", ",", '"', "”"))
    )


def clean_text(text: str) -> str:
    """NFC; drop editorial brackets, footnote markers and page furniture; tidy whitespace, keep lines."""
    text = _EDITORIAL_WRAPPED.sub("", _tidy(text))
    lines: list[str] = []
    for line in text.split("\n"):
        if _FOOTNOTE_LINE.match(line):  # a footnote body ("[1] Khoản này được sửa đổi ...")
            continue
        stripped = _FOOTNOTE.sub("", _EDITORIAL.sub("", line))
        if line and not stripped.strip():
            continue  # the line was only a bracket
        stripped = re.sub(r"[ \t]+([.,;:)])", r"\1", stripped) if stripped != line else stripped
        if _PAGE_LINE.match(stripped.strip()):
            continue
        lines.append(stripped.strip())
    # Header/footer lines repeat on every page (digits differ: "Công báo số 12 ... trang 3").
    counts = Counter(re.sub(r"\d+", "#", line) for line in lines if _is_furniture_candidate(line))
    repeated = {key for key, n in counts.items() if n >= 3}
    if repeated:
        lines = [
            line for line in lines
            if not (_is_furniture_candidate(line) and re.sub(r"\d+", "#", line) in repeated)
        ]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()
