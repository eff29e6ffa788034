from django import forms
from django.utils.translation import gettext_lazy as _

from gateway.commands import TRIGGERS


class CredentialForm(forms.Form):
    password = forms.CharField(
        label=_("Password"), required=False, min_length=16, max_length=40, widget=forms.PasswordInput,
        help_text=_("16 to 40 characters. Leave empty to have a strong one generated."),
    )


class CommandForm(forms.Form):
    ACTIONS = [
        ("Reset", _("Reset")),
        ("ChangeAvailability", _("Change availability")),
        ("UnlockConnector", _("Unlock connector")),
        ("TriggerMessage", _("Trigger message")),
    ]
    action = forms.ChoiceField(label=_("Command"), choices=ACTIONS)
    connector_id = forms.IntegerField(label=_("Connector (0: whole pile)"), min_value=0, initial=0, required=False)
    reset_type = forms.ChoiceField(label=_("Reset type"), choices=[("soft", _("Soft")), ("hard", _("Hard"))], required=False)
    operative = forms.ChoiceField(
        label=_("Availability"), choices=[("true", _("Operative")), ("false", _("Inoperative"))], required=False
    )
    message = forms.ChoiceField(label=_("Message to trigger"), choices=[(t, t) for t in TRIGGERS], required=False)

    def params(self) -> dict:
        data = self.cleaned_data
        action = data["action"]
        connector = data.get("connector_id") or 0
        if action == "Reset":
            return {"type": data.get("reset_type") or "soft"}
        if action == "ChangeAvailability":
            return {"connector_id": connector, "operative": data.get("operative") != "false"}
        if action == "UnlockConnector":
            return {"connector_id": connector or 1}
        return {"message": data.get("message") or "StatusNotification", "connector_id": connector or None}
