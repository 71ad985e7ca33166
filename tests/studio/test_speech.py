"""studio.engine.text.speech: Vietnamese legal text to spoken form, flags for the editor, sentence splitting."""

from __future__ import annotations

import unicodedata

import pytest

from studio.engine.text import speech
from studio.engine.text._vi_citations import REASON_ABBREVIATION
from studio.engine.text.speech import DEFAULT_LEXICON, Flag, Spoken, normalize, number_to_words, split_sentences

# (written, spoken) as a Vietnamese newsreader would say it. Style choices are documented in
# studio/engine/text/speech.py: citations "<số> năm <năm>, <loại> của <cơ quan>", "tháng một", "linh", "nghìn".
CASES: list[tuple[str, str]] = [
    # --- citations
    ("Nghị định số 15/2020/NĐ-CP", "Nghị định số mười lăm năm hai nghìn không trăm hai mươi của chính phủ"),
    ("15/2020/NĐ-CP", "mười lăm năm hai nghìn không trăm hai mươi, nghị định của chính phủ"),
    ("Số: 37/2024/NQ-HĐND", "Số: ba mươi bảy năm hai nghìn không trăm hai mươi tư, nghị quyết của hội đồng nhân dân"),
    ("Nghị quyết số 37/2024/NQ-HĐND", "Nghị quyết số ba mươi bảy năm hai nghìn không trăm hai mươi tư của hội đồng nhân dân"),
    ("Luật số 24/2018/QH14", "Luật số hai mươi tư năm hai nghìn không trăm mười tám của quốc hội khóa mười bốn"),
    ("Luật số 59/2020/QH14 của Quốc hội", "Luật số năm mươi chín năm hai nghìn không trăm hai mươi của Quốc hội"),
    ("Quyết định 135/QĐ-TTg", "Quyết định một trăm ba mươi lăm của thủ tướng chính phủ"),
    (
        "Căn cứ Quyết định số 135/QĐ-TTg ngày 20/01/2020 của Thủ tướng Chính phủ;",
        "Căn cứ Quyết định số một trăm ba mươi lăm ngày hai mươi tháng một năm hai nghìn không trăm hai mươi "
        "của Thủ tướng Chính phủ;",
    ),
    ("Thông tư 39/2020/TT-BTTTT", "Thông tư ba mươi chín năm hai nghìn không trăm hai mươi của bộ thông tin và truyền thông"),
    (
        "theo Thông tư số 39/2020/TT-BTTTT.",
        "theo Thông tư số ba mươi chín năm hai nghìn không trăm hai mươi của bộ thông tin và truyền thông.",
    ),
    ("4521/TTr-UBND", "bốn nghìn năm trăm hai mươi mốt, tờ trình của ủy ban nhân dân"),
    (
        "Xét Tờ trình số 4521/TTr-UBND ngày 28/6/2024 của UBND tỉnh.",
        "Xét Tờ trình số bốn nghìn năm trăm hai mươi mốt ngày hai mươi tám tháng sáu năm hai nghìn không trăm "
        "hai mươi tư của ủy ban nhân dân tỉnh.",
    ),
    (
        "Bãi bỏ khoản 2 Điều 4 Nghị quyết số 12/2019/NQ-HĐND ngày 15/7/2019 của HĐND tỉnh.",
        "Bãi bỏ khoản hai Điều bốn Nghị quyết số mười hai năm hai nghìn không trăm mười chín ngày mười lăm "
        "tháng bảy năm hai nghìn không trăm mười chín của hội đồng nhân dân tỉnh.",
    ),
    (
        "Thông tư liên tịch số 01/2014/TTLT-BTP-BCA-BTC",
        "Thông tư liên tịch số một năm hai nghìn không trăm mười bốn của bộ tư pháp, bộ công an và bộ tài chính",
    ),
    (
        "Nghị định 100/2019/NĐ-CP và Nghị định 123/2021/NĐ-CP của Chính phủ",
        "Nghị định một trăm năm hai nghìn không trăm mười chín và Nghị định một trăm hai mươi ba năm hai nghìn "
        "không trăm hai mươi mốt của Chính phủ",
    ),
    ("Nghị quyết số 27-NQ/TW", "Nghị quyết số hai mươi bảy của trung ương"),
    ("Chỉ thị số 05/CT-UBND", "Chỉ thị số năm của ủy ban nhân dân"),
    (
        "Kế hoạch số 98/KH-UBND ngày 05/4/2024",
        "Kế hoạch số chín mươi tám của ủy ban nhân dân ngày năm tháng tư năm hai nghìn không trăm hai mươi tư",
    ),
    # --- structure: Điều, khoản, điểm, Roman numerals
    ("khoản 2 Điều 7", "khoản hai Điều bảy"),
    ("điểm đ khoản 1 Điều 5", "điểm đê khoản một Điều năm"),
    ("điểm a, b và c khoản 2", "điểm a, bê và xê khoản hai"),
    ("điểm d khoản 3", "điểm dê khoản ba"),
    ("điểm g, h, k khoản 1", "điểm giê, hát, ca khoản một"),
    ("Điều 3a", "Điều ba a"),
    ("Điều 10b. Sửa đổi", "Điều mười bê. Sửa đổi"),
    ("Chương II", "Chương hai"),
    ("Chương IV - QUY ĐỊNH CHUNG", "Chương bốn, quy định chung"),
    ("Phần I và II", "Phần một và hai"),
    ("Mục 2 Chương III", "Mục hai Chương ba"),
    ("khóa XIV", "khóa mười bốn"),
    ("KHÓA XIV - KỲ HỌP THỨ 19", "khóa mười bốn, kỳ họp thứ mười chín"),
    ("Đại hội đại biểu toàn quốc lần thứ XIII", "Đại hội đại biểu toàn quốc lần thứ mười ba"),
    ("thế kỷ XXI", "thế kỷ hai mươi mốt"),
    ("quý I/2024", "quý một năm hai nghìn không trăm hai mươi tư"),
    # --- dates
    ("08/5/2020", "ngày tám tháng năm năm hai nghìn không trăm hai mươi"),
    ("ngày 01 tháng 7 năm 2026", "ngày một tháng bảy năm hai nghìn không trăm hai mươi sáu"),
    ("ngày 20/01/2020", "ngày hai mươi tháng một năm hai nghìn không trăm hai mươi"),
    ("Ngày 20/01/2020", "Ngày hai mươi tháng một năm hai nghìn không trăm hai mươi"),
    ("có hiệu lực kể từ ngày 01/8/2024.", "có hiệu lực kể từ ngày một tháng tám năm hai nghìn không trăm hai mươi tư."),
    ("từ 15/7 đến 20/7/2024", "từ ngày mười lăm tháng bảy đến ngày hai mươi tháng bảy năm hai nghìn không trăm hai mươi tư"),
    ("trước ngày 15 của tháng đầu quý sau", "trước ngày mười lăm của tháng đầu quý sau"),
    ("tháng 4", "tháng tư"),
    ("tháng 1", "tháng một"),
    ("tháng 12/2023", "tháng mười hai năm hai nghìn không trăm hai mươi ba"),
    ("năm 2024", "năm hai nghìn không trăm hai mươi tư"),
    ("Quảng Ninh, ngày 12 tháng 7 năm 2024", "Quảng Ninh, ngày mười hai tháng bảy năm hai nghìn không trăm hai mươi tư"),
    ("giai đoạn 2021-2025", "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm"),
    # --- times
    ("19 giờ 30", "mười chín giờ ba mươi"),
    ("6h00", "sáu giờ"),
    ("6h30", "sáu giờ ba mươi"),
    ("17 giờ 00", "mười bảy giờ"),
    ("từ 6 giờ 00 đến 6 giờ 30", "từ sáu giờ đến sáu giờ ba mươi"),
    ("lúc 05:30", "lúc năm giờ ba mươi"),
    ("8 giờ 15 phút", "tám giờ mười lăm phút"),
    # --- numbers
    ("2.500.000", "hai triệu năm trăm nghìn"),
    ("1,2", "một phẩy hai"),
    ("97,8", "chín mươi bảy phẩy tám"),
    ("0,5", "không phẩy năm"),
    ("thứ 19", "thứ mười chín"),
    ("thứ 1", "thứ nhất"),
    ("thứ 4", "thứ tư"),
    ("từ 05 đến 15 phút", "từ năm đến mười lăm phút"),
    ("6-8 người", "sáu đến tám người"),
    ("ít nhất 02 lần mỗi ngày", "ít nhất hai lần mỗi ngày"),
    ("trong 07 ngày", "trong bảy ngày"),
    ("50%", "năm mươi phần trăm"),
    ("2,5%", "hai phẩy năm phần trăm"),
    ("tăng 5-10%", "tăng năm đến mười phần trăm"),
    ("2/3 tổng số đại biểu", "hai phần ba tổng số đại biểu"),
    ("Điều 113", "Điều một trăm mười ba"),
    # --- money
    ("2.500.000 đồng", "hai triệu năm trăm nghìn đồng"),
    ("350.000đ", "ba trăm năm mươi nghìn đồng"),
    ("1,2 tỷ đồng", "một phẩy hai tỷ đồng"),
    ("5 triệu đồng", "năm triệu đồng"),
    ("100.000 VNĐ", "một trăm nghìn đồng"),
    ("đơn vị tính: VNĐ", "đơn vị tính: việt nam đồng"),
    ("phạt tiền từ 2.000.000 đồng đến 4.000.000 đồng", "phạt tiền từ hai triệu đồng đến bốn triệu đồng"),
    ("50.000 đồng/người/tháng", "năm mươi nghìn đồng một người một tháng"),
    # --- units
    ("97,8 MHz", "chín mươi bảy phẩy tám mê ga héc"),
    ("60 km/h", "sáu mươi ki lô mét trên giờ"),
    ("100 m²", "một trăm mét vuông"),
    ("25m2", "hai mươi lăm mét vuông"),
    ("5 kg", "năm ki lô gam"),
    ("12 km", "mười hai ki lô mét"),
    ("2 ha", "hai héc ta"),
    ("150 cm", "một trăm năm mươi xen ti mét"),
    ("35°C", "ba mươi lăm độ xê"),
    # --- phone numbers
    ("0203.3835.555", "không hai không ba, ba tám ba năm, năm năm năm"),
    ("tổng đài 1900 1234", "tổng đài một chín không không, một hai ba bốn"),
    ("Đường dây nóng: 0912 345 678", "Đường dây nóng: không chín một hai, ba bốn năm, sáu bảy tám"),
    ("gọi 113 hoặc 115", "gọi một một ba hoặc một một năm"),
    ("gọi số 114", "gọi số một một bốn"),
    ("Hotline 0912.345.678", "đường dây nóng không chín một hai, ba bốn năm, sáu bảy tám"),
    # --- web and e-mail
    ("https://quangninh.gov.vn", "quảng ninh chấm gốp chấm vê en"),
    ("Truy cập https://quangninh.gov.vn.", "Truy cập quảng ninh chấm gốp chấm vê en."),
    ("stp@quangninh.gov.vn", "ét tê pê a còng quảng ninh chấm gốp chấm vê en"),
    ("www.quangninh.gov.vn", "vê kép vê kép vê kép chấm quảng ninh chấm gốp chấm vê en"),
    # --- abbreviations
    ("UBND tỉnh", "ủy ban nhân dân tỉnh"),
    ("HĐND tỉnh", "hội đồng nhân dân tỉnh"),
    ("công tác PBGDPL", "công tác phổ biến, giáo dục pháp luật"),
    ("ứng dụng CNTT - viễn thông", "ứng dụng công nghệ thông tin, viễn thông"),
    ("Ủy ban MTTQ", "Ủy ban mặt trận tổ quốc"),
    ("học sinh THPT", "học sinh trung học phổ thông"),
    ("đóng BHXH, BHYT", "đóng bảo hiểm xã hội, bảo hiểm y tế"),
    ("lực lượng CSGT bảo đảm ATGT", "lực lượng cảnh sát giao thông bảo đảm an toàn giao thông"),
    ("báo cáo ĐTM", "báo cáo đánh giá tác động môi trường"),
    ("trên sóng QNR1 và QTV1", "trên sóng quy nờ rờ một và quy tê vê một"),
    ("TP Hạ Long và TX Quảng Yên", "thành phố Hạ Long và thị xã Quảng Yên"),
    ("TP. Hạ Long", "thành phố Hạ Long"),
    ("GPLX hạng B2", "giấy phép lái xe hạng bê hai"),
    ("dịch COVID-19", "dịch cô vít mười chín"),
    ("về phổ biến, giáo dục pháp luật (PBGDPL) qua hệ thống", "về phổ biến, giáo dục pháp luật qua hệ thống"),
    ("Đẩy mạnh PBGDPL (phổ biến, giáo dục pháp luật)", "Đẩy mạnh phổ biến, giáo dục pháp luật"),
    ("phủ sóng 4G", "phủ sóng bốn gờ"),
    # --- headings and news sentences
    ("HỘI ĐỒNG NHÂN DÂN TỈNH QUẢNG NINH", "hội đồng nhân dân tỉnh quảng ninh"),
    ("Độc lập - Tự do - Hạnh phúc", "Độc lập, Tự do, Hạnh phúc"),
    ("Chương I\nQUY ĐỊNH CHUNG", "Chương một. quy định chung"),
    (
        "Chuyên mục pháp luật là chương trình phát thanh có thời lượng từ 05 đến 15 phút, được phát định kỳ "
        "trên sóng QNR1 tần số 97,8 MHz.",
        "Chuyên mục pháp luật là chương trình phát thanh có thời lượng từ năm đến mười lăm phút, được phát định kỳ "
        "trên sóng quy nờ rờ một tần số chín mươi bảy phẩy tám mê ga héc.",
    ),
    (
        'Chuyên mục "Tìm hiểu pháp luật" phát vào 19 giờ 30 Chủ nhật hằng tuần, thời lượng 15 phút.',
        'Chuyên mục "Tìm hiểu pháp luật" phát vào mười chín giờ ba mươi Chủ nhật hằng tuần, thời lượng mười lăm phút.',
    ),
    (
        "Mức hỗ trợ là 2.500.000 đồng; tối đa 1,2 tỷ đồng mỗi năm.",
        "Mức hỗ trợ là hai triệu năm trăm nghìn đồng; tối đa một phẩy hai tỷ đồng mỗi năm.",
    ),
    (
        "Năm 2023, toàn tỉnh tổ chức 1.250 cuộc tuyên truyền cho hơn 97.800 lượt người, tăng 12,5% so với cùng kỳ.",
        "Năm hai nghìn không trăm hai mươi ba, toàn tỉnh tổ chức một nghìn hai trăm năm mươi cuộc tuyên truyền cho "
        "hơn chín mươi bảy nghìn tám trăm lượt người, tăng mười hai phẩy năm phần trăm so với cùng kỳ.",
    ),
    (
        "Từ ngày 01/7/2024, người điều khiển xe máy vượt đèn đỏ bị phạt từ 800.000 đồng đến 1.000.000 đồng.",
        "Từ ngày một tháng bảy năm hai nghìn không trăm hai mươi tư, người điều khiển xe máy vượt đèn đỏ bị phạt "
        "từ tám trăm nghìn đồng đến một triệu đồng.",
    ),
    (
        "Người dân phản ánh qua Đường dây nóng: 0203.3835.555 hoặc thư điện tử stp@quangninh.gov.vn.",
        "Người dân phản ánh qua Đường dây nóng: không hai không ba, ba tám ba năm, năm năm năm hoặc thư điện tử "
        "ét tê pê a còng quảng ninh chấm gốp chấm vê en.",
    ),
    (
        "Nghị quyết này đã được HĐND tỉnh Quảng Ninh khóa XIV, kỳ họp thứ 19 thông qua ngày 12 tháng 7 năm 2024.",
        "Nghị quyết này đã được hội đồng nhân dân tỉnh Quảng Ninh khóa mười bốn, kỳ họp thứ mười chín thông qua "
        "ngày mười hai tháng bảy năm hai nghìn không trăm hai mươi tư.",
    ),
    ("Đối tượng và/hoặc người đại diện", "Đối tượng và hoặc người đại diện"),
    (
        "TM. ỦY BAN NHÂN DÂN\nKT. CHỦ TỊCH\nNơi nhận: Lưu: VT, STP.",
        "thay mặt ủy ban nhân dân. ký thay chủ tịch. Nơi nhận: Lưu: văn thư, sở tư pháp.",
    ),
    # --- more citations and references
    ("Luật số 15/2012/QH13", "Luật số mười lăm năm hai nghìn không trăm mười hai của quốc hội khóa mười ba"),
    (
        "Quyết định số 1234/QĐ-UBND ngày 12/3/2024 của UBND tỉnh Quảng Ninh",
        "Quyết định số một nghìn hai trăm ba mươi tư ngày mười hai tháng ba năm hai nghìn không trăm hai mươi tư "
        "của ủy ban nhân dân tỉnh Quảng Ninh",
    ),
    ("Kết luận số 21-KL/TW", "Kết luận số hai mươi mốt của trung ương"),
    (
        "Thông tư liên tịch 02/2015/TTLT-BTP-BNV",
        "Thông tư liên tịch hai năm hai nghìn không trăm mười lăm của bộ tư pháp và bộ nội vụ",
    ),
    (
        "theo điểm a khoản 1 Điều 6 Nghị định 100/2019/NĐ-CP",
        "theo điểm a khoản một Điều sáu Nghị định một trăm năm hai nghìn không trăm mười chín của chính phủ",
    ),
    ("điểm đ, e khoản 2 Điều 9", "điểm đê, e khoản hai Điều chín"),
    ("Điều 12a khoản 2b", "Điều mười hai a khoản hai bê"),
    ("Điều 104", "Điều một trăm linh bốn"),
    ("Chương XII", "Chương mười hai"),
    ("Bổ sung Chương IIa", "Bổ sung Chương hai a"),
    ("Đề án giai đoạn II", "Đề án giai đoạn hai"),
    ("phụ cấp khu vực I, II và III", "phụ cấp khu vực một, hai và ba"),
    # --- more dates: lists and ranges of dates, times of day, April, years
    ("ngày 30/4 và 1/5", "ngày ba mươi tháng tư và ngày một tháng năm"),
    ("ngày 1/5, 2/5 và 3/5", "ngày một tháng năm, ngày hai tháng năm và ngày ba tháng năm"),
    ("từ 01/7 - 15/7", "từ ngày một tháng bảy đến ngày mười lăm tháng bảy"),
    ("từ ngày 20-25/11/2024", "từ ngày hai mươi đến hai mươi lăm tháng mười một năm hai nghìn không trăm hai mươi tư"),
    ("Sáng 15/3, tại Hạ Long", "Sáng mười lăm tháng ba, tại Hạ Long"),
    ("Hà Nội, ngày 15 tháng 4 năm 2024", "Hà Nội, ngày mười lăm tháng tư năm hai nghìn không trăm hai mươi tư"),
    ("tháng 4/2024", "tháng tư năm hai nghìn không trăm hai mươi tư"),
    ("Ngày 2/9/1945", "Ngày hai tháng chín năm một nghìn chín trăm bốn mươi lăm"),
    ("năm 2004", "năm hai nghìn không trăm linh bốn"),
    # --- more times
    ("22 giờ 00 phút", "hai mươi hai giờ"),
    ("từ 7h30 đến 11h30", "từ bảy giờ ba mươi đến mười một giờ ba mươi"),
    ("Lúc 10h15 ngày 12/9", "Lúc mười giờ mười lăm ngày mười hai tháng chín"),
    ("vào lúc 20:00", "vào lúc hai mươi giờ"),
    ("làm việc từ 7h-11h", "làm việc từ bảy giờ đến mười một giờ"),
    # --- more numbers, ordinals, ranges, fractions
    ("104", "một trăm linh bốn"),
    ("1.234.567", "một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy"),
    ("0,05", "không phẩy không năm"),
    ("3/4 diện tích", "ba phần tư diện tích"),
    ("lần thứ 2", "lần thứ hai"),
    ("Thứ 2, ngày 15/7/2024", "Thứ hai, ngày mười lăm tháng bảy năm hai nghìn không trăm hai mươi tư"),
    ("từ 18 đến 60 tuổi", "từ mười tám đến sáu mươi tuổi"),
    ("đạt 105% kế hoạch", "đạt một trăm linh năm phần trăm kế hoạch"),
    # --- more money
    ("1.500.000.000 đồng", "một tỷ năm trăm triệu đồng"),
    ("3 tỷ đồng", "ba tỷ đồng"),
    ("12.000.000.000 đồng", "mười hai tỷ đồng"),
    ("1.000 tỷ đồng", "một nghìn tỷ đồng"),
    ("100 USD", "một trăm đô la mỹ"),
    # --- more units
    ("tốc độ tối đa 50 km/h", "tốc độ tối đa năm mươi ki lô mét trên giờ"),
    ("diện tích 2.500 m²", "diện tích hai nghìn năm trăm mét vuông"),
    ("nặng 3,5 kg", "nặng ba phẩy năm ki lô gam"),
    ("lượng mưa 100-200 mm", "lượng mưa một trăm đến hai trăm mi li mét"),
    # --- more phone numbers, addresses
    ("ĐT: (0203) 3835.555", "điện thoại: không hai không ba, ba tám ba năm, năm năm năm"),
    ("SĐT: 0203 3825 123", "số điện thoại: không hai không ba, ba tám hai năm, một hai ba"),
    ("liên hệ số điện thoại 0912345678", "liên hệ số điện thoại không chín một hai ba bốn năm sáu bảy tám"),
    ("Gọi đường dây nóng 1900.9090", "Gọi đường dây nóng một chín không không, chín không chín không"),
    ("Email: tuphap@quangninh.gov.vn", "i meo: tư pháp a còng quảng ninh chấm gốp chấm vê en"),
    ("Website: stp.quangninh.gov.vn", "quép sai: ét tê pê chấm quảng ninh chấm gốp chấm vê en"),
    ("Q.1, TP.HCM", "quận một, thành phố hồ chí minh"),
    ("xe mô tô biển số 14A-123.45", "xe mô tô biển số mười bốn a, một hai ba bốn năm"),
    # --- more abbreviations and loanwords
    ("Đài PT-TH tỉnh", "Đài phát thanh, truyền hình tỉnh"),
    ("GDP tăng 7,2%", "gờ đê pê tăng bảy phẩy hai phần trăm"),
    ("CCCD gắn chip", "căn cước công dân gắn chip"),
    ("Ủy ban nhân dân (UBND) tỉnh", "Ủy ban nhân dân tỉnh"),
    ("Xem video trên Fanpage của xã.", "Xem vi đê ô trên phan pết của xã."),
    # --- more news and legal sentences
    (
        "Từ ngày 01/01/2025, Nghị định 168/2024/NĐ-CP có hiệu lực, người điều khiển ô tô vượt đèn đỏ bị phạt từ 18 "
        "đến 20 triệu đồng.",
        "Từ ngày một tháng một năm hai nghìn không trăm hai mươi lăm, Nghị định một trăm sáu mươi tám năm hai nghìn "
        "không trăm hai mươi tư của chính phủ có hiệu lực, người điều khiển ô tô vượt đèn đỏ bị phạt từ mười tám đến "
        "hai mươi triệu đồng.",
    ),
    (
        "Trụ sở Sở Tư pháp đặt tại P.Hồng Hà, TP. Hạ Long; điện thoại (0203) 3835.555.",
        "Trụ sở Sở Tư pháp đặt tại phường Hồng Hà, thành phố Hạ Long; điện thoại không hai không ba, ba tám ba năm, năm năm năm.",
    ),
    (
        "Hội nghị trực tuyến tới 177 điểm cầu cấp xã lúc 8 giờ sáng 20/11.",
        "Hội nghị trực tuyến tới một trăm bảy mươi bảy điểm cầu cấp xã lúc tám giờ sáng hai mươi tháng mười một.",
    ),
    (
        "Bão số 3 đổ bộ vào Quảng Ninh với sức gió mạnh cấp 12, giật cấp 16.",
        "Bão số ba đổ bộ vào Quảng Ninh với sức gió mạnh cấp mười hai, giật cấp mười sáu.",
    ),
    (
        "Năm 2024, tỉnh đã tổ chức 2.150 buổi tuyên truyền PBGDPL cho hơn 350.000 lượt người.",
        "Năm hai nghìn không trăm hai mươi tư, tỉnh đã tổ chức hai nghìn một trăm năm mươi buổi tuyên truyền phổ "
        "biến, giáo dục pháp luật cho hơn ba trăm năm mươi nghìn lượt người.",
    ),
    (
        "Theo khoản 3 Điều 5 Luật Phổ biến, giáo dục pháp luật năm 2012, ngày 9/11 hằng năm là Ngày Pháp luật Việt Nam.",
        "Theo khoản ba Điều năm Luật Phổ biến, giáo dục pháp luật năm hai nghìn không trăm mười hai, ngày chín tháng "
        "mười một hằng năm là Ngày Pháp luật Việt Nam.",
    ),
    (
        "Người từ đủ 14 tuổi đến dưới 16 tuổi phải chịu trách nhiệm hình sự về tội phạm rất nghiêm trọng.",
        "Người từ đủ mười bốn tuổi đến dưới mười sáu tuổi phải chịu trách nhiệm hình sự về tội phạm rất nghiêm trọng.",
    ),
    (
        "Hạn chót nộp hồ sơ là 17 giờ 00 ngày 31/12/2024.",
        "Hạn chót nộp hồ sơ là mười bảy giờ ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi tư.",
    ),
    (
        "Mức phạt từ 6.000.000 đồng đến 8.000.000 đồng và trừ 04 điểm giấy phép lái xe.",
        "Mức phạt từ sáu triệu đồng đến tám triệu đồng và trừ bốn điểm giấy phép lái xe.",
    ),
    (
        "Chương trình phát lúc 6h00 và 17h30 hằng ngày trên tần số 97,8 MHz.",
        "Chương trình phát lúc sáu giờ và mười bảy giờ ba mươi hằng ngày trên tần số chín mươi bảy phẩy tám mê ga héc.",
    ),
    (
        "Mức lương cơ sở tăng từ 1,8 triệu đồng lên 2,34 triệu đồng/tháng kể từ ngày 01/7/2024.",
        "Mức lương cơ sở tăng từ một phẩy tám triệu đồng lên hai phẩy ba mươi tư triệu đồng một tháng kể từ ngày một "
        "tháng bảy năm hai nghìn không trăm hai mươi tư.",
    ),
]


@pytest.mark.parametrize(("written", "spoken"), CASES, ids=[w[:40] for w, _ in CASES])
def test_spoken_form(written: str, spoken: str) -> None:
    assert normalize(written).text == spoken


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize("written", [w for w, _ in CASES])
def test_never_ngay_ngay(written: str) -> None:
    assert "ngày ngày" not in normalize(written).text.lower()


@pytest.mark.parametrize("written", [w for w, _ in CASES])
def test_known_forms_raise_no_flags(written: str) -> None:
    assert normalize(written).flags == []


def test_single_spaces_and_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Nghị   định  số\t15/2020/NĐ-CP\n")
    result = normalize(decomposed)
    assert result.text == "Nghị định số mười lăm năm hai nghìn không trăm hai mươi của chính phủ"
    assert unicodedata.is_normalized("NFC", result.text)


# --- number_to_words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (101, "một trăm linh một"),
        (105, "một trăm linh năm"),
        (110, "một trăm mười"),
        (115, "một trăm mười lăm"),
        (1000, "một nghìn"),
        (1005, "một nghìn không trăm linh năm"),
        (1010, "một nghìn không trăm mười"),
        (2020, "hai nghìn không trăm hai mươi"),
        (2024, "hai nghìn không trăm hai mươi tư"),
        (10_000, "mười nghìn"),
        (350_000, "ba trăm năm mươi nghìn"),
        (1_000_000, "một triệu"),
        (1_000_005, "một triệu không trăm linh năm"),
        (2_500_000, "hai triệu năm trăm nghìn"),
        (1_200_000_000, "một tỷ hai trăm triệu"),
        (1_000_000_000_000, "một nghìn tỷ"),
        (-3, "âm ba"),
    ],
)
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


# --- flags ----------------------------------------------------------------------------------------


def test_unknown_abbreviation_is_flagged_with_offsets_and_kept() -> None:
    text = "Ban chỉ đạo XYZ của UBND xã họp"
    result = normalize(text)
    assert result.text == "Ban chỉ đạo XYZ của ủy ban nhân dân xã họp"
    assert result.flags == [Flag("XYZ", 12, 15, REASON_ABBREVIATION)]
    assert text[12:15] == "XYZ"


def test_mixed_code_and_symbol_are_flagged() -> None:
    text = "Mã A12B ★ cần kiểm tra"
    result = normalize(text)
    assert result.text == "Mã A12B ★ cần kiểm tra"
    assert [(f.token, f.start, f.end) for f in result.flags] == [("A12B", 3, 7), ("★", 8, 9)]
    assert all(f.reason for f in result.flags)


def test_flag_offsets_refer_to_the_input_even_when_it_was_not_nfc() -> None:
    text = unicodedata.normalize("NFD", "Hội đồng ABCD họp")
    result = normalize(text)
    (flag,) = result.flags
    assert text[flag.start : flag.end] == "ABCD"


def test_unknown_issuer_in_a_citation_is_flagged() -> None:
    text = "Quyết định số 12/2023/QĐ-XYZ"
    result = normalize(text)
    assert result.text == "Quyết định số mười hai năm hai nghìn không trăm hai mươi ba của XYZ"
    assert [(f.token, text[f.start : f.end]) for f in result.flags] == [("XYZ", "XYZ")]


def test_unknown_word_in_an_address_is_flagged() -> None:
    result = normalize("xem tại https://abcnews.vn")
    assert result.text == "xem tại abcnews chấm vê en"
    assert [f.token for f in result.flags] == ["abcnews"]


def test_foreign_words_are_flagged_and_kept() -> None:
    text = "Bão Yagi làm đổ 20 cột điện, ảnh hưởng dịch vụ iPhone và Đắk Lắk"
    result = normalize(text)
    assert result.text == "Bão Yagi làm đổ hai mươi cột điện, ảnh hưởng dịch vụ iPhone và Đắk Lắk"
    assert [(f.token, text[f.start : f.end], f.reason) for f in result.flags] == [
        ("Yagi", "Yagi", speech.REASON_FOREIGN),
        ("iPhone", "iPhone", speech.REASON_FOREIGN),
    ]
    assert normalize(text, {"Yagi": "da gi", "iPhone": "ai phôn"}).flags == []


def test_score_or_scale_is_flagged_not_guessed() -> None:
    text = "thắng với tỷ số 2:1"
    result = normalize(text)
    assert result.text == "thắng với tỷ số hai: một"
    assert [(f.token, f.start, f.reason) for f in result.flags] == [(":", 17, speech.REASON_RATIO)]


def test_known_abbreviations_are_not_flagged() -> None:
    text = "UBND, HĐND, PBGDPL, CNTT, MTTQ, THPT, BHXH, BHYT, CSGT, ATGT, ĐTM, QNR1, QTV1, TP, TX"
    assert normalize(text).flags == []


def test_capitals_of_headings_are_not_abbreviations() -> None:
    result = normalize("QUYẾT NGHỊ: TỔ CHỨC THỰC HIỆN")
    assert result.text == "quyết nghị: tổ chức thực hiện"
    assert result.flags == []


def test_lexicon_extends_and_overrides_defaults() -> None:
    words = {"XYZ": "ích i dét", "UBND": "ủy ban", "VX": "văn xã"}
    result = normalize("XYZ và UBND, Công văn số 12/UBND-VX", words)
    assert result.text == "ích i dét và ủy ban, Công văn số mười hai của ủy ban văn xã"
    assert result.flags == []
    assert DEFAULT_LEXICON["UBND"] == "ủy ban nhân dân"  # the default is not mutated


def test_lexicon_entry_for_an_address_word() -> None:
    result = normalize("baotintuc.vn", {"baotintuc": "báo tin tức"})
    assert result == Spoken("báo tin tức chấm vê en", [])


def test_emergency_number_without_phone_context_is_a_number() -> None:
    assert normalize("có 113 hộ dân").text == "có một trăm mười ba hộ dân"


# --- split_sentences ------------------------------------------------------------------------------


def test_split_at_sentence_ends_and_lines() -> None:
    text = "Điều 1. Phạm vi điều chỉnh\n1. Nghị quyết này quy định. Nghị quyết có hiệu lực từ ngày 01/8/2024.\n\n---\nCHỦ TỊCH"
    assert split_sentences(text) == [
        "Điều 1. Phạm vi điều chỉnh",
        "1. Nghị quyết này quy định.",
        "Nghị quyết có hiệu lực từ ngày 01/8/2024.",
        "CHỦ TỊCH",
    ]


def test_split_keeps_abbreviations_numbers_and_citations_whole() -> None:
    text = "Trụ sở tại TP. Hạ Long. Mức phạt 2.500.000 đồng theo Nghị định số 15/2020/NĐ-CP. Xem quangninh.gov.vn."
    assert split_sentences(text) == [
        "Trụ sở tại TP. Hạ Long.",
        "Mức phạt 2.500.000 đồng theo Nghị định số 15/2020/NĐ-CP.",
        "Xem quangninh.gov.vn.",
    ]
    assert split_sentences("TM. ỦY BAN NHÂN DÂN") == ["TM. ỦY BAN NHÂN DÂN"]


def test_long_sentence_is_split_at_commas_and_semicolons() -> None:
    text = (
        "Căn cứ Nghị định số 15/2020/NĐ-CP ngày 03/02/2020 của Chính phủ quy định xử phạt vi phạm hành chính "
        "trong lĩnh vực bưu chính, viễn thông, tần số vô tuyến điện, công nghệ thông tin và giao dịch điện tử; "
        "được sửa đổi, bổ sung bởi Nghị định số 14/2022/NĐ-CP ngày 27/01/2022 của Chính phủ, các tổ chức, "
        "cá nhân vi phạm sẽ bị phạt tiền từ 2.000.000 đồng đến 4.000.000 đồng."
    )
    pieces = split_sentences(text)
    assert len(pieces) > 1
    assert all(len(p) <= speech.MAX_SENTENCE for p in pieces)
    assert " ".join(pieces) == text
    assert any(p.endswith(";") for p in pieces)
    for kept in ("15/2020/NĐ-CP", "14/2022/NĐ-CP", "03/02/2020", "2.000.000 đồng", "4.000.000 đồng"):
        assert any(kept in p for p in pieces)


def test_long_clause_without_commas_is_split_between_words_not_inside_numbers() -> None:
    text = " ".join(["người dân được hướng dẫn thủ tục"] * 5 + ["ngày 01 tháng 7 năm 2026"] + ["tại trụ sở xã"] * 8)
    pieces = split_sentences(text)
    assert len(pieces) > 1
    assert all(len(p) <= speech.MAX_SENTENCE for p in pieces)
    assert " ".join(pieces) == text
    assert any("ngày 01 tháng 7 năm 2026" in p for p in pieces)


def test_split_then_normalize_reads_the_sample_without_flags() -> None:
    sample = "\n".join(w for w, _ in CASES[:20])
    for sentence in split_sentences(sample):
        assert normalize(sentence).flags == []


def test_odd_lexicon_keys_do_not_hang() -> None:
    result = normalize("Sở Tư pháp (STP) và A.B", {"": "rỗng", " ": "trống", "A.B": "a bê", "(STP)": "sở tư pháp"})
    assert result.text == "Sở Tư pháp và a bê"
