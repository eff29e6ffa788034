"""The one error family a service says no with, whatever asked: a form, a page, the API, a task.

Modelled on Zulip's JsonableError: each class knows the HTTP status and the API code it answers
with, and its text is written for the person who asked. They are mapped once each:

- the API: `core.api.errors` (the one error body, {"error": {"status", "code", "detail", "fields"}});
- forms: `core.forms.add_service_errors` (on the field the error names, else at the top);
- pages: Django's 403 handler for `NotPermitted`, `core.error_views.ServiceErrorPages` for the rest.

`Refused` is a Django ValidationError and `NotPermitted` a PermissionDenied, so code written for
Django's own exceptions (model validation, forms, the admin) treats them as such.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """What a service refuses, with the answer the API gives for it."""

    status_code = 400
    api_code = "invalid"

    @property
    def reason(self) -> str:
        """The refusal in words, fit to log or to show outside a form."""
        messages = getattr(self, "messages", None)
        if messages:
            return "; ".join(str(m) for m in messages)
        return str(self.args[0]) if self.args else str(_("The request was refused."))

    def __str__(self) -> str:
        return self.reason


class Refused(ServiceError, ValidationError):
    """The input is not acceptable: a service's own check or the contract's refusal in its dry run.
    `field` names the input it is about (a form shows it there, the API under "fields")."""

    api_code = "invalid"  # the API answers it as any invalid input, with its fields

    def __init__(self, message, *, field: str | None = None):
        if field and not isinstance(message, (dict, ValidationError)):
            message = {field: [message]}
        ValidationError.__init__(self, message)


class NotPermitted(ServiceError, PermissionDenied):
    """The person (or this node) may not do this; the text says why."""

    status_code = 403
    api_code = "permission_denied"


class NodeNotReady(ServiceError):
    """This node cannot take writes now: it is not part of a consortium yet."""

    status_code = 503
    api_code = "not_configured"
