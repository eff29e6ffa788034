"""People and API clients: node-local records, not on the ledger."""

import hashlib
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry import access, security_log
from registry.models import ApiToken, Institution, StaffRole, User
from registry.models import SecurityEventKind as Kind
from registry.services.common import locked, require, resolve

TOKEN_PREFIX = "pct_"


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    institution=None,
    staff_role: str = StaffRole.VIEWER,
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    is_superuser: bool = False,
) -> User:
    """A person of an institution (managers add their own colleagues) or, for platform admins, anyone."""
    institution = resolve(Institution, institution, field="institution", required=False)
    if is_superuser and not access.is_platform_admin(actor):
        raise PermissionDenied(_("Only platform administrators create superusers."))
    if institution is None and not is_superuser:
        raise ValidationError({"institution": _("Everyone but a platform administrator belongs to an institution.")})
    user = User(
        username=username,
        institution=institution,
        staff_role=staff_role,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_superuser=is_superuser,
        is_staff=is_superuser,
    )
    if institution is not None:
        require(actor, "add", user)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def api_token_create(*, actor, name: str, institution=None, staff_role: str = StaffRole.VIEWER) -> tuple[ApiToken, str]:
    """A new token and its plaintext key, which is returned here once and never stored.

    The token acts through a service account of the institution; it is a viewer unless its creator
    gives it the manager role.
    """
    institution = resolve(Institution, institution or getattr(actor, "institution", None), field="institution")
    if staff_role not in StaffRole.values:
        raise ValidationError({"staff_role": _("Unknown staff role.")})
    if not name or not name.strip():
        raise ValidationError({"name": _("This field is required.")})
    probe = ApiToken(institution=institution)
    require(actor, "add", probe)
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    prefix = key[: len(TOKEN_PREFIX) + 8]
    account = User(
        username=f"token-{prefix}",
        institution=institution,
        staff_role=staff_role,
        first_name=name.strip()[:150],
    )
    account.set_unusable_password()  # a service account never logs in with a password
    account.full_clean(exclude=["password"])
    account.save()
    token = ApiToken(
        institution=institution,
        user=account,
        name=name.strip(),
        key_sha256=hash_token_key(key),
        prefix=prefix,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    token.full_clean(exclude=["user", "created_by"])
    token.save()
    security_log.record(Kind.TOKEN_CREATED, user=actor, detail=f"{institution.code}: {token.prefix}… {token.name}")
    return token, key


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    require(actor, "change", token)
    token = locked(token)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        User.objects.filter(pk=token.user_id).update(is_active=False)
        security_log.record(Kind.TOKEN_REVOKED, user=actor, detail=f"{token.prefix}… {token.name}")
    return token
