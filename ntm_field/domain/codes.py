"""The closed vocabularies of a household document, with Vietnamese and English labels.

Wire values are the enum values; they are fixed by the sync contract.
"""

from __future__ import annotations

from enum import StrEnum


class VisitStatus(StrEnum):
    SURVEYED = "surveyed"
    ABSENT = "absent"
    REFUSED = "refused"
    MOVED = "moved"
    VACANT = "vacant"


class Presence(StrEnum):
    RESIDENT = "resident"
    AWAY = "away"
    MOVED_OUT = "moved_out"
    DECEASED = "deceased"


class Check(StrEnum):
    """The four checks ("4 phủ"), in the order the campaign lists them."""

    CCCD = "cccd"
    VNEID = "vneid"
    SMARTPHONE = "smartphone"
    SIM = "sim"


class Reason(StrEnum):
    """Why a check is not met."""

    UNDER_AGE = "UNDER_AGE"
    ELDERLY_OR_ILL = "ELDERLY_OR_ILL"
    NO_PHONE = "NO_PHONE"
    USES_2G_ONLY = "USES_2G_ONLY"
    NO_SMARTPHONE = "NO_SMARTPHONE"
    AWAY_WORKING = "AWAY_WORKING"
    NOT_INTERESTED = "NOT_INTERESTED"
    DATA_MISMATCH = "DATA_MISMATCH"
    SIM_NOT_OWNER = "SIM_NOT_OWNER"
    CANNOT_AFFORD = "CANNOT_AFFORD"
    REFUSED = "REFUSED"
    OTHER = "OTHER"


class Assistance(StrEnum):
    """Help given on the spot."""

    CCCD_APPLICATION = "cccd_application"
    VNEID_LEVEL1_ACTIVATED = "vneid_level1_activated"
    VNEID_LEVEL2_GUIDED = "vneid_level2_guided"
    SIM_REGISTERED = "sim_registered"
    SIGNATURE_ISSUED = "signature_issued"
    SMARTPHONE_SUPPORTED = "smartphone_supported"
    APP_GUIDANCE = "app_guidance"


# Allowed values per check, ordered from least to most covered. `unknown` sits
# below every known value (the merge rule of the contract relies on this order).
CHECK_VALUES: dict[Check, tuple[str, ...]] = {
    Check.CCCD: ("unknown", "no", "yes"),
    Check.VNEID: ("unknown", "no", "level1", "level2"),
    Check.SMARTPHONE: ("unknown", "no", "yes"),
    Check.SIM: ("unknown", "no", "owner", "signature"),
}

# The reasons that make sense for a check that is not met (the form offers these; the contract accepts
# any reason code for a check that is not met). `REFUSED` and `OTHER` fit every check, and are what a
# member who declines to answer gets (`unknown` with a reason).
REASONS_FOR: dict[Check, tuple[Reason, ...]] = {
    Check.CCCD: (Reason.ELDERLY_OR_ILL, Reason.AWAY_WORKING, Reason.DATA_MISMATCH, Reason.NOT_INTERESTED),
    Check.VNEID: (Reason.NO_SMARTPHONE, Reason.NO_PHONE, Reason.USES_2G_ONLY, Reason.SIM_NOT_OWNER,
                  Reason.DATA_MISMATCH, Reason.ELDERLY_OR_ILL, Reason.AWAY_WORKING, Reason.NOT_INTERESTED),
    Check.SMARTPHONE: (Reason.NO_PHONE, Reason.USES_2G_ONLY, Reason.CANNOT_AFFORD, Reason.ELDERLY_OR_ILL,
                       Reason.NOT_INTERESTED),
    Check.SIM: (Reason.SIM_NOT_OWNER, Reason.NO_PHONE, Reason.DATA_MISMATCH, Reason.AWAY_WORKING,
                Reason.ELDERLY_OR_ILL, Reason.CANNOT_AFFORD, Reason.NOT_INTERESTED),
}
ANY_CHECK_REASONS: tuple[Reason, ...] = (Reason.REFUSED, Reason.OTHER)
# An unanswered check (`unknown`) takes only these: the member declined, or something else.
UNKNOWN_REASONS: tuple[Reason, ...] = ANY_CHECK_REASONS

# The value that counts as covered for each check.
COVERED_VALUE: dict[Check, str] = {
    Check.CCCD: "yes",
    Check.VNEID: "level2",
    Check.SMARTPHONE: "yes",
    Check.SIM: "signature",
}

# A phone can be lost: only these checks never go backwards in a merge.
MONOTONE_CHECKS: frozenset[Check] = frozenset({Check.CCCD, Check.VNEID, Check.SIM})

UNKNOWN = "unknown"

Labels = dict[str, dict[str, str]]

CHECK_LABELS: Labels = {
    "cccd": {"vi": "CCCD gắn chip", "en": "Chip ID card (CCCD)"},
    "vneid": {"vi": "Định danh điện tử (VNeID)", "en": "E-identity (VNeID)"},
    "smartphone": {"vi": "Điện thoại thông minh 4G", "en": "4G smartphone"},
    "sim": {"vi": "SIM chính chủ kèm chữ ký số", "en": "Own-name SIM with digital signature"},
}

CHECK_VALUE_LABELS: dict[str, Labels] = {
    "cccd": {
        "yes": {"vi": "Đã có", "en": "Yes"},
        "no": {"vi": "Chưa có", "en": "No"},
        "unknown": {"vi": "Chưa rõ", "en": "Unknown"},
    },
    "vneid": {
        "level2": {"vi": "Mức 2", "en": "Level 2"},
        "level1": {"vi": "Mức 1", "en": "Level 1"},
        "no": {"vi": "Chưa có", "en": "No"},
        "unknown": {"vi": "Chưa rõ", "en": "Unknown"},
    },
    "smartphone": {
        "yes": {"vi": "Có", "en": "Yes"},
        "no": {"vi": "Không", "en": "No"},
        "unknown": {"vi": "Chưa rõ", "en": "Unknown"},
    },
    "sim": {
        "signature": {"vi": "Chính chủ, có chữ ký số", "en": "Own name, with signature"},
        "owner": {"vi": "Chính chủ, chưa có chữ ký số", "en": "Own name, no signature"},
        "no": {"vi": "Không chính chủ", "en": "Not own name"},
        "unknown": {"vi": "Chưa rõ", "en": "Unknown"},
    },
}

VISIT_STATUS_LABELS: Labels = {
    "surveyed": {"vi": "Đã khảo sát", "en": "Surveyed"},
    "absent": {"vi": "Vắng nhà", "en": "Nobody home"},
    "refused": {"vi": "Từ chối", "en": "Refused"},
    "moved": {"vi": "Đã chuyển đi", "en": "Moved away"},
    "vacant": {"vi": "Nhà trống", "en": "Vacant"},
}

PRESENCE_LABELS: Labels = {
    "resident": {"vi": "Đang ở", "en": "Resident"},
    "away": {"vi": "Tạm vắng (đi làm, đi học)", "en": "Away (work, study)"},
    "moved_out": {"vi": "Đã chuyển đi", "en": "Moved out"},
    "deceased": {"vi": "Đã mất", "en": "Deceased"},
}

REASON_LABELS: Labels = {
    "UNDER_AGE": {"vi": "Chưa đủ tuổi", "en": "Under age"},
    "ELDERLY_OR_ILL": {"vi": "Người cao tuổi hoặc ốm đau", "en": "Elderly or ill"},
    "NO_PHONE": {"vi": "Không có điện thoại", "en": "No phone"},
    "USES_2G_ONLY": {"vi": "Chỉ dùng máy 2G", "en": "Uses a 2G-only phone"},
    "NO_SMARTPHONE": {"vi": "Không có điện thoại thông minh", "en": "No smartphone"},
    "AWAY_WORKING": {"vi": "Đi làm ăn xa", "en": "Working away"},
    "NOT_INTERESTED": {"vi": "Chưa có nhu cầu", "en": "Not interested"},
    "DATA_MISMATCH": {"vi": "Sai lệch thông tin", "en": "Data mismatch"},
    "SIM_NOT_OWNER": {"vi": "SIM không chính chủ", "en": "SIM not in own name"},
    "CANNOT_AFFORD": {"vi": "Không đủ điều kiện kinh tế", "en": "Cannot afford"},
    "REFUSED": {"vi": "Từ chối", "en": "Refused"},
    "OTHER": {"vi": "Lý do khác", "en": "Other"},
}

ASSISTANCE_LABELS: Labels = {
    "cccd_application": {"vi": "Hỗ trợ làm hồ sơ CCCD", "en": "Helped apply for a CCCD"},
    "vneid_level1_activated": {"vi": "Kích hoạt định danh mức 1", "en": "Activated VNeID level 1"},
    "vneid_level2_guided": {"vi": "Hướng dẫn định danh mức 2", "en": "Guided to VNeID level 2"},
    "sim_registered": {"vi": "Đăng ký SIM chính chủ", "en": "Registered an own-name SIM"},
    "signature_issued": {"vi": "Cấp chữ ký số", "en": "Issued a digital signature"},
    "smartphone_supported": {"vi": "Hỗ trợ điện thoại thông minh", "en": "Helped get a smartphone"},
    "app_guidance": {"vi": "Hướng dẫn dùng ứng dụng", "en": "Guided app use"},
}


def label(labels: Labels, value: str, lang: str = "vi") -> str:
    """The label of a code in `lang` ('vi' or 'en'), falling back to Vietnamese."""
    entry = labels[value]
    return entry.get(lang, entry["vi"])
