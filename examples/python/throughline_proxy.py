"""Call ThroughLine's API through the token broker's proxy route (proxy mode), from Python.

The broker calls ThroughLine with its own cached access token: this process never holds one. The
request is ``GET|POST <TokenApiUrl>throughline/<ThroughLine path>``, signed with SigV4 for the
service ``execute-api`` (botocore's signer), sent with the standard library's ``urllib.request``.
The contract is ``contract/proxy-api.ts`` in the broker's repository; usage is in README.md here.

    from throughline_proxy import ThroughLineProxy
    proxy = ThroughLineProxy("https://abc123.execute-api.eu-west-2.amazonaws.com/v1/")
    helplines = proxy.get("/v2/helplines", params={"country_code": "nz"}).json()
    proxy.post_json("/v2/events/helpline_display", {"helpline_id": "…", "session_id": "…",
                                                    "timestamp": "2026-12-01T09:30:00Z"})

ThroughLine's answers come back as a ``ProxyResponse`` whatever their status (its 404 is yours to
read). The broker's own refusals (``X-Broker-Cache: none`` and ``{"error": <code>, "message"}``)
and API Gateway's own answers raise ``ProxyError`` subclasses. Retries, bounded by attempts and a
total time budget, each wait at least the answer's ``Retry-After``; a ``Retry-After`` longer than
the budget left ends the call at once:

- the broker's 429 ``quota_share_exhausted`` and 503 ``quota_reserve_reached`` / ``rate_limited``
  / ``token_unavailable``, for GET and POST: the broker refused before forwarding;
- for GET only: ThroughLine's own 429/503 and API Gateway's own 429/503;
- nothing else. A POST that ThroughLine answered 429 comes back as the response (with
  ThroughLine's Retry-After, if any): it reached ThroughLine and counted against the quota, and
  whether the event was recorded is not documented, so the caller decides.

Requirements: Python 3 and botocore (no other package). Messages never contain a credential, a
signature or query values.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

__all__ = [
    "ThroughLineProxy",
    "ProxyResponse",
    "ProxyError",
    "InvalidPathError",
    "BrokerRefusalError",
    "AccessDeniedError",
    "ProxyApiError",
    "ProxyRequestFailedError",
]

SERVICE = "execute-api"
PROXY_PATH = "throughline"
CACHE_STATUS_HEADER = "x-broker-cache"
SHARE_HEADER = "x-broker-quota-share"

#: The broker's own error codes (contract/proxy-api.ts, ProxyErrorCode).
PROXY_ERROR_CODES = frozenset(
    {
        "invalid_request",
        "path_not_allowed",
        "method_not_allowed",
        "request_too_large",
        "unsupported_media_type",
        "quota_share_exhausted",
        "quota_reserve_reached",
        "rate_limited",
        "token_unavailable",
        "upstream_unavailable",
        "upstream_response_too_large",
        "internal_error",
    }
)
#: Refusals made before the call was forwarded to ThroughLine: safe to retry, POST included.
NOT_FORWARDED_CODES = frozenset(
    {"quota_share_exhausted", "quota_reserve_reached", "rate_limited", "token_unavailable"}
)
THROUGHLINE_CACHE_STATUSES = frozenset({"miss", "hit", "stale"})

_EXECUTE_API_HOST = re.compile(
    r"^[a-z0-9]+(?:-vpce-[a-z0-9]+)?\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f]")
_SEGMENT_SAFE = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]{1,500}$")
_RESERVED_HEADER = re.compile(r"^(?:authorization|host|content-length|x-amz-.*)$", re.IGNORECASE)

ParamValue = Union[str, int, float, bool]


class ProxyError(Exception):
    """Base of this module's errors: ``status`` (None before any answer), the broker's ``code``
    (None when it did not give one) and ``retry_after`` (seconds, if the answer had one)."""

    retryable = False

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        code: Optional[str] = None,
        retry_after: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class InvalidPathError(ProxyError):
    """The path is refused before anything is signed or sent (absolute URL, ``..``, …)."""


class BrokerRefusalError(ProxyError):
    """The broker itself refused (``X-Broker-Cache: none``, ``{"error": code, "message"}``).

    ``forwarded`` is False for the codes that say ThroughLine never saw the call; ``quota_share``
    is the ``X-Broker-Quota-Share`` header of a 429 ``quota_share_exhausted``; ``allow`` the
    methods of a 405."""

    def __init__(
        self,
        message: str,
        status: int,
        code: str,
        retry_after: Optional[int],
        quota_share: Optional[str] = None,
        allow: Optional[List[str]] = None,
    ) -> None:
        super().__init__(message, status, code, retry_after)
        self.forwarded = code not in NOT_FORWARDED_CODES
        self.retryable = code in NOT_FORWARDED_CODES or code == "upstream_unavailable"
        self.quota_share = quota_share
        self.allow = allow


class AccessDeniedError(ProxyError):
    """401/403 from API Gateway: unsigned, wrongly signed, or the principal is not allowed."""


class ProxyApiError(ProxyError):
    """Another answer that is not ThroughLine's: API Gateway's 429 (throttling), 502/504, …"""

    def __init__(self, message: str, status: int, retry_after: Optional[int]) -> None:
        super().__init__(message, status, None, retry_after)
        self.retryable = status >= 500 or status == 429


class ProxyRequestFailedError(ProxyError):
    """The API could not be reached or did not answer in time. Not retried: after a timeout the
    broker may have forwarded the call."""

    retryable = True


@dataclass(frozen=True)
class ProxyResponse:
    """ThroughLine's answer as the broker passed it on: status, headers (lower-case names), body."""

    status: int
    headers: Dict[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def cache_status(self) -> Optional[str]:
        """``miss`` (ThroughLine answered), ``hit`` (broker's cache), ``stale`` (last good answer
        while ThroughLine fails or the quota reserve is reached), ``none`` (a refusal), or None."""
        value = self.headers.get(CACHE_STATUS_HEADER, "").strip().lower()
        return value if value in ("miss", "hit", "stale", "none") else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer to hand back (e.g. 304), never followed to another host with the signature."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401 - urllib's API
        return None


class _Retry(Exception):
    """One attempt's outcome worth another attempt: the response to return, or the error to raise,
    if the loop stops."""

    def __init__(self, outcome: Union[ProxyResponse, ProxyError], retry_after: Optional[int]) -> None:
        super().__init__("retry")
        self.outcome = outcome
        self.retry_after = retry_after


class ThroughLineProxy:
    """Calls ThroughLine through the broker's proxy route. One instance per process is enough.

    ``api_url``: the ``TokenApiUrl`` stack output (``https://abc123.execute-api.<region>.amazonaws.com/v1/``),
    ``TokenEndpoint`` (``…/v1/token``) or ``ThroughLineProxyBaseUrl`` (``…/v1/throughline/``). ``region``: parsed from an execute-api host, else the
    botocore session's region. ``credentials``: botocore credentials (refreshable ones are frozen per
    request), else the default chain of ``botocore.session.get_session()`` (environment, profile,
    SSO, web identity, container and instance roles). ``sleep`` and ``clock`` are for tests.
    """

    def __init__(
        self,
        api_url: str,
        region: Optional[str] = None,
        credentials: Any = None,
        *,
        session: Optional[botocore.session.Session] = None,
        max_attempts: int = 4,
        total_budget_seconds: float = 45.0,
        timeout_seconds: float = 30.0,
        backoff_base_seconds: float = 0.2,
        backoff_cap_seconds: float = 5.0,
        user_agent: str = "throughline-proxy-python",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        opener: Optional[urllib.request.OpenerDirector] = None,
    ) -> None:
        self._base = _api_base(api_url)
        host = urllib.parse.urlsplit(self._base).hostname or ""
        match = _EXECUTE_API_HOST.match(host)
        session = session or botocore.session.get_session()
        self.region = region or (match.group(1) if match else None) or session.get_config_variable("region")
        if not self.region:
            raise ProxyError(
                "No region for the API: pass region= (the API's region, e.g. eu-west-2) or set AWS_REGION"
            )
        self._credentials = credentials if credentials is not None else session.get_credentials()
        if self._credentials is None:
            raise ProxyError(
                "No AWS credentials to sign with: configure the default chain (role, profile, environment)"
                " or pass credentials="
            )
        if max_attempts < 1 or total_budget_seconds <= 0 or timeout_seconds <= 0:
            raise ValueError("max_attempts must be at least 1, the budget and timeout more than 0")
        self.max_attempts = int(max_attempts)
        self.total_budget_seconds = float(total_budget_seconds)
        self.timeout_seconds = float(timeout_seconds)
        self.backoff_base_seconds = float(backoff_base_seconds)
        self.backoff_cap_seconds = float(backoff_cap_seconds)
        self.user_agent = user_agent
        self._sleep = sleep
        self._clock = clock
        self._opener = opener or urllib.request.build_opener(_NoRedirect)

    @property
    def endpoint(self) -> str:
        """``<TokenApiUrl>throughline/``: where proxied calls go."""
        return f"{self._base}{PROXY_PATH}/"

    def get(
        self,
        path: str,
        params: Optional[Mapping[str, ParamValue]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> ProxyResponse:
        """``GET`` a ThroughLine path, e.g. ``get("/v2/helplines", {"country_code": "nz"})``."""
        return self.request("GET", path, params=params, headers=headers)

    def post_json(
        self,
        path: str,
        payload: Any,
        params: Optional[Mapping[str, ParamValue]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> ProxyResponse:
        """``POST`` a JSON body (``Content-Type: application/json``) to a ThroughLine path."""
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        merged = {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
        return self.request("POST", path, params=params, body=body, headers=merged)

    def request(
        self,
        method: str,
        path: str,
        params: Optional[Mapping[str, ParamValue]] = None,
        body: Optional[bytes] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> ProxyResponse:
        method = method.upper()
        if method not in ("GET", "POST"):
            raise ValueError(f"The proxy takes GET or POST, not {method}")
        if method == "GET" and body is not None:
            raise ValueError("A GET has no body: use POST")
        url, shown_path = self._url(path, params or {})
        label = f"{method} {shown_path}"
        send_headers = {"accept": "application/json"}
        for name, value in (headers or {}).items():
            if _RESERVED_HEADER.match(name):
                raise ValueError(f"{name.lower()} is set by the SigV4 signature: do not pass it")
            send_headers[name.lower()] = value
        if method == "POST":
            send_headers.setdefault("content-type", "application/json")
            body = body if body is not None else b""

        deadline = self._clock() + self.total_budget_seconds
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            try:
                timeout = max(0.001, min(self.timeout_seconds, remaining))
                return self._attempt(method, url, label, body, send_headers, timeout)
            except _Retry as retry:
                if attempt >= self.max_attempts:
                    return _finish(retry.outcome)
                ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))
                delay = max(random.random() * ceiling, float(retry.retry_after or 0))
                # Never wait past the budget: a Retry-After beyond it ends the call now.
                if self._clock() + delay >= deadline:
                    return _finish(retry.outcome)
                self._sleep(delay)

    # ---- one attempt

    def _attempt(
        self,
        method: str,
        url: str,
        label: str,
        body: Optional[bytes],
        headers: Dict[str, str],
        timeout: float,
    ) -> ProxyResponse:
        signed = self._sign(method, url, body, headers)
        request = urllib.request.Request(url, data=body, headers=signed, method=method)
        request.add_header("User-Agent", self.user_agent)
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                response = ProxyResponse(answer.status, _headers(answer.headers), answer.read())
        except urllib.error.HTTPError as answer:
            with answer:
                response = ProxyResponse(answer.code, _headers(answer.headers), answer.read())
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                detail = f"did not answer within {timeout:.1f} s (not retried: it may have reached ThroughLine)"
            else:
                detail = f"could not be reached ({type(reason).__name__})"
            raise ProxyRequestFailedError(f"The ThroughLine proxy {detail}: {label}") from None

        retry_after = _retry_after(response.headers.get("retry-after"))
        if response.cache_status in THROUGHLINE_CACHE_STATUSES or response.status < 400:
            # ThroughLine's answer, unchanged. Only a GET is asked again, and only on 429/503.
            if method == "GET" and response.status in (429, 503):
                raise _Retry(response, retry_after)
            return response
        error = _refusal(response, retry_after, label)
        if error.code in NOT_FORWARDED_CODES:
            raise _Retry(error, retry_after)
        if method == "GET" and error.code is None and response.status in (429, 503):
            raise _Retry(error, retry_after)
        raise error

    def _sign(self, method: str, url: str, body: Optional[bytes], headers: Dict[str, str]) -> Dict[str, str]:
        credentials = self._credentials
        if hasattr(credentials, "get_frozen_credentials"):
            credentials = credentials.get_frozen_credentials()
        aws_request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(credentials, SERVICE, self.region).add_auth(aws_request)
        return dict(aws_request.headers.items())

    def _url(self, path: str, params: Mapping[str, ParamValue]) -> Tuple[str, str]:
        """The proxy URL, the query encoded exactly as SigV4 canonicalises it (RFC 3986, a space as
        %20): botocore signs the query string as it appears in the URL."""
        if not isinstance(path, str) or path.lstrip("/") == "":
            raise InvalidPathError('Name a ThroughLine API path, e.g. get("/v2/helplines")')
        if _SCHEME.match(path) or path.startswith("//"):
            raise InvalidPathError(
                'The ThroughLine path is an absolute URL: pass the path alone, e.g. "/v2/helplines"'
            )
        if _CONTROL_OR_SPACE.search(path):
            raise InvalidPathError(
                "The ThroughLine path contains white space or a control character: pass query values in params="
            )
        if "\\" in path:
            raise InvalidPathError("The ThroughLine path contains a backslash")
        if "#" in path:
            raise InvalidPathError("The ThroughLine path contains a fragment (#)")
        raw_path, _, raw_query = path.partition("?")
        raw_path = raw_path[1:] if raw_path.startswith("/") else raw_path
        dotted = re.sub(r"%2e", ".", raw_path, flags=re.IGNORECASE)
        if ".." in dotted or "." in dotted.split("/"):
            raise InvalidPathError('The ThroughLine path contains a "." or ".." segment')
        if not raw_path.isascii() or not _SEGMENT_SAFE.match(raw_path):
            raise InvalidPathError(
                'The ThroughLine path has characters that would change it when sent: use plain segments'
            )
        pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        for name, value in params.items():
            pairs.append((name, _param(value)))
        query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)
        url = f"{self._base}{PROXY_PATH}/{raw_path}" + (f"?{query}" if query else "")
        return url, f"/{raw_path}"

    def __repr__(self) -> str:
        return f"ThroughLineProxy({self.endpoint!r}, region={self.region!r})"


def _finish(outcome: Union[ProxyResponse, ProxyError]) -> ProxyResponse:
    if isinstance(outcome, ProxyError):
        raise outcome
    return outcome


def _refusal(response: ProxyResponse, retry_after: Optional[int], label: str) -> ProxyError:
    """The error for an answer that is not ThroughLine's: the broker's own, or API Gateway's."""
    code: Optional[str] = None
    api_message: Optional[str] = None
    try:
        body = json.loads(response.body)
        if isinstance(body, dict):
            if body.get("error") in PROXY_ERROR_CODES:
                code = body["error"]
            message = body.get("message", body.get("Message"))
            # Short and printable only: a fixed text of the broker's or API Gateway's.
            if isinstance(message, str) and _PRINTABLE.match(message):
                api_message = message
    except ValueError:
        pass
    detail = f": {api_message}" if api_message else ""
    after = f" Retry after {retry_after} s." if retry_after is not None else ""
    status = response.status
    if code is not None:
        allow_header = response.headers.get("allow")
        return BrokerRefusalError(
            f"The broker refused {label} ({status} {code}){detail}.{after}",
            status,
            code,
            retry_after,
            quota_share=response.headers.get(SHARE_HEADER),
            allow=[m.strip() for m in allow_header.split(",") if m.strip()] if allow_header else None,
        )
    if status in (401, 403):
        return AccessDeniedError(
            f"The token API denied {label} ({status}){detail}. The calling principal needs an IAM policy"
            " allowing execute-api:Invoke on the proxy route, and the API's resource policy must allow it",
            status,
        )
    return ProxyApiError(
        f"The token API answered {label} with HTTP {status} (not the broker's){detail}", status, retry_after
    )


def _api_base(api_url: str) -> str:
    parts = urllib.parse.urlsplit(api_url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("api_url must be https:// (the TokenApiUrl stack output)")
    if parts.query or parts.fragment:
        raise ValueError("api_url must not have a query string or fragment")
    path = parts.path.rstrip("/")
    # TokenApiUrl, TokenEndpoint (…/token) or ThroughLineProxyBaseUrl (…/throughline/).
    for suffix in ("/token", f"/{PROXY_PATH}"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"{path}/", "", ""))


def _quote(text: str) -> str:
    # RFC 3986 unreserved characters stay; everything else is %XX (a space is %20, never "+").
    return urllib.parse.quote(text, safe="-_.~")


def _param(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _headers(message: Any) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for name, value in message.items():
        lower = name.lower()
        out[lower] = f"{out[lower]}, {value}" if lower in out else value
    return out


def _retry_after(value: Optional[str]) -> Optional[int]:
    """RFC 9110 §10.2.3: delta-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0, int(when.timestamp() - time.time() + 0.999))
