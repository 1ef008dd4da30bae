"""Every string the field app shows, in Vietnamese (first) and English.

Views never hold text: they ask `I18n.t(key, **params)`. Labels of the domain's
codes (checks, values, reasons, help given) come from `domain.codes`, through
`I18n.code(...)`, so the app and reports say the same thing.
"""

from __future__ import annotations

import re

from ntm_field.domain import codes
from ntm_field.ui.dashboard.strings import DASHBOARD

LANGUAGES = ("vi", "en")

CATALOG: dict[str, dict[str, str]] = {
    "app.title": {"vi": "4 phủ — Tổ công nghệ số", "en": "4 coverages — digital tech team"},
    "nav.home": {"vi": "Trang chủ", "en": "Home"},
    "nav.households": {"vi": "Hộ gia đình", "en": "Households"},
    "nav.sync": {"vi": "Đồng bộ", "en": "Sync"},
    "nav.settings": {"vi": "Cài đặt", "en": "Settings"},
    "nav.back": {"vi": "Quay lại", "en": "Back"},
    # enrol
    "enrol.title": {"vi": "Đăng ký thiết bị", "en": "Enrol this device"},
    "enrol.intro": {
        "vi": "Nhập địa chỉ máy chủ và mã đăng ký do tổ trưởng cấp, hoặc dán liên kết đăng ký.",
        "en": "Enter the server address and the enrolment code from your team leader, or paste the enrolment link.",
    },
    "enrol.server": {"vi": "Địa chỉ máy chủ", "en": "Server address"},
    "enrol.code": {"vi": "Mã đăng ký hoặc liên kết", "en": "Enrolment code or link"},
    "enrol.name": {"vi": "Tên thiết bị (không bắt buộc)", "en": "Device name (optional)"},
    "enrol.submit": {"vi": "Đăng ký", "en": "Enrol"},
    "enrol.working": {"vi": "Đang đăng ký…", "en": "Enrolling…"},
    "enrol.error.invalid_code": {
        "vi": "Mã đăng ký không đúng, đã dùng hết hoặc đã hết hạn.",
        "en": "The enrolment code is wrong, used up or expired.",
    },
    "enrol.error.offline": {
        "vi": "Không kết nối được máy chủ. Kiểm tra mạng và địa chỉ máy chủ rồi thử lại.",
        "en": "The server cannot be reached. Check the network and the server address, then try again.",
    },
    "enrol.error.server": {"vi": "Máy chủ đang bận hoặc gặp lỗi. Thử lại sau.", "en": "The server is busy or failing. Try again later."},
    "enrol.error.too_many": {
        "vi": "Đã thử đăng ký quá nhiều lần. Hãy thử lại sau {minutes} phút.",
        "en": "Too many enrolment attempts. Try again in {minutes} min.",
    },
    "enrol.error.link": {
        "vi": "Cần địa chỉ máy chủ và mã đăng ký (hoặc một liên kết đăng ký đầy đủ).",
        "en": "A server address and a code are needed (or a whole enrolment link).",
    },
    "enrol.error.unsynced": {
        "vi": "Thiết bị còn {count} thay đổi chưa đồng bộ của máy chủ khác.",
        "en": "This device holds {count} unsynced changes of another server.",
    },
    "enrol.error.other": {"vi": "Không đăng ký được: {detail}", "en": "Enrolment failed: {detail}"},
    # home
    "home.title": {"vi": "Thôn/ấp của tôi", "en": "My hamlets"},
    "home.surveyed": {"vi": "Đã khảo sát {surveyed}/{expected} hộ", "en": "Surveyed {surveyed}/{expected} households"},
    "home.surveyed_unknown": {"vi": "Đã khảo sát {surveyed} hộ (chưa có chỉ tiêu)", "en": "Surveyed {surveyed} households (no target)"},
    "home.rate": {"vi": "{label}: {covered}/{eligible} ({rate})", "en": "{label}: {covered}/{eligible} ({rate})"},
    "home.rate_none": {"vi": "{label}: chưa có người trong diện", "en": "{label}: nobody eligible yet"},
    "home.followups": {"vi": "Hẹn quay lại", "en": "Follow-ups"},
    "home.followups_none": {"vi": "Không có hộ cần quay lại.", "en": "No follow-ups due."},
    "home.followup_row": {"vi": "{due} — {name} ({code})", "en": "{due} — {name} ({code})"},
    "home.add": {"vi": "Thêm hộ", "en": "Add household"},
    "home.no_hamlets": {"vi": "Chưa có thôn/ấp. Hãy đồng bộ khi có mạng.", "en": "No hamlets yet. Sync when online."},
    # home: drafts (issue 12) and overdue follow-ups
    "home.drafts": {"vi": "Đang nhập dở", "en": "Unfinished"},
    "home.draft_unnamed": {"vi": "Hộ chưa có tên", "en": "Unnamed household"},
    "home.draft_where": {"vi": "Số nhà {house_no} · {hamlet}", "en": "House no. {house_no} · {hamlet}"},
    "home.draft_when": {"vi": "Lưu nháp lúc {when}", "en": "Draft kept at {when}"},
    "home.draft_new": {"vi": "Hộ mới, chưa lưu lần nào", "en": "New household, never saved"},
    "home.draft_edit": {"vi": "Sửa hộ đã lưu, chưa lưu thay đổi", "en": "Edits of a saved household, not saved yet"},
    "home.draft_resume": {"vi": "Tiếp tục", "en": "Continue"},
    "home.draft_discard": {"vi": "Bỏ nháp", "en": "Discard draft"},
    "home.discard_title": {"vi": "Bỏ bản nháp này?", "en": "Discard this draft?"},
    "home.discard_body": {
        "vi": "Những gì đã nhập cho {name} sẽ bị xoá khỏi máy. Hộ đã lưu trước đó (nếu có) không thay đổi.",
        "en": "What was typed for {name} will be deleted from this phone. The household as last saved (if any) is unchanged.",
    },
    "home.discard_confirm": {"vi": "Bỏ nháp", "en": "Discard"},
    "home.discard_cancel": {"vi": "Giữ lại", "en": "Keep it"},
    "home.followup_overdue": {"vi": "Quá hạn · {due} — {name} ({code})", "en": "Overdue · {due} — {name} ({code})"},
    # sync chip and screen
    "sync.chip.never": {"vi": "Chưa đồng bộ · chờ gửi {pending}", "en": "Not synced yet · {pending} waiting"},
    "sync.chip.idle": {"vi": "Đã đồng bộ · chờ gửi {pending}", "en": "Synced · {pending} waiting"},
    "sync.chip.syncing": {"vi": "Đang đồng bộ…", "en": "Syncing…"},
    "sync.chip.offline": {"vi": "Ngoại tuyến · chờ gửi {pending}", "en": "Offline · {pending} waiting"},
    "sync.chip.busy": {"vi": "Máy chủ bận · chờ gửi {pending}", "en": "Server busy · {pending} waiting"},
    "sync.chip.error": {"vi": "Lỗi đồng bộ · chờ gửi {pending}", "en": "Sync error · {pending} waiting"},
    "sync.chip.auth_failed": {"vi": "Cần đăng ký lại", "en": "Enrol again"},
    "sync.chip.revoked": {"vi": "Thiết bị đã bị thu hồi", "en": "Device revoked"},
    "sync.chip.not_enrolled": {"vi": "Chưa đăng ký", "en": "Not enrolled"},
    "sync.chip.cancelled": {"vi": "Đã dừng · chờ gửi {pending}", "en": "Stopped · {pending} waiting"},
    "sync.last_success": {"vi": "Lần đồng bộ thành công gần nhất: {when}", "en": "Last successful sync: {when}"},
    "sync.never": {"vi": "Chưa đồng bộ lần nào", "en": "Never synced"},
    "sync.title": {"vi": "Đồng bộ dữ liệu", "en": "Sync"},
    "sync.now": {"vi": "Đồng bộ ngay", "en": "Sync now"},
    "sync.cancel": {"vi": "Dừng", "en": "Stop"},
    "sync.progress.push": {"vi": "Đang gửi {sent}/{total} thay đổi", "en": "Sending {sent}/{total} changes"},
    "sync.progress.pull": {"vi": "Đang nhận dữ liệu (trang {pages})", "en": "Receiving (page {pages})"},
    "sync.progress.wait": {
        "vi": "Máy chủ đang bận; sẽ gửi lại sau {seconds} giây",
        "en": "The server is busy; sending again in {seconds} s",
    },
    "sync.result": {
        "vi": "Đã gửi {pushed}, đã nhận {pulled}, bị từ chối {rejected}, xung đột {conflicts}, còn chờ {pending}",
        "en": "Sent {pushed}, received {pulled}, refused {rejected}, conflicts {conflicts}, waiting {pending}",
    },
    "sync.problem.offline": {"vi": "Không kết nối được máy chủ; sẽ thử lại.", "en": "The server cannot be reached; will retry."},
    "sync.problem.busy": {
        "vi": "Máy chủ đang bận hoặc gặp lỗi; dữ liệu vẫn an toàn trên máy và sẽ được gửi lại ở lần đồng bộ sau.",
        "en": "The server is busy or failing; the data is safe on this phone and will be sent at the next sync.",
    },
    "sync.problem.error": {"vi": "Máy chủ từ chối yêu cầu: {detail}", "en": "The server refused the request: {detail}"},
    "sync.problem.auth_failed": {"vi": "Mã truy cập không còn hiệu lực. Hãy đăng ký lại.", "en": "The access token no longer works. Enrol again."},
    "sync.problem.revoked": {"vi": "Thiết bị đã bị thu hồi; dữ liệu trên máy đã được xoá.", "en": "This device was revoked; its data was wiped."},
    "sync.problem.cancelled": {"vi": "Đã dừng đồng bộ.", "en": "Sync stopped."},
    "sync.needs_fix": {"vi": "Cần sửa", "en": "Needs fix"},
    "sync.needs_fix_none": {"vi": "Không có hộ nào cần sửa.", "en": "Nothing needs fixing."},
    "sync.needs_fix_row": {"vi": "{name} — {field}: {message}", "en": "{name} — {field}: {message}"},
    "sync.field.member": {"vi": "Thành viên {n} · {field}", "en": "Member {n} · {field}"},
    "field.surveyed_on": {"vi": "Ngày khảo sát", "en": "Visit date"},
    "field.hamlet_code": {"vi": "Thôn/ấp", "en": "Hamlet"},
    "field.head_name": {"vi": "Họ tên chủ hộ", "en": "Head of household"},
    "field.house_no": {"vi": "Số nhà", "en": "House number"},
    "field.visit_status": {"vi": "Kết quả đến hộ", "en": "Visit result"},
    "field.consent": {"vi": "Đồng ý của hộ", "en": "Consent"},
    "field.follow_up": {"vi": "Hẹn quay lại", "en": "Follow-up"},
    "field.members": {"vi": "Danh sách thành viên", "en": "Members"},
    "field.full_name": {"vi": "Họ tên", "en": "Name"},
    "field.birth_year": {"vi": "Năm sinh", "en": "Birth year"},
    "field.presence": {"vi": "Cư trú", "en": "Presence"},
    "field.reasons": {"vi": "Lý do", "en": "Reasons"},
    "field.assisted": {"vi": "Hỗ trợ tại chỗ", "en": "Help given"},
    "sync.open": {"vi": "Mở để sửa", "en": "Open to fix"},
    # household list
    "list.title": {"vi": "Hộ gia đình", "en": "Households"},
    "list.search": {"vi": "Tìm theo tên, số nhà, mã hộ", "en": "Search name, house number, code"},
    "list.filter.all": {"vi": "Tất cả", "en": "All"},
    "list.filter.not_visited": {"vi": "Chưa khảo sát được", "en": "Not surveyed"},
    "list.filter.follow_up": {"vi": "Cần quay lại", "en": "Follow-up"},
    "list.filter.not_covered": {"vi": "Chưa đủ 4", "en": "Not fully covered"},
    "list.empty": {"vi": "Không có hộ nào.", "en": "No households."},
    "list.row": {"vi": "Số {house_no} · {members} người · {code}", "en": "No. {house_no} · {members} people · {code}"},
    "list.check": {"vi": "{short} {covered}/{eligible}", "en": "{short} {covered}/{eligible}"},
    "list.full": {"vi": "Đủ 4", "en": "All 4"},
    # household list: each household's state (issue 12)
    "list.state.all": {"vi": "Mọi trạng thái", "en": "Any state"},
    "list.state.draft": {"vi": "Nháp", "en": "Draft"},
    "list.state.pending": {"vi": "Chưa gửi", "en": "Not sent"},
    "list.state.synced": {"vi": "Đã gửi", "en": "Sent"},
    "list.state.rejected": {"vi": "Cần sửa", "en": "Needs fix"},
    "list.state.conflict": {"vi": "Xung đột", "en": "In conflict"},
    "list.clear": {"vi": "Xoá tìm kiếm", "en": "Clear search"},
    # form
    "form.new": {"vi": "Hộ mới", "en": "New household"},
    "form.edit": {"vi": "Sửa hộ", "en": "Edit household"},
    "form.hamlet": {"vi": "Thôn/ấp", "en": "Hamlet"},
    "form.where": {"vi": "Thôn/ấp: {hamlet} · Mã hộ: {code}", "en": "Hamlet: {hamlet} · Household code: {code}"},
    "form.head_name": {"vi": "Họ tên chủ hộ", "en": "Head of household"},
    "form.house_no": {"vi": "Số nhà", "en": "House number"},
    "form.address": {"vi": "Địa chỉ (tổ, đường)", "en": "Address (group, street)"},
    "form.visit_status": {"vi": "Kết quả đến hộ", "en": "Visit result"},
    "form.surveyed_on": {"vi": "Ngày khảo sát (ngày/tháng/năm)", "en": "Visit date (dd/mm/yyyy)"},
    "form.consent": {"vi": "Hộ đồng ý cung cấp thông tin", "en": "The household consents"},
    "form.consent_notice": {
        "vi": "Đã đọc thông báo về dữ liệu cá nhân (phiên bản {version}).",
        "en": "The personal-data notice was read (version {version}).",
    },
    "form.follow_up": {"vi": "Hẹn quay lại (ngày/tháng/năm)", "en": "Follow-up date (dd/mm/yyyy)"},
    "form.follow_up_note": {"vi": "Ghi chú hẹn", "en": "Follow-up note"},
    "form.note": {"vi": "Ghi chú", "en": "Note"},
    "form.members": {"vi": "Thành viên", "en": "Members"},
    "form.add_member": {"vi": "Thêm thành viên", "en": "Add member"},
    "form.remove_member": {"vi": "Xoá thành viên {n}", "en": "Remove member {n}"},
    "form.member": {"vi": "Thành viên {n}", "en": "Member {n}"},
    "form.member_head": {"vi": "Thành viên 1 (chủ hộ)", "en": "Member 1 (head)"},
    "form.full_name": {"vi": "Họ tên thành viên {n}", "en": "Name of member {n}"},
    "form.birth_year": {"vi": "Năm sinh thành viên {n}", "en": "Birth year of member {n}"},
    "form.presence": {"vi": "Cư trú", "en": "Presence"},
    "form.all_covered": {"vi": "Đủ 4 — thành viên {n}", "en": "All 4 — member {n}"},
    "form.not_applicable": {"vi": "{label}: không áp dụng theo tuổi", "en": "{label}: not applicable at this age"},
    "form.reason": {"vi": "Lý do chưa đạt: {label}", "en": "Reason not met: {label}"},
    "form.assisted": {"vi": "Đã hỗ trợ tại chỗ", "en": "Help given on the spot"},
    "form.save": {"vi": "Lưu", "en": "Save"},
    "form.saved": {"vi": "Đã lưu", "en": "Saved"},
    "form.errors": {"vi": "Kiểm tra lại {count} chỗ chưa đúng.", "en": "Problems to check: {count}."},
    "form.birth_year_invalid": {"vi": "năm sinh phải là số, ví dụ 1968", "en": "the birth year must be a number, e.g. 1968"},
    "form.date_invalid": {"vi": "ngày phải có dạng ngày/tháng/năm, ví dụ 12/04/2024",
                          "en": "the date must look like dd/mm/yyyy, e.g. 12/04/2024"},
    "form.birth_year_partial": {"vi": "nhập đủ 4 chữ số của năm sinh", "en": "type all 4 digits of the birth year"},
    "form.birth_year_empty": {"vi": "nhập năm sinh, ví dụ 1968", "en": "type the birth year, e.g. 1968"},
    # form (issue 12): dates, consent, undo, errors bar, duplicates, leaving
    "form.pick_date": {"vi": "Chọn ngày khảo sát", "en": "Pick the visit date"},
    "form.pick_follow_up": {"vi": "Chọn ngày hẹn quay lại", "en": "Pick the follow-up date"},
    "form.consent_off": {
        "vi": "Hộ chưa đồng ý: không ghi họ tên, địa chỉ, ghi chú. Vẫn ghi năm sinh, cư trú và 4 phủ của từng người.",
        "en": "No consent: no names, address or notes. Birth year, presence and the 4 checks are still recorded.",
    },
    "form.consent_withdraw.title": {"vi": "Bỏ đồng ý của hộ?", "en": "Withdraw the household's consent?"},
    "form.consent_withdraw.body": {
        "vi": "Họ tên, địa chỉ và ghi chú đã nhập sẽ bị xoá khỏi phiếu này.",
        "en": "The names, address and notes typed will be cleared from this form.",
    },
    "form.consent_withdraw.confirm": {"vi": "Bỏ đồng ý và xoá", "en": "Withdraw and clear"},
    "form.cancel": {"vi": "Huỷ", "en": "Cancel"},
    "form.removed": {"vi": "Đã xoá {who}", "en": "Removed {who}"},
    "form.undo": {"vi": "Hoàn tác", "en": "Undo"},
    "form.errors_bar": {
        "vi": "Còn {count} chỗ chưa đúng. {field}: {message}",
        "en": "{count} to fix. {field}: {message}",
    },
    "form.duplicate.title": {"vi": "Số nhà {house_no} đã có trong thôn", "en": "House number {house_no} is already here"},
    "form.duplicate.body": {
        "vi": "Hộ {name} ({code}) có cùng số nhà. Đây là một hộ khác?",
        "en": "Household {name} ({code}) has the same number. Is this another household?",
    },
    "form.duplicate.unnamed": {"vi": "chưa có tên", "en": "unnamed"},
    "form.duplicate.save": {"vi": "Vẫn lưu hộ này", "en": "Save this one anyway"},
    "form.duplicate.open": {"vi": "Mở hộ kia", "en": "Open the other"},
    "form.leave.title": {"vi": "Hộ này chưa lưu", "en": "This household is not saved"},
    "form.leave.body": {
        "vi": "Giữ bản nháp để nhập tiếp sau (ở Trang chủ), hay bỏ những gì vừa nhập?",
        "en": "Keep a draft to finish later (on Home), or discard what was typed?",
    },
    "form.leave.keep": {"vi": "Giữ bản nháp", "en": "Keep draft"},
    "form.leave.discard": {"vi": "Bỏ thay đổi", "en": "Discard"},
    "form.leave.stay": {"vi": "Ở lại", "en": "Stay"},
    "form.draft_open": {"vi": "Bản nháp chưa lưu: bấm Lưu khi nhập xong.", "en": "Unsaved draft: press Save when done."},
    "form.reason_unknown": {"vi": "Vì sao chưa rõ: {label}", "en": "Why unknown: {label}"},
    "form.reason_none": {"vi": "(không ghi lý do)", "en": "(no reason)"},
    "form.check_error": {"vi": "{label}: {message}", "en": "{label}: {message}"},
    "form.not_found": {"vi": "Không tìm thấy hộ này trên thiết bị.", "en": "This household is not on this device."},
    "form.server_says": {"vi": "Máy chủ báo: {field} — {message}", "en": "The server says: {field} — {message}"},
    "form.saving_failed": {"vi": "Chưa lưu được: {detail}", "en": "Not saved: {detail}"},
    # settings
    "settings.title": {"vi": "Cài đặt", "en": "Settings"},
    "settings.language": {"vi": "Ngôn ngữ", "en": "Language"},
    "settings.vi": {"vi": "Tiếng Việt", "en": "Tiếng Việt"},
    "settings.en": {"vi": "English", "en": "English"},
    "settings.server": {"vi": "Máy chủ: {server}", "en": "Server: {server}"},
    "settings.scope": {"vi": "Phạm vi: {scope}", "en": "Scope: {scope}"},
    "settings.device_name": {"vi": "Thiết bị: {name}", "en": "Device: {name}"},
    "settings.device_unnamed": {"vi": "(chưa đặt tên)", "en": "(no name)"},
    "settings.role": {"vi": "Vai trò: {role}", "en": "Role: {role}"},
    "settings.device_id": {"vi": "Mã thiết bị: {device_id}", "en": "Device ID: {device_id}"},
    "role.surveyor": {"vi": "Khảo sát viên", "en": "Surveyor"},
    "role.leader": {"vi": "Tổ trưởng", "en": "Team leader"},
    "role.officer": {"vi": "Cán bộ theo dõi", "en": "Monitoring officer"},
    "role.admin": {"vi": "Quản trị viên", "en": "Administrator"},
    "settings.privacy_title": {"vi": "Thông báo về dữ liệu cá nhân", "en": "Personal-data notice"},
    "settings.privacy": {
        "vi": (
            "Tổ công nghệ số cộng đồng chỉ ghi họ tên, năm sinh và tình trạng 4 phủ của các thành viên hộ "
            "để hỗ trợ và hẹn quay lại (Nghị định 13/2023/NĐ-CP; Luật Bảo vệ dữ liệu cá nhân 2025). "
            "Không ghi số CCCD, tài khoản VNeID, số điện thoại, số SIM, ảnh giấy tờ, dân tộc hay vị trí. "
            "Hộ có quyền từ chối. Dữ liệu chỉ dùng cho chiến dịch và được gửi về máy chủ của tỉnh."
        ),
        "en": (
            "The community digital technology team records only the names, birth years and the four checks "
            "of household members, to help and to revisit (Decree 13/2023/ND-CP; Personal Data Protection Law 2025). "
            "No ID-card numbers, VNeID accounts, phone or SIM numbers, document photos, ethnicity or locations are "
            "recorded. A household may refuse. The data serves the campaign only and goes to the province's server."
        ),
    },
    "settings.sign_out": {"vi": "Đăng xuất khỏi thiết bị", "en": "Sign out of this device"},
    "settings.sign_out_warning": {
        "vi": "Còn {pending} thay đổi chưa đồng bộ sẽ bị mất. Vẫn đăng xuất?",
        "en": "{pending} unsynced changes will be lost. Sign out anyway?",
    },
    "settings.sign_out_confirm": {"vi": "Đăng xuất", "en": "Sign out"},
    "settings.sign_out_cancel": {"vi": "Huỷ", "en": "Cancel"},
    "common.percent": {"vi": "{value}%", "en": "{value}%"},
    "common.error": {"vi": "Đã có lỗi; dữ liệu đã lưu vẫn an toàn.", "en": "Something went wrong; saved data is safe."},
    # team (leader)
    "nav.team": {"vi": "Tổ", "en": "Team"},
    "team.title": {"vi": "Độ phủ của tổ", "en": "Team coverage"},
    "team.offline_note": {
        "vi": "Tính trên dữ liệu đang có trong máy (kể cả khi không có mạng).",
        "en": "Computed from the data on this phone (works offline).",
    },
    "team.hamlet": {"vi": "{name} ({code})", "en": "{name} ({code})"},
    "team.visits": {
        "vi": "Đã khảo sát {surveyed}/{expected} hộ · vắng {absent} · từ chối {refused} · chuyển đi {moved} · nhà trống {vacant}",
        "en": "Surveyed {surveyed}/{expected} households · absent {absent} · refused {refused} · moved {moved} · vacant {vacant}",
    },
    "team.expected_unknown": {"vi": "?", "en": "?"},
    "team.figure": {"vi": "{label}: {covered}/{eligible} ({rate})", "en": "{label}: {covered}/{eligible} ({rate})"},
    "team.quality": {
        "vi": "VNeID mức 1: {level1} · chưa rõ: CCCD {cccd}, VNeID {vneid}, điện thoại {smartphone}, SIM {sim}",
        "en": "VNeID level 1: {level1} · unknown: ID card {cccd}, VNeID {vneid}, phone {smartphone}, SIM {sim}",
    },
    "team.fully": {"vi": "Hộ đạt đủ 4: {n}", "en": "Fully covered households: {n}"},
    "team.chart": {"vi": "Tỷ lệ 4 chỉ tiêu theo thôn/ấp (%)", "en": "The four rates per hamlet (%)"},
    "team.chart_legend": {
        "vi": "Cột theo thứ tự: CCCD, VNeID mức 2, điện thoại thông minh, SIM chữ ký số",
        "en": "Bars in order: ID card, VNeID level 2, smartphone, SIM with signature",
    },
    "team.progress": {"vi": "Tiến độ từng thành viên", "en": "Progress per team member"},
    "team.progress_row": {
        "vi": "{name}: {surveyed} hộ (hôm nay {today}), đạt đủ 4: {fully}, gần nhất {last}",
        "en": "{name}: {surveyed} households ({today} today), fully covered: {fully}, last {last}",
    },
    "team.progress_none": {"vi": "Chưa có hộ nào được khảo sát.", "en": "No household surveyed yet."},
    "team.this_device": {"vi": "Máy này", "en": "This phone"},
    "team.followups": {"vi": "Hẹn quay lại (theo ngày hẹn)", "en": "Follow-ups (by due date)"},
    "team.conflicts": {"vi": "Xung đột cần xử lý", "en": "Conflicts to resolve"},
    "team.conflicts_open": {"vi": "Mở hộp xung đột", "en": "Open the conflict inbox"},
    "team.conflicts_load": {"vi": "Tải danh sách xung đột", "en": "Load the conflicts"},
    "team.conflicts_none": {"vi": "Không có xung đột nào đang mở.", "en": "No open conflicts."},
    "team.conflict_intro": {
        "vi": "Hai máy sửa cùng một thông tin khác nhau. Chọn giá trị đúng; máy chủ lưu thành bản mới.",
        "en": "Two phones changed the same detail differently. Choose the right value; the server stores it as a new revision.",
    },
    "team.conflict_row": {"vi": "{household} — {field}", "en": "{household} — {field}"},
    "team.choose": {"vi": "Chọn: {value}", "en": "Choose: {value}"},
    "team.option_source": {"vi": "{device} · {when} · bản {rev}", "en": "{device} · {when} · revision {rev}"},
    "team.option_device_unnamed": {"vi": "Máy chưa đặt tên ({id})", "en": "Unnamed phone ({id})"},
    "team.conflicts_loading": {"vi": "Đang tải danh sách xung đột…", "en": "Loading the conflicts…"},
    "team.confirm_title": {"vi": "Xác nhận giá trị được giữ", "en": "Confirm the value to keep"},
    "team.confirm_body": {
        "vi": "{household} — {field}\nGiữ: {value}\n(gửi từ {source})\nBị thay: {others}\nCác máy nhận giá trị này ở lần đồng bộ sau.",
        "en": "{household} — {field}\nKeep: {value}\n(sent by {source})\nReplaced: {others}\nPhones receive it at their next sync.",
    },
    "team.confirm_keep": {"vi": "Giữ: {value}", "en": "Keep: {value}"},
    "team.confirm_cancel": {"vi": "Huỷ", "en": "Cancel"},
    "team.resolved": {"vi": "Đã xử lý xung đột của {household} (bản {rev}).", "en": "Resolved the conflict of {household} (revision {rev})."},
    "team.field_deleted": {"vi": "Xoá hộ", "en": "Household deleted"},
    "team.field_member": {"vi": "Thành viên {name}", "en": "Member {name}"},
    "team.value_delete": {"vi": "Xoá hộ", "en": "Delete the household"},
    "team.value_keep": {"vi": "Giữ hộ", "en": "Keep the household"},
    "team.value_removed": {"vi": "(bỏ thành viên)", "en": "(member removed)"},
    "team.offline": {"vi": "Không kết nối được máy chủ. Hãy thử lại khi có mạng.", "en": "The server cannot be reached. Try again when online."},
    "team.not_open": {"vi": "Xung đột này đã được xử lý.", "en": "This conflict was already resolved."},
    "team.forbidden": {"vi": "Tài khoản này không có quyền làm việc này.", "en": "This account may not do that."},
    "team.error": {"vi": "Máy chủ từ chối: {code}", "en": "The server refused: {code}"},
    "team.add_member": {"vi": "Thêm thành viên tổ", "en": "Add a team member"},
    "team.labels": {"vi": "In nhãn hộ {code} (PDF)", "en": "Print household labels {code} (PDF)"},
    "team.labels_none": {"vi": "Thôn/ấp này chưa có hộ nào để in nhãn.", "en": "This hamlet has no household to label yet."},
    "team.invite_for": {"vi": "Thôn/ấp của thành viên mới", "en": "Hamlet of the new member"},
    "team.invite_create": {"vi": "Tạo mã đăng ký", "en": "Create an enrolment code"},
    "team.invite_intro": {
        "vi": "Thành viên mới quét mã QR này, hoặc nhập mã bên dưới (dùng một lần, hết hạn {expires}).",
        "en": "The new member scans this QR code, or types the code below (single use, expires {expires}).",
    },
    "team.invite_code": {"vi": "Mã đăng ký: {code}", "en": "Enrolment code: {code}"},
    "team.invite_qr": {"vi": "Mã QR đăng ký thiết bị", "en": "Device enrolment QR code"},
}
CATALOG.update(DASHBOARD)  # the officer dashboard's strings live beside its views

CHECK_SHORT: dict[str, dict[str, str]] = {
    "cccd": {"vi": "CCCD", "en": "ID"},
    "vneid": {"vi": "VNeID", "en": "VNeID"},
    "smartphone": {"vi": "ĐT", "en": "Phone"},
    "sim": {"vi": "SIM", "en": "SIM"},
}


# Segment labels must fit a 360-px row: the check's full name is shown above its buttons.
VALUE_SHORT: dict[str, dict[str, dict[str, str]]] = {
    "sim": {
        "signature": {"vi": "Có chữ ký số", "en": "Signature"},
        "owner": {"vi": "Chính chủ", "en": "Own name"},
        "no": {"vi": "Không", "en": "No"},
        "unknown": {"vi": "Chưa rõ", "en": "Unknown"},
    },
}


class I18n:
    """The current language and the lookups; views call `t()` for every string they show."""

    def __init__(self, lang: str = "vi"):
        self.lang = lang if lang in LANGUAGES else "vi"

    def t(self, key: str, **params: object) -> str:
        entry = CATALOG[key]
        text = entry.get(self.lang) or entry["vi"]
        return text.format(**params) if params else text

    def check(self, check: str) -> str:
        return codes.label(codes.CHECK_LABELS, check, self.lang)

    def check_short(self, check: str) -> str:
        return CHECK_SHORT[check][self.lang]

    def value(self, check: str, value: str) -> str:
        return codes.label(codes.CHECK_VALUE_LABELS[check], value, self.lang)

    def value_short(self, check: str, value: str) -> str:
        """The label of a check's value on its button (shorter where the full label is long)."""
        short = VALUE_SHORT.get(check, {}).get(value)
        return short[self.lang] if short else self.value(check, value)

    def visit_status(self, value: str) -> str:
        return codes.label(codes.VISIT_STATUS_LABELS, value, self.lang)

    def presence(self, value: str) -> str:
        return codes.label(codes.PRESENCE_LABELS, value, self.lang)

    def reason(self, value: str) -> str:
        return codes.label(codes.REASON_LABELS, value, self.lang)

    def assisted(self, value: str) -> str:
        return codes.label(codes.ASSISTANCE_LABELS, value, self.lang)

    def percent(self, rate: float | None) -> str:
        if rate is None:
            return "—"
        value = f"{rate * 100:.1f}"
        return self.t("common.percent", value=value.replace(".", ",") if self.lang == "vi" else value)


def field_label(i18n: I18n, path: str | None) -> str:
    """The form's name for a server field path (`data.members[2].vneid` → "Thành viên 3 · Định danh
    điện tử (VNeID)"), followed by the path itself for support staff."""
    if not path:
        return "—"
    bare = path.removeprefix("data.")
    match = re.fullmatch(r"members\[(\d+)\]\.(\w+)", bare)
    if match:
        inner = match.group(2)
        name = i18n.check(inner) if inner in codes.CHECK_LABELS else field_name(i18n, inner)
        return f"{i18n.t('sync.field.member', n=int(match.group(1)) + 1, field=name)} ({path})"
    head = bare.split(".")[0].split("[")[0]
    return f"{field_name(i18n, head)} ({path})" if f"field.{head}" in CATALOG else path


def field_name(i18n: I18n, field: str) -> str:
    """A document field's name in words (a check's label for the four checks), else the field itself."""
    if field in codes.CHECK_LABELS:
        return i18n.check(field)
    return i18n.t(f"field.{field}") if f"field.{field}" in CATALOG else field
