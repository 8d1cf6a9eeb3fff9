"""Handlers registered by the inbox tests. Each behaves as the payload says,
so the tests can drive every branch of the inbox's state machine."""

import threading

from integration.vendors import errors

CALLS: list[int] = []
RELEASE = threading.Event()


def succeed(*, event):
    CALLS.append(event.pk)


def behave(*, event):
    CALLS.append(event.pk)
    outcome = event.payload.get("outcome")
    if outcome == "timeout":
        raise errors.ApiTimeoutError("The vendor did not answer in time.")
    if outcome == "rate_limited":
        raise errors.ApiRateLimited("slow down", retry_after=600)
    if outcome == "unauthorized":
        raise errors.ApiUnauthorized("Wrong key")
    if outcome == "validation":
        raise errors.ApiValidationError("Errors in the entity format")
    if outcome == "crash":
        raise ZeroDivisionError("bug")


def hold(*, event):
    """A long job: runs until the test releases it."""
    CALLS.append(event.pk)
    assert RELEASE.wait(60)
