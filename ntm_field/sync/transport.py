"""The central endpoint over HTTP (requests is imported here and nowhere else in the package).

One keep-alive `requests.Session` per transport, explicit connect and read
timeouts, TLS verification always on (there is no switch to turn it off: a
certificate failure is a captive portal or an attacker, both mean "offline"),
redirects not followed (an API that redirects is a portal's login page).
Failures leave this module as the classes of `sync.errors`, never as requests'.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from ntm_field import __version__
from ntm_field.sync.errors import AuthFailed, Offline, Refused, ServerBusy

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0


class Transport:
    """Calls of the sync contract on one server, as one device."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ):
        self.server = server.rstrip("/")
        self._timeout = (connect_timeout, read_timeout)
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy or netrc from the environment: the device talks to its server
        # Retries are the sync engine's (backoff, Retry-After, cancel); the adapter makes none.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"User-Agent": f"ntm-field/{__version__}", "Accept": "application/json"})
        if token is not None:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ----- calls of the contract ---------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/api/v1/health")

    def enrol(self, code: str, device_name: str) -> dict[str, Any]:
        return self._call("POST", "/api/v1/enrol", body={"code": code, "device_name": device_name})

    def push(self, batch_id: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
        """One push batch, gzip-compressed (most of a household is repeated keys and codes)."""
        return self._call("POST", "/api/v1/sync/push", body={"batch_id": batch_id, "changes": changes}, compress=True)

    def pull(self, cursor: str | None, limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "include": "surveyor"}  # who stored each revision: for leaders
        if cursor:
            params["cursor"] = cursor
        return self._call("GET", "/api/v1/sync/pull", params=params)

    def coverage(self, unit: str | None = None) -> dict[str, Any]:
        return self._call("GET", "/api/v1/coverage", params={"unit": unit} if unit else None)

    def conflicts(self, unit: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"include": "device"}  # the name of each value's device: for the leader's inbox
        if unit:
            params["unit"] = unit
        return self._call("GET", "/api/v1/conflicts", params=params)

    def resolve(self, conflict_id: str, value: Any) -> dict[str, Any]:
        return self._call("POST", f"/api/v1/conflicts/{quote(conflict_id, safe='')}/resolve", body={"value": value})

    def enrol_code(self, *, role: str, scope: list[str], uses: int = 1, expires_in_days: int = 7) -> dict[str, Any]:
        body = {"role": role, "scope": scope, "uses": uses, "expires_in_days": expires_in_days}
        return self._call("POST", "/api/v1/enrol-codes", body=body)

    # ----- one request ---------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, body: Any = None, params: dict | None = None, compress: bool = False
    ) -> dict[str, Any]:
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
            if compress:
                data = gzip.compress(data, compresslevel=6, mtime=0)
                headers["Content-Encoding"] = "gzip"
        try:
            response = self._session.request(
                method, self.server + path, data=data, params=params, headers=headers,
                timeout=self._timeout, allow_redirects=False,
            )  # fmt: skip
            payload = _json_or_none(response)
        except requests.exceptions.SSLError:
            raise Offline("tls_failed") from None
        except requests.exceptions.Timeout:
            raise Offline("timeout") from None
        except requests.RequestException as error:
            raise Offline(type(error).__name__) from None
        return _answer(response, payload)


def _json_or_none(response: requests.Response) -> Any:
    """The body as JSON (read inside the caller's try: a body cut off mid-way raises there)."""
    content = response.content
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def _answer(response: requests.Response, payload: Any) -> dict[str, Any]:
    status = response.status_code
    error = payload.get("error") if isinstance(payload, dict) and isinstance(payload.get("error"), dict) else {}
    code = error.get("code") if isinstance(error.get("code"), str) else ""
    if 200 <= status < 300:
        if not isinstance(payload, dict) or "application/json" not in response.headers.get("Content-Type", ""):
            raise Offline("not_the_server")  # a portal's page answering for the server
        return payload
    if status == 401:
        raise AuthFailed(code or "invalid_token")
    if status in (408, 429) or status >= 500:
        raise ServerBusy(f"http_{status}", retry_after=_retry_after(response.headers.get("Retry-After")))
    if 300 <= status < 400 or not code:
        raise Offline(f"http_{status}")  # a redirect or a 4xx without our error shape: not our server
    raise Refused(status, code, str(error.get("message") or ""), error.get("field"))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
