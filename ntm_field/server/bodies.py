"""Guards on what a client sends: size (1 MiB sent, 8 MiB inflated), gzip, JSON, valid Unicode.

Each refusal is an error of the catalogue (413 `too_large`, 415 `unsupported_media_type`, 400
`invalid_json`), never a 500 for what a client sent."""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ntm_field.server import errors

MAX_BODY = 1024 * 1024
MAX_INFLATED = 8 * 1024 * 1024


async def json_body(request: Request) -> dict:
    """The body as a JSON object (at most 1 MiB)."""
    return parse_json(await _read_limited(request, MAX_BODY))


async def push_body(request: Request) -> dict:
    """A push body: application/json, optionally gzip-encoded (at most 1 MiB sent, 8 MiB inflated)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.ApiError("send application/json", status=415, code="unsupported_media_type")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("gzip", "identity", ""):
        raise errors.ApiError("only gzip content encoding is accepted", status=415, code="unsupported_media_type")
    raw = await _read_limited(request, MAX_BODY)
    # Inflating and parsing up to 8 MiB takes tens of ms: in the thread pool, so other requests go on.
    return await run_in_threadpool(_inflate_and_parse, raw, encoding == "gzip")


def _inflate_and_parse(raw: bytes, gzipped: bool) -> dict:
    return parse_json(_gunzip_limited(raw, MAX_INFLATED) if gzipped else raw)


def parse_json(raw: bytes) -> dict:
    """The body as a JSON object; 400 for anything else, never a 500 for what a client sent."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.ApiError("the body is not JSON", code="invalid_json") from None
    except RecursionError:
        raise errors.ApiError("the body is nested too deeply", code="invalid_json") from None
    if not isinstance(body, dict):
        raise errors.ApiError("the body must be a JSON object", code="invalid_json")
    if _SURROGATE_ESCAPE.search(raw) and not _is_unicode(body):
        # a \ud800-style escape decodes to a lone surrogate: text that no database or reply can encode
        raise errors.ApiError("the body holds text that is not valid Unicode", code="invalid_json")
    return body


# A lone surrogate can only come from a \uD800–\uDFFF escape (raw UTF-8 bytes of one fail to decode):
# walk the parsed body only when the bytes hold such an escape.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _is_unicode(value: Any) -> bool:
    """Whether every string (keys included) in a parsed JSON value is valid Unicode (no lone surrogates)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.ApiError("the body is over 1 MiB", status=413, code="too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.ApiError("the body is over 1 MiB", status=413, code="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _gunzip_limited(raw: bytes, limit: int) -> bytes:
    """Inflate at most `limit` bytes: a gzip bomb is refused without being inflated in memory."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise errors.ApiError("the gzip body is damaged", code="invalid_json") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise errors.ApiError("the body is over 8 MiB inflated", status=413, code="too_large")
    return out


__all__ = ["MAX_BODY", "MAX_INFLATED", "json_body", "push_body", "parse_json"]
