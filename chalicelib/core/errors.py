"""Domain errors, and the one place they become HTTP answers."""

from __future__ import annotations

from typing import Any

from chalice.app import ChaliceUnhandledError


class PregonError(ChaliceUnhandledError):
    """Base of every error a user may see. ``status`` is the HTTP status it maps to; ``code``, the
    ``error`` of the answer's body, is the class's name unless the class says otherwise.

    It derives from Chalice's ``ChaliceUnhandledError`` only so that Chalice lets it reach the
    error middleware (``api.http.map_errors``) instead of turning it into a bare 500.
    """

    status = 400
    code = "BadRequest"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__dict__.get("code", cls.__name__)

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides Content-Type."""
        return {}


class ValidationFailed(PregonError):
    status = 422
    code = "ValidationError"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0]
        super().__init__(f"{first['field']}: {first['message']}", field=first["field"])
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {**super().body(), "errors": self.errors}


class NotFound(PregonError):
    status = 404


class Conflict(PregonError):
    status = 409


class PreconditionFailed(PregonError):
    """An edit sent with ``If-Match`` naming a version that is no longer the stored one (RFC 9110
    §13.1.1): someone else saved it meanwhile, and nothing was written."""

    status = 412


def edited_meanwhile(what: str) -> PreconditionFailed:
    """The 412 of an edit of ``what`` ("this template") someone else saved since the caller read it."""
    return PreconditionFailed(
        f"someone else changed {what} since you opened it: reload it to see their changes, then make "
        "yours again (the If-Match you sent is no longer its ETag)",
        field="If-Match",
    )


class Gone(PregonError):
    """A link that was valid once and no longer is (expired)."""

    status = 410


class _TryLater(PregonError):
    """An answer that says when to ask again: ``retry_after`` seconds (the Retry-After header)."""

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = max(1, retry_after)

    def body(self) -> dict[str, Any]:
        return {**super().body(), "retry_after": self.retry_after}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TooManyRequests(_TryLater):
    """A rate limit or a lockout after wrong guesses; ``retry_after`` seconds until the caller may
    try again (the Retry-After header)."""

    status = 429


class ServiceUnavailable(_TryLater):
    """What the request asked for is recorded, but a service it hands work to (a queue) refused it
    for now; asking again finishes it."""

    status = 503


class Unauthorized(PregonError):
    status = 401


class Forbidden(PregonError):
    status = 403


class DeliveryFailed(PregonError):
    """A provider refused a message; ``message`` is the provider's own text.

    ``transient`` says whether trying again later may succeed (a 4xx SMTP reply, a timeout, a
    throttled API call, an unreachable server) or not (a 5xx reply, a rejected address).

    ``not_taken`` says the provider surely does not have the message: it refused before the message
    was handed to it (the connection or the login refused, a reply to MAIL FROM, RCPT TO or DATA
    before the body; an API refusal at the first try). Its room under the account's rate limit is
    given back (C2). False when the provider may have it (a timeout or reset after the body)."""

    status = 502

    def __init__(
        self, message: str, *, field: str | None = None, transient: bool = False, not_taken: bool = False
    ) -> None:
        super().__init__(message, field=field)
        self.transient = transient
        self.not_taken = not_taken
