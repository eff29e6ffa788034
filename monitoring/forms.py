"""Forms of the monitoring pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from monitoring.models import Severity, WorkOrderState


class WorkOrderFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", _("Any"))] + list(WorkOrderState.choices))
    severity = forms.ChoiceField(label=_("Severity"), required=False, choices=[("", _("Any"))] + list(Severity.choices))
    pile = forms.CharField(label=_("Pile"), required=False, max_length=48)
    open = forms.BooleanField(label=_("Open only"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)


class StepForm(forms.Form):
    to = forms.ChoiceField(label=_("Move to"))
    assignee = forms.CharField(label=_("Assignee (user name)"), required=False, max_length=150)
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, steps=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(WorkOrderState.choices)
        self.fields["to"].choices = [(s, labels[s]) for s in steps]


class PeriodForm(forms.Form):
    start = forms.DateTimeField(label=_("From"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(label=_("To"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    pile = forms.CharField(label=_("Pile"), required=False, max_length=48)


class ThresholdForm(forms.Form):
    area = forms.CharField(widget=forms.HiddenInput)
    percent = forms.DecimalField(label=_("Alert threshold (% of capacity)"), max_digits=5, decimal_places=1,
                                 min_value=1, max_value=200)
