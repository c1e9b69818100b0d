"""Domain errors the interfaces map to HTTP: conflicts are 409."""

from django_fsm import ConcurrentTransition, TransitionNotAllowed


class TicketConflict(Exception):
    """The change cannot be made to the ticket as it is now."""


class StaleTicket(TicketConflict):
    """Someone else changed the ticket since the caller read it."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            f"The ticket was changed by someone else (version {actual}, you had {expected}). "
            "Reload it and try again."
        )
        self.expected = expected
        self.actual = actual


class IdempotencyMismatch(Exception):
    """The idempotency key was already used for a different request."""

    def __str__(self) -> str:
        return "This Idempotency-Key was already used for a different request."


# Every error that means "not now, the state has moved": 409 at the HTTP boundary.
CONFLICT_ERRORS = (TicketConflict, TransitionNotAllowed, ConcurrentTransition)
