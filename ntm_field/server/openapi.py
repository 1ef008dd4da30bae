"""The OpenAPI description of the central endpoint, as the wire contract (shared/spec/sync-api.md) writes it.

Handlers read raw bodies (gzip, size limits), so FastAPI cannot infer the request and response
shapes: this module holds them as JSON-schema dicts, and `install` adds them to the app's
`/openapi.json`. Each route takes its keyword arguments from here (`**ROUTES["push"]`): summary,
description, request body, responses with their schemas, errors and security. Nothing here changes
what a handler does; the schemas describe what the handlers and `changes.py`, `coverage.py`,
`conflicts.py` and `reports.py` really send.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from ntm_field.domain.codes import CHECK_VALUES, Assistance, Check, Presence, Reason, VisitStatus
from ntm_field.domain.records import MAX_MEMBER_ID, MAX_MEMBERS, MAX_NAME
from ntm_field.domain.units import Level
from ntm_field.domain.validation import MAX_ADDRESS, MAX_HOUSE_NO, MAX_NOTE, MAX_NOTICE_VERSION, MIN_BIRTH_YEAR
from ntm_field.server import roles

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROLES = list(roles.ROLES)
MAX_BATCH_ID = 100
MAX_CHANGES = 500
MAX_CHANGE_ID = 100
MAX_REV = 2**63 - 1
REF = "#/components/schemas/"
BEARER = "bearerAuth"

# ----- building blocks -----------------------------------------------------------------

# A control character other than tab and newline refuses a text field (validation._string).
_NO_CONTROL = "\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f"
# What Python's str.strip() removes: a required text field needs one character outside this set.
_PY_SPACE = "\\t-\\r\\u001c- \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


def _text(max_length: int, *, allow_empty: bool = False, empty_or_filled: bool = False, description: str | None = None) -> dict:
    """A text field of the household document: no control characters but tab and newline. Required text is
    not blank; `empty_or_filled` text is either empty or not blank (a name without consent)."""
    filled = f"[^{_NO_CONTROL}]*[^{_NO_CONTROL}{_PY_SPACE}][^{_NO_CONTROL}]*"
    if allow_empty:
        schema = {"type": "string", "maxLength": max_length, "pattern": f"^[^{_NO_CONTROL}]*$"}
    elif empty_or_filled:
        schema = {"type": "string", "maxLength": max_length, "pattern": f"^(|{filled})$"}
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": f"^{filled}$"}
    if description:
        schema["description"] = description
    return schema


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _count() -> dict:
    return {"type": "integer", "minimum": 0}


def _object(properties: dict, required: list[str] | None = None, *, closed: bool = True, **extra: Any) -> dict:
    schema: dict = {"type": "object", "properties": properties, "required": list(properties) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    schema.update(extra)
    return schema


DATE_TIME = {"type": "string", "format": "date-time"}
UUID = {
    "type": "string", "format": "uuid",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}  # fmt: skip
CHECKS = [c.value for c in Check]

# ----- the household document ----------------------------------------------------------

NAME_WITHOUT_CONSENT = (
    "Not blank, except when `consent.given` is false: then empty, as every personal field (contract v1.1)."
)

MEMBER = _object(
    {
        "id": {
            "type": "string", "minLength": 1, "maxLength": MAX_MEMBER_ID, "pattern": "^[A-Za-z0-9_-]+$",
            "description": "Unique in the household; conflicts name members by it (v1.1: A–Z a–z 0–9 _ - only).",
        },  # fmt: skip
        "full_name": _text(MAX_NAME, empty_or_filled=True, description=NAME_WITHOUT_CONSENT),
        "birth_year": {
            "type": "integer", "minimum": MIN_BIRTH_YEAR,
            "description": f"From {MIN_BIRTH_YEAR} to the year of the household's `surveyed_on`.",
        },  # fmt: skip
        "presence": {"type": "string", "enum": [p.value for p in Presence]},
        **{check.value: {"type": "string", "enum": list(CHECK_VALUES[check])} for check in Check},
        "reasons": {
            "type": "object",
            "description": "Why a check is not met, by check; a check that is met takes no reason.",
            "properties": {check: {"type": "string", "enum": [r.value for r in Reason]} for check in CHECKS},
            "additionalProperties": False,
        },
        "assisted": {
            "type": "array", "uniqueItems": True, "maxItems": len(Assistance), "description": "Help given on the spot.",
            "items": {"type": "string", "enum": [a.value for a in Assistance]},
        },  # fmt: skip
        "note": _text(MAX_NOTE, allow_empty=True),
    },
    ["id", "full_name", "birth_year", "presence", *CHECKS],
    description="One member of a household with the four checks.",
)

HOUSEHOLD = _object(
    {
        "id": UUID,
        "hamlet_code": {
            "type": "string", "pattern": "^[0-9]{5}-[0-9]{2,3}$", "maxLength": 20,
            "description": "Commune code - hamlet number, e.g. 25216-03; a hamlet the server knows.",
        },  # fmt: skip
        "house_no": _text(MAX_HOUSE_NO, allow_empty=True),
        "address": _text(MAX_ADDRESS, allow_empty=True),
        "head_name": _text(MAX_NAME, empty_or_filled=True, description=NAME_WITHOUT_CONSENT),
        "visit_status": {"type": "string", "enum": [s.value for s in VisitStatus]},
        "surveyed_on": {
            "type": "string", "format": "date", "maxLength": 10,
            "description": "YYYY-MM-DD, not after the server's date + 1 day.",
        },  # fmt: skip
        "consent": _object(
            {"given": {"type": "boolean"}, "notice_version": _text(MAX_NOTICE_VERSION, allow_empty=True)},
            description="`notice_version` must not be blank when `given` is true. A household without `consent` "
                        "has none: it carries no personal data (head_name, address, note, follow_up.note, members' "
                        "full_name and note are empty).",
        ),
        "follow_up": _nullable(
            _object(
                {"due": {"type": "string", "format": "date", "maxLength": 10}, "note": _text(MAX_NOTE, allow_empty=True)},
                ["due"],
            )
        ),
        "note": _text(MAX_NOTE, allow_empty=True),
        "members": {
            "type": "array", "maxItems": MAX_MEMBERS, "items": _ref("Member"),
            "description": "At least one when `visit_status` is `surveyed`; member ids unique.",
        },  # fmt: skip
        "updated_at": {**DATE_TIME, "maxLength": 40, "description": "RFC 3339 with an offset."},
    },
    ["id", "hamlet_code", "head_name", "visit_status", "surveyed_on", "members"],
    description=(
        "The household document (`data`). Unknown keys, wrong types or values make a pushed change "
        "`rejected` with `error.code = invalid` and `error.field` naming the path (e.g. `data.members[2].vneid`)."
    ),
)
HOUSEHOLD["if"] = {"properties": {"visit_status": {"const": "surveyed"}}, "required": ["visit_status"]}
HOUSEHOLD["then"] = {"properties": {"members": {"minItems": 1}}}

# ----- errors --------------------------------------------------------------------------

ERROR = _object(
    {
        "error": _object(
            {
                "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                "message": {"type": "string", "description": "Human text; never quotes personal data."},
                "field": {"type": ["string", "null"], "description": "The path of the faulty field, or null."},
            }
        )
    },
    description="The one error shape of every endpoint.",
)

_ERRORS: dict[int, tuple[str, list[str]]] = {
    400: ("Malformed request: the body is not a JSON object", ["invalid_json"]),
    401: ("Missing, unknown or expired token, or a revoked device (which must wipe its data)",
          ["invalid_token", "token_expired", "device_revoked"]),
    403: ("The token has no right to this action or unit", ["forbidden"]),
    404: ("Unknown unit", ["unknown_unit"]),
    409: ("The conflict is not open", ["not_open"]),
    413: ("Body over 1 MiB as sent (or 8 MiB inflated), or more than 500 changes", ["too_large"]),
    415: ("Not `application/json`, or a content encoding other than gzip", ["unsupported_media_type"]),
    422: ("A request value breaks the contract (`error.field` names it)", ["invalid"]),
    429: ("Over the rate limit: retry after `Retry-After` seconds", ["rate_limited"]),
    503: ("The server is saturated: nothing was applied; retry after `Retry-After` seconds", ["overloaded"]),
}  # fmt: skip


def _error(status: int, description: str | None = None, codes: list[str] | None = None) -> dict:
    default_description, default_codes = _ERRORS[status]
    codes = codes or default_codes
    schema = {
        "allOf": [
            _ref("Error"),
            {"properties": {"error": {"properties": {"code": {"type": "string", "enum": codes}}}}},
        ]
    }
    response: dict = {
        "description": f"{description or default_description} (`error.code`: {', '.join(f'`{c}`' for c in codes)}).",
        "content": {"application/json": {"schema": schema}},
    }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait", "required": True, "schema": {"type": "integer", "minimum": 1}}
        }
    return response


def _errors(*statuses: int, **overrides: tuple[str | None, list[str] | None]) -> dict:
    """The error responses of an `/api/v1/*` route: those named, and 503 (bounded admission,
    ntm_field/server/admission.py), which any of them may answer."""
    out = {}
    for status in (*statuses, 503):
        description, codes = overrides.get(f"e{status}", (None, None))
        out[status] = _error(status, description, codes)
    return out


def _json(schema_name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema_name)}}}


def _body(schema_name: str, example: dict, description: str | None = None) -> dict:
    body: dict = {"required": True, "content": {"application/json": {"schema": _ref(schema_name), "example": example}}}
    if description:
        body["description"] = description
    return body


# ----- requests and replies ------------------------------------------------------------

EXAMPLE_HOUSEHOLD = {
    "id": "3b0f5a0e-8a4e-4f6e-9d61-2f0c7a1d9e55",
    "hamlet_code": "25216-03",
    "house_no": "12", "address": "Tổ 3",
    "head_name": "Nguyễn Văn Đức",
    "visit_status": "surveyed",
    "surveyed_on": "2024-04-12",
    "consent": {"given": True, "notice_version": "2024-04"},
    "follow_up": {"due": "2024-05-02", "note": "quay lại buổi tối"},
    "note": "",
    "members": [
        {"id": "k3v9q2xa", "full_name": "Nguyễn Văn Đức", "birth_year": 1968, "presence": "resident",
         "cccd": "yes", "vneid": "level1", "smartphone": "yes", "sim": "owner",
         "reasons": {"vneid": "DATA_MISMATCH", "sim": "NOT_INTERESTED"},
         "assisted": ["vneid_level1_activated"], "note": ""}
    ],
    "updated_at": "2024-04-12T09:31:00+07:00",
}  # fmt: skip

EXAMPLES = {
    "enrol": {"code": "<enrolment code>", "device_name": "Điện thoại tổ 3"},
    "enrol-codes": {"role": "surveyor", "scope": ["25216-03"], "uses": 1, "expires_in_days": 7},
    "push": {
        "batch_id": "batch-2024-04-12-1",
        "changes": [
            {"change_id": "5f1c2b7e-0d7c-4a3e-9a51-6f0e3c2d1b90", "id": EXAMPLE_HOUSEHOLD["id"],
             "base_rev": None, "deleted": False, "data": EXAMPLE_HOUSEHOLD}
        ],
    },  # fmt: skip
    "resolve": {"value": "Nguyễn Văn Đức"},
}

ENROL_REQUEST = _object(
    {
        "code": {"type": "string", "minLength": 1, "maxLength": 200},
        "device_name": {"type": "string", "maxLength": 100, "pattern": "^[^\\u0000-\\u001f\\u007f]*$", "default": ""},
    },
    ["code"],
    closed=False,
)
ENROL_REPLY = _object(
    {
        "device_id": {"type": "string"},
        "token": {"type": "string", "description": "Returned once: the server keeps only its hash."},
        "role": {"type": "string", "enum": ROLES},
        "scope": {"type": "array", "items": {"type": "string"}},
        "server_time": DATE_TIME,
    }
)
ENROL_CODE_REQUEST = _object(
    {
        "role": {"type": "string", "enum": ROLES, "description": "A leader creates `surveyor` codes only."},
        "scope": {
            "type": "array", "minItems": 1, "items": {"type": "string"},
            "description": "Unit codes; a leader's must lie within its own scope.",
        },  # fmt: skip
        "uses": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
        "expires_in_days": {"type": "integer", "minimum": 1, "maximum": 90, "default": 7},
    },
    ["role", "scope"],
    closed=False,
)
ENROL_CODE_REPLY = _object(
    {
        "code": {"type": "string"},
        "link": {"type": "string", "description": "The enrolment link a QR code holds."},
        "role": {"type": "string", "enum": ROLES},
        "scope": {"type": "array", "items": {"type": "string"}},
        "expires": DATE_TIME,
    }
)

CHANGE = _object(
    {
        "change_id": {
            "type": "string", "minLength": 1, "maxLength": MAX_CHANGE_ID, "pattern": "^[ -~]+$",
            "description": "Unique per edit (the field app sends a UUID); printable text, else `invalid`. "
            "A replay with another body is `change_id_reused`.",
        },  # fmt: skip
        "id": UUID | {"description": "The household's UUID, equal to `data.id`."},
        "base_rev": {
            "type": ["integer", "null"], "minimum": 0, "maximum": MAX_REV, "default": None,
            "description": "The revision the edit started from; null for a new household.",
        },  # fmt: skip
        "deleted": {"type": "boolean", "default": False},
        "data": _nullable(_ref("Household")) | {"description": "The household document; may be null when `deleted` is true."},
    },
    ["change_id", "id"],
    # without `"deleted": true`, `data` is a household document
    **{"if": {"properties": {"deleted": {"const": True}}, "required": ["deleted"]},
       "else": {"properties": {"data": _ref("Household")}, "required": ["data"]}},
    description="One edit of a household. Any fault inside it rejects this change alone (`invalid`, with `error.field`).",
)
PUSH_REQUEST = _object(
    {
        "batch_id": {"type": "string", "minLength": 1, "maxLength": MAX_BATCH_ID},
        "changes": {"type": "array", "maxItems": MAX_CHANGES, "items": _ref("Change")},
    },
    closed=False,
    description="Sent as `application/json`, optionally with `Content-Encoding: gzip`.",
)
STORED_RESULT = _object(
    {
        "change_id": {"type": "string"},
        "id": {"type": "string"},
        "status": {"type": "string", "enum": ["applied", "merged", "conflict", "duplicate"]},
        "rev": {"type": "integer", "minimum": 1, "description": "The revision stored (the first time's, for `duplicate`)."},
        "error": {"type": "null"},
    }
)
REJECTED_RESULT = _object(
    {
        "change_id": {"type": ["string", "null"], "description": "null when the change had no string `change_id`."},
        "id": {"type": ["string", "null"], "description": "null when the change had no string `id`."},
        "status": {"const": "rejected"},
        "rev": {"type": "null"},
        "error": _object(
            {
                "code": {"type": "string", "enum": ["invalid", "forbidden_hamlet", "unknown_hamlet", "change_id_reused"]},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            }
        ),
    },
    description="Nothing of this change was stored; resending it is judged afresh.",
)
PUSH_REPLY = _object(
    {
        "batch_id": {"type": "string"},
        "server_time": DATE_TIME,
        "results": {"type": "array", "items": _ref("PushResult"), "description": "One per change, in order."},
    }
)

PULLED = _object(
    {
        "id": UUID,
        "rev": {"type": "integer", "minimum": 1},
        "deleted": {"type": "boolean"},
        "data": _nullable(_ref("Household")) | {"description": "null for a deleted household."},
        "surveyor": {"type": "string", "description": "With `include=surveyor` only: the name of the device that "
                     "stored this revision (may be empty)."},
    },
    required=["id", "rev", "deleted", "data"],
)
PULL_REPLY = _object(
    {
        "changes": {"type": "array", "items": _ref("PulledHousehold")},
        "cursor": {"type": "string", "description": "Opaque: send it back to continue."},
        "has_more": {"type": "boolean"},
    }
)

UNIT = _object(
    {"code": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "string", "enum": [lv.value for lv in Level]}}
)
RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1, "description": "null where `eligible` is 0."}
INDICATOR = _object({"covered": _count(), "eligible": _count(), "unknown": _count(), "rate": RATE})
VNEID_INDICATOR = _object(
    {"covered": _count(), "eligible": _count(), "unknown": _count(),
     "level1": _count() | {"description": "Eligible members at level 1 only."}, "rate": RATE}
)  # fmt: skip
_FIGURES = {
    "unit": _ref("Unit"),
    "households": _object(
        {
            "expected": {
                "type": ["integer", "null"], "minimum": 0,
                "description": "null where a target is unknown (a parent's: unless every hamlet has one).",
            },  # fmt: skip
            **{visit.value: _count() for visit in VisitStatus},
        }
    ),
    "indicators": _object(
        {check: _ref("VneidIndicator" if check == "vneid" else "Indicator") for check in CHECKS}
    ),
    "fully_covered_households": _count(),
}
COVERAGE_FIGURES = _object(dict(_FIGURES), description="The figures of one unit.")
COVERAGE_REPLY = _object(
    {**_FIGURES, "children": {"type": "array", "items": _ref("CoverageFigures"), "description": "[] for a hamlet."}},
    description="A unit's figures and those of each of its direct children.",
)
PROGRESS_REPLY = _object(
    {
        "unit": _ref("Unit"),
        "days": {
            "type": "array",
            "items": _object(
                {
                    "date": {"type": "string", "format": "date"},
                    "surveyed": _count(),
                    **{check: _object({"covered": _count(), "eligible": _count()}) for check in CHECKS},
                }
            ),
            "description": "Cumulative figures as of the end of each survey day.",
        },
    }
)
CONFLICTS_REPLY = _object(
    {
        "conflicts": {
            "type": "array",
            "items": _object(
                {
                    "id": {"type": "string"},
                    "household_id": {"type": "string"},
                    "hamlet_code": {"type": "string"},
                    "field": {"type": "string", "description": "e.g. `head_name`, `members[id=k3v9q2xa].full_name`, `deleted`."},
                    "values": {
                        "type": "array",
                        "items": _object(
                            {
                                "value": {"description": "A competing value (any JSON)."},
                                "device_id": {"type": ["string", "null"]},
                                "rev": {"type": ["integer", "null"]},
                                "received_at": {"type": ["string", "null"], "format": "date-time"},
                                "device_name": {"type": "string", "description": "With `include=device` only: the "
                                                "name of the device that sent this value (may be empty)."},
                            },
                            required=["value", "device_id", "rev", "received_at"],
                        ),
                    },
                    "status": {"const": "open"},
                }
            ),
        }
    }
)
RESOLVE_REQUEST = _object(
    {"value": {"description": "One of the competing values or a new valid one (any JSON, null removes a member)."}},
    ["value"],
    closed=False,
)
RESOLVE_REPLY = _object({"rev": {"type": "integer", "minimum": 1, "description": "The new revision."}})
HEALTH_REPLY = _object({"status": {"const": "ok"}, "version": {"type": "string"}, "time": DATE_TIME})

COMPONENTS: dict[str, dict] = {
    "Error": ERROR,
    "Household": HOUSEHOLD,
    "Member": MEMBER,
    "Change": CHANGE,
    "PushRequest": PUSH_REQUEST,
    "PushResult": {"oneOf": [STORED_RESULT, REJECTED_RESULT]},
    "PushReply": PUSH_REPLY,
    "PulledHousehold": PULLED,
    "PullReply": PULL_REPLY,
    "EnrolRequest": ENROL_REQUEST,
    "EnrolReply": ENROL_REPLY,
    "EnrolCodeRequest": ENROL_CODE_REQUEST,
    "EnrolCodeReply": ENROL_CODE_REPLY,
    "Unit": UNIT,
    "Indicator": INDICATOR,
    "VneidIndicator": VNEID_INDICATOR,
    "CoverageFigures": COVERAGE_FIGURES,
    "CoverageReply": COVERAGE_REPLY,
    "ProgressReply": PROGRESS_REPLY,
    "ConflictsReply": CONFLICTS_REPLY,
    "ResolveRequest": RESOLVE_REQUEST,
    "ResolveReply": RESOLVE_REPLY,
    "HealthReply": HEALTH_REPLY,
}

SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "The device token from `POST /api/v1/enrol` (or `ntm-field admin`), as `Authorization: Bearer <token>`.",
    }
}
_SECURED = {"security": [{BEARER: []}]}

# ----- per route: keyword arguments of the FastAPI decorators ---------------------------

ROUTES: dict[str, dict[str, Any]] = {
    "health": {
        "summary": "Health",
        "description": "Public: whether the server answers, its version and time.",
        "response_model": None,
        "responses": {200: _json("HealthReply", "The server is up")},
    },
    "enrol": {
        "summary": "Enrol a device",
        "description": "Public: exchange an enrolment code for a device token. Unknown, used-up or expired codes are "
        "all `invalid_code` (no hint which).",
        "response_model": None,
        "responses": {
            201: _json("EnrolReply", "The device is enrolled"),
            **_errors(400, 413, 422, 429, e400=("Unknown, used-up or expired code, or a body that is not a JSON object",
                                                ["invalid_code", "invalid_json"]),
                      e422=("`device_name` is not text of at most 100 characters without control characters", None)),
        },  # fmt: skip
        "openapi_extra": {"requestBody": _body("EnrolRequest", EXAMPLES["enrol"])},
    },
    "enrol-codes": {
        "summary": "Create an enrolment code (leader)",
        "description": "A leader creates codes for surveyors within its own scope; an admin any code but an admin's "
                       "(admins come from the command line only), for units the server knows.",
        "response_model": None,
        "responses": {
            201: _json("EnrolCodeReply", "The code is created"),
            **_errors(400, 401, 403, 404, 413, 422, 429,
                      e403=("Not a leader or admin, another role than `surveyor`, or a scope outside the leader's", None)),
        },  # fmt: skip
        "openapi_extra": {"requestBody": _body("EnrolCodeRequest", EXAMPLES["enrol-codes"]), **_SECURED},
    },
    "push": {
        "summary": "Push changes",
        "description": "One result per change, in order: `applied`, `merged`, `conflict`, `duplicate` or `rejected`. "
        "A fault inside a change rejects it alone; the request fails as a whole (nothing applied) only on a "
        "malformed body or envelope (400), auth (401/403), size (413), content type or encoding (415) or rate (429). "
        "The body may be sent with `Content-Encoding: gzip`.",
        "response_model": None,
        "responses": {
            200: _json("PushReply", "Each change's result, in order"),
            **_errors(400, 401, 403, 413, 415, 429,
                      e400=("The body is not JSON (or damaged gzip), or lacks a string `batch_id` of 1–100 "
                            "characters or a `changes` array of objects", ["invalid_json", "invalid"]),
                      e403=("An officer's token: officers do not write households", None)),
        },  # fmt: skip
        "openapi_extra": {
            "requestBody": _body("PushRequest", EXAMPLES["push"], "The batch; `application/json` only, optionally gzip."),
            **_SECURED,
        },
    },
    "pull": {
        "summary": "Pull households",
        "description": "Households of the token's scope stored after `cursor`, in the order they were stored in "
        "each hamlet. The cursor is opaque: it holds the revision seen in each hamlet of the scope (at most 8,192 "
        "characters); a cursor of an earlier version of this server is still read.",
        "response_model": None,
        "responses": {200: _json("PullReply", "A page of revisions"), **_errors(401, 422, 429)},
        "openapi_extra": _SECURED,
    },
    "coverage": {
        "summary": "Coverage of a unit",
        "description": "Figures for one unit and each of its direct children; without `unit`, the first unit of the "
        "token's scope.",
        "response_model": None,
        "responses": {200: _json("CoverageReply", "The unit's figures"), **_errors(401, 403, 404, 422, 429)},
        "openapi_extra": _SECURED,
    },
    "progress": {
        "summary": "Daily progress of a unit",
        "description": "Cumulative figures at the end of each day, by the households' `surveyed_on`.",
        "response_model": None,
        "responses": {200: _json("ProgressReply", "The daily series"), **_errors(401, 403, 404, 422, 429)},
        "openapi_extra": _SECURED,
    },
    "conflicts": {
        "summary": "Open conflicts of a unit",
        "description": "Leaders, officers and admins: the open conflicts of households in the unit. With "
        "`include=device` (an extension of this server), each competing value also carries `device_name`.",
        "response_model": None,
        "responses": {200: _json("ConflictsReply", "The open conflicts"), **_errors(401, 403, 404, 422, 429)},
        "openapi_extra": _SECURED,
    },
    "resolve": {
        "summary": "Resolve a conflict (leader)",
        "description": "Store `value` at the conflict's field as a new revision; the conflict becomes `resolved`.",
        "response_model": None,
        "responses": {
            200: _json("ResolveReply", "The household's new revision"),
            **_errors(400, 401, 403, 404, 409, 413, 422, 429,
                      e404=("No such conflict", ["not_found"]),
                      e403=("Not a leader or admin, or a leader outside the household's unit", None),
                      e422=("The value is missing or would make the household invalid; nothing changed", None)),
        },  # fmt: skip
        "openapi_extra": {"requestBody": _body("ResolveRequest", EXAMPLES["resolve"]), **_SECURED},
    },
    "export": {
        "summary": "Export a unit",
        "description": "Officers, leaders and admins: `kind=members` (one row per member) or `kind=coverage` (one row "
        "per unit down to hamlets) as CSV; `format=xlsx` returns a workbook with both sheets.",
        "response_model": None,
        "responses": {
            200: {
                "description": "The export as a file (`Content-Disposition: attachment`)",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                },
            },
            **_errors(401, 403, 404, 422, 429),
        },
        "openapi_extra": _SECURED,
    },
}


def install(app: FastAPI) -> None:
    """Complete the app's generated OpenAPI document with the components and the bearer scheme."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = generate()
            components = document.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            schemas.update(COMPONENTS)
            components["securitySchemes"] = SECURITY_SCHEMES
            # FastAPI's own 422 (HTTPValidationError) where a route has parameters: the app answers
            # every 422 in the contract's error shape; a route whose only parameter is the (hidden)
            # Authorization header cannot fail their validation at all.
            for operations in document["paths"].values():
                for operation in operations.values():
                    fastapi_422 = operation.get("responses", {}).get("422")
                    if fastapi_422 is None or f"{REF}HTTPValidationError" not in json.dumps(fastapi_422):
                        continue
                    if operation.get("parameters"):
                        operation["responses"]["422"] = _error(422)
                    else:
                        del operation["responses"]["422"]
            if f"{REF}HTTPValidationError" not in json.dumps(document["paths"]):
                for name in ("HTTPValidationError", "ValidationError"):
                    schemas.pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["COMPONENTS", "ROUTES", "SECURITY_SCHEMES", "install"]
