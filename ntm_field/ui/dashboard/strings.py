"""The officer dashboard's strings, Vietnamese first and English (merged into ui/i18n.CATALOG)."""

from __future__ import annotations

DASHBOARD: dict[str, dict[str, str]] = {
    "dash.title": {"vi": "Bảng theo dõi 4 phủ", "en": "4 coverages dashboard"},
    # sign-in
    "dash.sign_in.title": {"vi": "Đăng nhập bảng theo dõi", "en": "Sign in to the dashboard"},
    "dash.sign_in.intro": {
        "vi": "Dán mã truy cập (token) của cán bộ, tổ trưởng hoặc quản trị viên. Mã chỉ được giữ trong phiên làm việc này.",
        "en": "Paste the access token of an officer, a team leader or an administrator. It is kept for this session only.",
    },
    "dash.sign_in.token": {"vi": "Mã truy cập", "en": "Access token"},
    "dash.sign_in.submit": {"vi": "Đăng nhập", "en": "Sign in"},
    "dash.sign_in.show": {"vi": "Hiện mã truy cập", "en": "Show the token"},
    "dash.sign_in.working": {"vi": "Đang kiểm tra…", "en": "Checking…"},
    "dash.sign_in.then_household": {
        "vi": "Đăng nhập để xem thông tin hộ gia đình.",
        "en": "Sign in to see the household.",
    },
    "dash.sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "dash.signed_out": {"vi": "{reason} Bạn đã bị đăng xuất.", "en": "{reason} You have been signed out."},
    "dash.signed_in_as": {"vi": "{role} · phạm vi {scope}", "en": "{role} · scope {scope}"},
    "dash.scope_all": {"vi": "toàn tỉnh", "en": "whole province"},
    "dash.role.officer": {"vi": "Cán bộ", "en": "Officer"},
    "dash.role.leader": {"vi": "Tổ trưởng", "en": "Team leader"},
    "dash.role.admin": {"vi": "Quản trị viên", "en": "Administrator"},
    "dash.language": {"vi": "Tiếng Anh", "en": "Tiếng Việt"},  # the other language, named as its readers name it
    # errors
    "dash.error.token_required": {"vi": "Hãy nhập mã truy cập.", "en": "Enter an access token."},
    "dash.error.invalid_token": {
        "vi": "Mã truy cập không đúng. Kiểm tra lại và thử lại.",
        "en": "The access token is wrong. Check it and try again.",
    },
    "dash.error.token_expired": {"vi": "Mã truy cập đã hết hạn.", "en": "The access token has expired."},
    "dash.error.device_revoked": {"vi": "Mã truy cập này đã bị thu hồi.", "en": "This access token was revoked."},
    "dash.error.role_not_allowed": {
        "vi": "Mã của điều tra viên không dùng được cho bảng theo dõi. Hãy dùng mã của cán bộ, tổ trưởng hoặc quản trị viên.",
        "en": "A surveyor's token cannot open the dashboard. Use an officer's, a team leader's or an administrator's.",
    },
    "dash.error.forbidden": {
        "vi": "Đơn vị này nằm ngoài phạm vi của mã truy cập.",
        "en": "This unit is outside the token's scope.",
    },
    "dash.error.unknown_unit": {"vi": "Không có đơn vị hành chính này.", "en": "There is no such administrative unit."},
    "dash.error.household_not_found": {
        "vi": "Không tìm thấy hộ này trong phạm vi của bạn.",
        "en": "This household is not found within your scope.",
    },
    "dash.error.invalid": {"vi": "Yêu cầu không hợp lệ.", "en": "The request is not valid."},
    "dash.error.sign_in_first": {"vi": "Hãy đăng nhập trước.", "en": "Sign in first."},
    "dash.error.other": {
        "vi": "Đã có lỗi ở máy chủ; hãy thử lại sau.",
        "en": "Something went wrong on the server; try again later.",
    },
    "dash.enrol_link": {
        "vi": "Đây là liên kết đăng ký thiết bị. Hãy dán hoặc quét nó trong ứng dụng 4 phủ trên điện thoại.",
        "en": "This is a device enrolment link. Paste or scan it in the 4 coverages app on the phone.",
    },
    "dash.loading": {"vi": "Đang tải số liệu…", "en": "Loading figures…"},
    "dash.back_to_start": {"vi": "Về đơn vị của tôi", "en": "Back to my unit"},
    # structure
    "dash.structure": {"vi": "Đơn vị hành chính", "en": "Administrative units"},
    "dash.structure.2024": {"vi": "2024 (có cấp huyện)", "en": "2024 (with districts)"},
    "dash.structure.2025": {"vi": "2025 (sau sáp nhập)", "en": "2025 (after the merger)"},
    # levels
    "dash.level.province": {"vi": "Tỉnh", "en": "Province"},
    "dash.level.district": {"vi": "Huyện/thị xã/thành phố", "en": "District"},
    "dash.level.commune": {"vi": "Xã/phường/thị trấn", "en": "Commune"},
    "dash.level.hamlet": {"vi": "Thôn/ấp/khu phố", "en": "Hamlet"},
    # unit screen
    "dash.breadcrumbs": {"vi": "Đường dẫn", "en": "Breadcrumbs"},
    "dash.unit.heading": {"vi": "{level}: {name} ({code})", "en": "{level}: {name} ({code})"},
    "dash.visits": {
        "vi": "Không gặp {absent} · Từ chối {refused} · Đã chuyển đi {moved} · Nhà trống {vacant}",
        "en": "Absent {absent} · Refused {refused} · Moved {moved} · Vacant {vacant}",
    },
    "dash.table.title": {"vi": "Số liệu theo đơn vị", "en": "Figures by unit"},
    "dash.table.hint": {
        "vi": "Mỗi chỉ tiêu: số đạt/số trong diện · tỷ lệ. Bấm tên đơn vị để xem chi tiết.",
        "en": "Each indicator: covered/eligible · rate. Click a unit's name to open it.",
    },
    "dash.table.hint_hamlet": {
        "vi": "Mỗi chỉ tiêu: số đạt/số trong diện · tỷ lệ.",
        "en": "Each indicator: covered/eligible · rate.",
    },
    "dash.col.unit": {"vi": "Đơn vị", "en": "Unit"},
    "dash.col.households": {"vi": "Hộ đã khảo sát/dự kiến", "en": "Households surveyed/expected"},
    "dash.col.cccd": {"vi": "CCCD gắn chip", "en": "Chip ID card (CCCD)"},
    "dash.col.vneid": {"vi": "VNeID mức 2", "en": "VNeID level 2"},
    "dash.col.smartphone": {"vi": "Điện thoại thông minh", "en": "Smartphone"},
    "dash.col.sim": {"vi": "SIM chữ ký số", "en": "SIM with signature"},
    "dash.col.fully": {"vi": "Hộ đạt đủ 4", "en": "Fully covered households"},
    "dash.row.total": {"vi": "Toàn {name}", "en": "All of {name}"},
    "dash.cell.households": {"vi": "{surveyed}/{expected}", "en": "{surveyed}/{expected}"},
    "dash.cell.indicator": {"vi": "{covered}/{eligible} · {rate}", "en": "{covered}/{eligible} · {rate}"},
    "dash.cell.unknown": {"vi": "chưa rõ {unknown}", "en": "unknown {unknown}"},
    "dash.cell.vneid_detail": {"vi": "mức 1: {level1} · chưa rõ {unknown}", "en": "level 1: {level1} · unknown {unknown}"},
    "dash.no_children": {"vi": "Chưa có đơn vị con.", "en": "No units below this one."},
    "dash.expected_unknown": {
        "vi": "— : chưa có số hộ dự kiến của một số thôn/ấp.",
        "en": "— : the expected household count of some hamlets is not known.",
    },
    # exports
    "dash.export.title": {"vi": "Xuất dữ liệu của {name}", "en": "Export {name}"},
    "dash.export.members_csv": {"vi": "Danh sách thành viên (CSV)", "en": "Members (CSV)"},
    "dash.export.coverage_csv": {"vi": "Bảng độ phủ (CSV)", "en": "Coverage (CSV)"},
    "dash.export.xlsx": {"vi": "Sổ Excel (XLSX)", "en": "Excel workbook (XLSX)"},
    "dash.export.working": {"vi": "Đang chuẩn bị tệp…", "en": "Preparing the file…"},
    "dash.export.done": {"vi": "Đã tải xuống {file}", "en": "Downloaded {file}"},
    # progress
    "dash.progress.title": {"vi": "Tiến độ theo ngày (cộng dồn)", "en": "Daily progress (cumulative)"},
    "dash.progress.none": {"vi": "Chưa có hộ nào được khảo sát.", "en": "No household has been surveyed yet."},
    "dash.progress.chart": {
        "vi": "Biểu đồ tiến độ: {days} ngày, đến {last} đã khảo sát {surveyed} hộ",
        "en": "Progress chart: {days} days, {surveyed} households surveyed by {last}",
    },
    "dash.progress.surveyed": {"vi": "Hộ đã khảo sát", "en": "Households surveyed"},
    "dash.progress.covered": {"vi": "{label} đạt", "en": "{label} covered"},
    "dash.col.date": {"vi": "Ngày", "en": "Date"},
    "dash.progress.table": {"vi": "Số liệu tiến độ (số đạt/số trong diện)", "en": "Progress figures (covered/eligible)"},
    # household
    "dash.household.title": {"vi": "Hộ gia đình {label}", "en": "Household {label}"},
    "dash.household.hamlet": {"vi": "Thôn/ấp: {hamlet}", "en": "Hamlet: {hamlet}"},
    "dash.household.house_no": {"vi": "Số nhà: {house_no} · Địa chỉ: {address}", "en": "House no.: {house_no} · Address: {address}"},
    "dash.household.head": {"vi": "Chủ hộ: {name}", "en": "Head of household: {name}"},
    "dash.household.visit": {"vi": "Kết quả đến hộ: {status} ({date})", "en": "Visit: {status} ({date})"},
    "dash.household.members": {"vi": "Thành viên", "en": "Members"},
    "dash.household.no_members": {"vi": "Hộ chưa có thành viên.", "en": "No members recorded."},
    "dash.household.member": {"vi": "{name} — sinh năm {year} · {presence}", "en": "{name} — born {year} · {presence}"},
    "dash.household.not_applicable": {"vi": "không áp dụng", "en": "not applicable"},
    "dash.household.read_only": {
        "vi": "Chỉ xem. Sửa thông tin hộ trên ứng dụng của tổ khảo sát.",
        "en": "Read only. Households are edited in the survey team's app.",
    },
}
