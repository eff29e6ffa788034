"""Constraint errors that name the field a person has to fix."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import router


class FieldKeyedConstraintsMixin:
    """Django reports multi-field and expression constraints as non-field errors; forms and the API
    are clearer when "duplicate code" lands on `code`. Subclasses map constraint name -> field."""

    CONSTRAINT_FIELDS: dict[str, str] = {}

    def validate_constraints(self, exclude=None):
        errors: dict[str, list] = {}
        using = router.db_for_write(self.__class__, instance=self)
        for model_class, constraints in self.get_constraints():
            for constraint in constraints:
                try:
                    constraint.validate(model_class, self, exclude=exclude, using=using)
                except ValidationError as exc:
                    field = self.CONSTRAINT_FIELDS.get(constraint.name, NON_FIELD_ERRORS)
                    if field in (exclude or ()):
                        continue
                    errors.setdefault(field, []).extend(exc.error_list)
        if errors:
            raise ValidationError(errors)
