"""How a form and a page show what a service refused (core.errors, or Django's ValidationError that
the services raise for their own checks): on the field the error names, else at the top of the form;
or as one line for a message above the page."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Shows a service's ValidationError on the form: on the field it names, else at the top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def service_error_text(exc: ValidationError) -> str:
    """A service's ValidationError as one line, for a message above the page."""
    return "; ".join(str(m) for m in exc.messages)
