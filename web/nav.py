"""The navigation bar and the names of states, formats and roles, each a message of the catalogues.

To add a screen: append a NavItem (its label is a Vietnamese message id; add it to both catalogues), with the
roles that may open it. Admin sees every item.
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Mark a message for the catalogues without translating it here (templates translate it with `_`)."""
    return message


@dataclass(frozen=True)
class NavItem:
    """One link of the navigation bar: where, its label, and which roles see it (empty: every staff role)."""

    href: str
    label: str
    roles: frozenset[str] = frozenset()

    def active(self, path: str) -> bool:
        """Whether the page at `path` belongs to this item."""
        return path == self.href if self.href == "/app/" else path.startswith(self.href)


NAV: list[NavItem] = [
    NavItem("/app/", N_("Việc của tôi")),
    NavItem("/app/documents", N_("Văn bản")),
    NavItem("/app/productions", N_("Sản phẩm")),
    NavItem("/app/jobs", N_("Bản dựng"), frozenset({"editor", "producer"})),
    NavItem("/app/schedule", N_("Lịch phát"), frozenset({"producer", "scheduler"})),
    NavItem("/app/emergency", N_("Khẩn cấp"), frozenset({"editor", "producer", "scheduler"})),
    NavItem("/app/stations", N_("Trạm phát"), frozenset({"producer", "scheduler"})),
    NavItem("/app/reports", N_("Báo cáo"), frozenset({"producer", "scheduler"})),
    NavItem("/app/users", N_("Người dùng"), frozenset({"admin"})),
]


def nav_for(role: str) -> list[NavItem]:
    """The items a role sees, in order."""
    return [item for item in NAV if not item.roles or role == "admin" or role in item.roles]


PRODUCTION_STATUS = {
    "draft": N_("Nháp"),
    "in_review": N_("Chờ duyệt"),
    "changes_requested": N_("Cần sửa"),
    "legally_approved": N_("Đã duyệt pháp lý"),
    "approved": N_("Đã duyệt phát sóng"),
    "published": N_("Đã phát hành"),
    "withdrawn": N_("Đã rút xuống"),
}
DOCUMENT_STATUS = {
    "in_force": N_("Còn hiệu lực"),
    "partly_in_force": N_("Còn hiệu lực một phần"),
    "repealed": N_("Đã bị bãi bỏ"),
    "draft": N_("Dự thảo"),
}
FORMATS = {
    "radio": N_("Chuyên mục phát thanh"),
    "loudspeaker": N_("Bản tin loa"),
    "video": N_("Tiểu phẩm video"),
}
JOB_STATUS = {
    "queued": N_("Đang chờ"),
    "running": N_("Đang dựng"),
    "succeeded": N_("Xong"),
    "failed": N_("Lỗi"),
    "cancelled": N_("Đã huỷ"),
}
ROLES = {
    "admin": N_("Quản trị"),
    "editor": N_("Biên tập viên"),
    "legal_reviewer": N_("Người duyệt pháp lý"),
    "producer": N_("Nhà sản xuất"),
    "scheduler": N_("Người lập lịch"),
    "station": N_("Trạm"),
}
SPEAKERS = {
    "presenter": N_("Người dẫn"),
    "expert": N_("Chuyên gia"),
    "citizen": N_("Người dân"),
}
ACTIONS = {
    "submit": N_("Gửi duyệt"),
    "request_changes": N_("Yêu cầu sửa"),
    "approve_legal": N_("Duyệt pháp lý"),
    "approve": N_("Duyệt phát sóng"),
    "publish": N_("Phát hành"),
    "withdraw": N_("Rút xuống"),
    "edit": N_("Sửa kịch bản"),
    "document_status": N_("Đổi hiệu lực văn bản"),
    "render": N_("Dựng"),
    "create": N_("Tạo sản phẩm"),
    "save": N_("Lưu phiên bản"),
}
AREA_KINDS = {
    "province": N_("tỉnh"),
    "district": N_("huyện"),
    "commune": N_("xã, phường"),
    "cluster": N_("cụm loa"),
}
PRIORITIES = {
    "normal": N_("Thường"),
    "priority": N_("Ưu tiên"),
    "emergency": N_("Khẩn cấp"),
}
AIRING_STATUS = {
    "planned": N_("Đã xếp"),
    "published": N_("Đã gửi trạm"),
    "aired": N_("Đã phát"),
    "missed": N_("Bị lỡ"),
    "withdrawn": N_("Đã rút"),
}
OUTCOMES = {
    "played": N_("Phát trọn"),
    "cut": N_("Cắt ở cuối khung"),
    "overran": N_("Phát quá giờ"),
    "skipped": N_("Bỏ qua"),
    "failed": N_("Lỗi phát"),
}
HEARTBEAT_FIELDS = {
    "cached_items": N_("Tệp đã tải về"),
    "queued_reports": N_("Báo cáo chờ gửi"),
    "schedule_items": N_("Mục trong lịch"),
    "agent_time": N_("Giờ của máy phát"),
}
EMERGENCY_STEPS = {
    "written": N_("Soạn"),
    "submitted": N_("Gửi duyệt"),
    "legal": N_("Duyệt pháp lý"),
    "approved": N_("Duyệt phát sóng"),
    "rendered": N_("Dựng bản loa"),
}
JOB_STAGES = {
    "queued": N_("chờ máy dựng"),
    "starting": N_("đang bắt đầu"),
    "speech": N_("đang đọc lời"),
    "mix": N_("đang trộn âm"),
    "video": N_("đang dựng hình"),
    "done": N_("đang lưu"),
    "retrying": N_("chờ thử lại"),
    "requeued": N_("xếp lại hàng đợi"),
}
