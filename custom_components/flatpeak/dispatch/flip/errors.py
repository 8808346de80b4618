"""What a failed Flip call means for the dispatch, and how actions report it."""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from ...api import ApiError, RequestError
from ...const import DOMAIN
from ...problems import REFUSALS, Problem, classify
from .plan import rejection_text

# Why the dispatch is in error, as its status entity says.
REASON_REJECTED = "rejected"
REASON_API_ERROR = "api_error"
_REASONS = {
    Problem.INVALID_AUTH: "invalid_auth",
    Problem.CANNOT_CONNECT: "cannot_connect",
    Problem.RATE_LIMITED: "rate_limited",
    Problem.INVALID_RESPONSE: "invalid_response",
}
# Failures after which Flip certainly did nothing: a refusal, or nothing sent at all.
_NOTHING_DONE = REFUSALS | {Problem.INVALID_AUTH, Problem.RATE_LIMITED, Problem.INVALID_ID}


def is_rejection(err: ApiError) -> bool:
    """Say whether Flip refused a request for good: it did nothing, and will not."""
    return classify(err) in REFUSALS


def may_have_happened(err: ApiError) -> bool:
    """Say whether a failed create may still have created the event.

    A timeout, a dropped connection, a 5xx or an unreadable answer leave it
    open; a refusal (401/403, 404, 429, another 4xx) does not.
    """
    return classify(err) not in _NOTHING_DONE


def explain(err: ApiError) -> tuple[str, str]:
    """Return the reason key and a readable detail for a failed Flip call."""
    if isinstance(err, RequestError) and is_rejection(err):
        return REASON_REJECTED, rejection_text(err)
    return _REASONS.get(classify(err), REASON_API_ERROR), str(err)


def exception_for(err: ApiError) -> HomeAssistantError:
    """Turn a failed Flip call into the translated error an action raises.

    A refusal of the event itself is the caller's to fix: it names each
    rejected field and why.
    """
    reason, detail = explain(err)
    if reason == REASON_REJECTED:
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="flip_rejected",
            translation_placeholders={"detail": detail},
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=f"flip_{reason}",
        translation_placeholders={"error": detail},
    )
