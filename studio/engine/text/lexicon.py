"""Spoken forms of abbreviations, document codes, units, symbols and web-address words; word shapes."""

from __future__ import annotations

import re
import unicodedata

# Abbreviations in running text. Keys are case-sensitive and matched as whole tokens. Keep out
# keys that are also ordinary Vietnamese syllables in capitals (e.g. "CA"), or headings change.
DEFAULT_LEXICON: dict[str, str] = {
    # state bodies and titles
    "UBND": "ủy ban nhân dân", "HĐND": "hội đồng nhân dân", "MTTQ": "mặt trận tổ quốc",
    "UBMTTQ": "ủy ban mặt trận tổ quốc", "UBMTTQVN": "ủy ban mặt trận tổ quốc việt nam",
    "UBTVQH": "ủy ban thường vụ quốc hội", "ĐBQH": "đại biểu quốc hội", "TTg": "thủ tướng chính phủ",
    "TAND": "tòa án nhân dân", "VKSND": "viện kiểm sát nhân dân", "CAND": "công an nhân dân",
    "QĐND": "quân đội nhân dân", "CHXHCN": "cộng hòa xã hội chủ nghĩa", "XHCN": "xã hội chủ nghĩa",
    "TW": "trung ương", "BCH": "ban chấp hành", "BCĐ": "ban chỉ đạo", "HTX": "hợp tác xã",
    "DN": "doanh nghiệp", "DNNVV": "doanh nghiệp nhỏ và vừa", "TP": "thành phố", "TP.": "thành phố",
    "Tp.": "thành phố", "TX": "thị xã", "TX.": "thị xã", "KCN": "khu công nghiệp", "KKT": "khu kinh tế",
    "VN": "việt nam", "CSGT": "cảnh sát giao thông", "CSCĐ": "cảnh sát cơ động",
    "BTP": "bộ tư pháp", "BCA": "bộ công an", "BTC": "bộ tài chính", "BTTTT": "bộ thông tin và truyền thông",
    "STP": "sở tư pháp", "STTTT": "sở thông tin và truyền thông",
    # programmes and fields
    "PBGDPL": "phổ biến, giáo dục pháp luật", "GDPL": "giáo dục pháp luật", "CNTT": "công nghệ thông tin",
    "THPT": "trung học phổ thông", "THCS": "trung học cơ sở", "GDĐT": "giáo dục và đào tạo",
    "GD&ĐT": "giáo dục và đào tạo", "TN&MT": "tài nguyên và môi trường", "KT-XH": "kinh tế - xã hội",
    "BHXH": "bảo hiểm xã hội", "BHYT": "bảo hiểm y tế", "BHTN": "bảo hiểm thất nghiệp",
    "ATGT": "an toàn giao thông", "ATTP": "an toàn thực phẩm", "ANTT": "an ninh trật tự",
    "ĐTM": "đánh giá tác động môi trường", "PCCC": "phòng cháy, chữa cháy", "CNCH": "cứu nạn, cứu hộ",
    "GPLX": "giấy phép lái xe", "CCCD": "căn cước công dân", "CMND": "chứng minh nhân dân",
    "NTM": "nông thôn mới", "ĐBSCL": "đồng bằng sông cửu long", "CĐS": "chuyển đổi số",
    "TTHC": "thủ tục hành chính", "VBQPPL": "văn bản quy phạm pháp luật", "QPPL": "quy phạm pháp luật",
    "TNGT": "tai nạn giao thông", "PT-TH": "phát thanh, truyền hình", "PTTH": "phát thanh truyền hình",
    "TP.HCM": "thành phố hồ chí minh", "TP. HCM": "thành phố hồ chí minh", "HCM": "hồ chí minh",
    "GDP": "gờ đê pê", "GRDP": "gờ e rờ đê pê", "CPI": "xê pê i", "PCI": "pê xê i", "FDI": "ép đê i",
    # titles and misc
    "PGS.TS": "phó giáo sư, tiến sĩ", "PGS": "phó giáo sư", "GS": "giáo sư", "TS": "tiến sĩ",
    "ThS": "thạc sĩ", "ThS.": "thạc sĩ", "TS.": "tiến sĩ", "BS": "bác sĩ", "v.v.": "vân vân", "v.v": "vân vân",
    "TM.": "thay mặt", "KT.": "ký thay", "TL.": "thừa lệnh", "TUQ.": "thừa ủy quyền", "VT": "văn thư",
    "ĐT": "điện thoại", "SĐT": "số điện thoại", "VNĐ": "việt nam đồng", "VND": "việt nam đồng",
    "USD": "đô la mỹ", "độ C": "độ xê", "COVID-19": "cô vít mười chín", "Covid-19": "cô vít mười chín",
    "3G": "ba gờ", "4G": "bốn gờ", "5G": "năm gờ", "IP": "ai pi", "GPS": "gi pi ét",
    "Zalo": "da lô", "Facebook": "phây búc", "YouTube": "du túp", "Internet": "in tơ nét",
    "email": "i meo", "Email": "i meo", "e-mail": "i meo", "hotline": "đường dây nóng",
    "Hotline": "đường dây nóng", "website": "quép sai", "online": "trực tuyến",
    # loanwords common in news and legal dissemination (a capitalised form is looked up in lower case)
    "video": "vi đê ô", "clip": "clíp", "camera": "ca mê ra", "virus": "vi rút", "tivi": "ti vi",
    "radio": "ra đi ô", "wifi": "oai phai", "Wi-Fi": "oai phai", "internet": "in tơ nét", "fanpage": "phan pết",
    "livestream": "lai xtrim", "smartphone": "xmát phôn", "app": "áp", "Covid": "cô vít", "COVID": "cô vít",
    # stations of the Quảng Ninh Media Centre and national channels
    "QNR1": "quy nờ rờ một", "QNR2": "quy nờ rờ hai", "QTV1": "quy tê vê một", "QTV3": "quy tê vê ba",
    "VTV1": "vê tê vê một", "VOV": "vê ô vê", "VOV1": "vê ô vê một", "TTXVN": "thông tấn xã việt nam",
}

# Document-type codes: the part before the issuer in "15/2020/NĐ-CP".
DOC_TYPES: dict[str, str] = {
    "L": "luật", "NĐ": "nghị định", "NQ": "nghị quyết", "NQLT": "nghị quyết liên tịch", "TT": "thông tư",
    "TTLT": "thông tư liên tịch", "QĐ": "quyết định", "CT": "chỉ thị", "TTr": "tờ trình", "KH": "kế hoạch",
    "BC": "báo cáo", "CV": "công văn", "HD": "hướng dẫn", "TB": "thông báo", "PL": "pháp lệnh",
    "CĐ": "công điện", "QC": "quy chế", "QyĐ": "quy định", "CTr": "chương trình", "ĐA": "đề án",
    "KL": "kết luận", "BB": "biên bản", "GM": "giấy mời", "LCT": "lệnh", "SL": "sắc lệnh", "HĐ": "hợp đồng",
}

# Issuer codes: the part after the document type.
ISSUERS: dict[str, str] = {
    "CP": "chính phủ", "TTg": "thủ tướng chính phủ", "QH": "quốc hội", "UBTVQH": "ủy ban thường vụ quốc hội",
    "CTN": "chủ tịch nước", "VPCP": "văn phòng chính phủ", "HĐND": "hội đồng nhân dân",
    "UBND": "ủy ban nhân dân", "TW": "trung ương", "TU": "tỉnh ủy", "BTTTT": "bộ thông tin và truyền thông",
    "BTP": "bộ tư pháp", "BCA": "bộ công an", "BTC": "bộ tài chính", "BQP": "bộ quốc phòng", "BYT": "bộ y tế",
    "BGDĐT": "bộ giáo dục và đào tạo", "BNV": "bộ nội vụ", "BXD": "bộ xây dựng",
    "BGTVT": "bộ giao thông vận tải", "BKHĐT": "bộ kế hoạch và đầu tư", "BCT": "bộ công thương",
    "BNNPTNT": "bộ nông nghiệp và phát triển nông thôn", "BNNMT": "bộ nông nghiệp và môi trường",
    "BTNMT": "bộ tài nguyên và môi trường", "BLĐTBXH": "bộ lao động, thương binh và xã hội",
    "BVHTTDL": "bộ văn hóa, thể thao và du lịch", "BKHCN": "bộ khoa học và công nghệ",
    "BNG": "bộ ngoại giao", "NHNN": "ngân hàng nhà nước", "TANDTC": "tòa án nhân dân tối cao",
    "VKSNDTC": "viện kiểm sát nhân dân tối cao", "KTNN": "kiểm toán nhà nước", "UBDT": "ủy ban dân tộc",
    "STP": "sở tư pháp", "BCĐ": "ban chỉ đạo",
}

# Units after a number. Longest keys are tried first.
UNITS: dict[str, str] = {
    "km/h": "ki lô mét trên giờ", "m/s": "mét trên giây", "km²": "ki lô mét vuông", "km2": "ki lô mét vuông",
    "m²": "mét vuông", "m2": "mét vuông", "m³": "mét khối", "m3": "mét khối", "MHz": "mê ga héc",
    "kHz": "ki lô héc", "GHz": "gi ga héc", "Hz": "héc", "kWh": "ki lô oát giờ", "kW": "ki lô oát",
    "MW": "mê ga oát", "km": "ki lô mét", "cm": "xen ti mét", "mm": "mi li mét", "m": "mét",
    "ha": "héc ta", "kg": "ki lô gam", "mg": "mi li gam", "g": "gam", "ml": "mi li lít", "°C": "độ xê",
    "°": "độ", "dB": "đê xi ben", "GB": "gi ga bai", "MB": "mê ga bai", "Mbps": "mê ga bít trên giây",
    "%": "phần trăm", "đ": "đồng", "VNĐ": "đồng", "VND": "đồng", "USD": "đô la mỹ",
}

# Symbols read as words; other symbols are flagged.
SYMBOLS: dict[str, str] = {
    "&": "và", "+": "cộng", "=": "bằng", ">": "lớn hơn", "<": "nhỏ hơn", "≥": "lớn hơn hoặc bằng",
    "≤": "nhỏ hơn hoặc bằng", "±": "cộng trừ", "×": "nhân", "~": "khoảng", "%": "phần trăm", "°": "độ",
    "№": "số", "@": "a còng",
}

# Words inside web and e-mail addresses (lowercase).
URL_WORDS: dict[str, str] = {
    "vn": "vê en", "gov": "gốp", "com": "com", "net": "nét", "org": "o rờ gờ", "edu": "e đu",
    "www": "vê kép vê kép vê kép", "info": "in phô", "mail": "meo", "gmail": "gờ meo",
    "quangninh": "quảng ninh", "baoquangninh": "báo quảng ninh", "qtv": "quy tê vê",
    "stp": "ét tê pê", "sotuphap": "sở tư pháp", "tuphap": "tư pháp", "moj": "mốt",
    "chinhphu": "chính phủ", "vanban": "văn bản", "phapluat": "pháp luật",
    "thuvienphapluat": "thư viện pháp luật", "dichvucong": "dịch vụ công", "congan": "công an",
    "facebook": "phây búc", "youtube": "du túp", "zalo": "da lô", "hanoi": "hà nội",
}

_TONE_MARKS = {0x300, 0x301, 0x303, 0x309, 0x323}
_NUCLEI = ["oai", "oao", "oay", "oeo", "uây", "uôi", "uya", "uyê", "uyu", "ươi", "ươu", "iêu", "yêu", "uơi", "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iê", "iu", "oa", "oă", "oe", "oi", "ôi", "ơi", "ua", "uâ", "uê", "ui", "uô", "uơ", "uy", "ưa", "ưi", "ươ", "ưu", "yê", "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]
# Final k: place names of the Central Highlands (Đắk Lắk, Đắk Nông) are written with it.
_SYLLABLE = re.compile(
    rf"(?:ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdđghklmnprstvx])?(?:{'|'.join(_NUCLEI)})(?:ch|ng|nh|[cmnptk])?"
)


def is_syllable(word: str) -> bool:
    """Whether a word (any case, any tone) is a possible Vietnamese syllable."""
    base = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if ord(c) not in _TONE_MARKS)
    return bool(_SYLLABLE.fullmatch(unicodedata.normalize("NFC", base)))


def is_abbreviation(word: str) -> bool:
    """Two or more capitals and more capitals than small letters: UBND, TTg, ThS."""
    upper = sum(c.isupper() for c in word)
    return upper >= 2 and upper > sum(c.islower() for c in word)
