"""Upload a signed record to a pilechain node's API with the staff member's token."""

from __future__ import annotations

import requests

RECORDS_PATH = "/api/calibration/records/"
TIMEOUT_SECONDS = 30  # mobile links are slow; a hung upload must still end


class UploadError(Exception):
    """The platform did not accept the record; the message says what to do."""


_ADVICE = {
    400: "the platform refused the record",
    401: "the token was not accepted: check it, or ask for a new one",
    403: "this account may not upload calibration records",
    404: "the platform has no calibration records endpoint at this address: check --api",
    409: "the platform already has this record, or a later one from this box (replay)",
    413: "the record is too large",
}


def records_url(api: str) -> str:
    return api.rstrip("/") + RECORDS_PATH


def upload_record(*, api: str, token: str, record: dict, timeout: float = TIMEOUT_SECONDS) -> dict:
    if not token:
        raise UploadError("no token: pass --token or set PILECHAIN_TOKEN")
    url = records_url(api)
    try:
        response = requests.post(url, json=record, timeout=timeout,
                                 headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    except requests.RequestException as exc:
        raise UploadError(f"cannot reach {url}: {exc}. The record is not lost: upload the saved file later.") from exc
    if response.status_code >= 400:
        advice = _ADVICE.get(response.status_code, "the platform failed" if response.status_code >= 500
                             else "the platform refused the upload")
        raise UploadError(f"HTTP {response.status_code} from {url}: {advice}. {_detail(response)}".rstrip())
    try:
        return response.json()
    except ValueError:
        return {}


def _detail(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:300]
