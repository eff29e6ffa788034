from django import forms
from django.utils.translation import gettext_lazy as _

from subsidy.models import AvailabilityFormula


class PolicyForm(forms.Form):
    valid_from = forms.RegexField(label=_("Valid from (YYYY-MM)"), regex=r"^\d{4}-\d{2}$")
    per_kwh_cny = forms.DecimalField(label=_("Operating subsidy (CNY/kWh)"), min_value=0, decimal_places=4)
    construction_per_kw_cny = forms.DecimalField(label=_("Construction subsidy (CNY/kW)"), min_value=0,
                                                 decimal_places=2)
    min_availability = forms.DecimalField(label=_("Minimum availability (0 to 1)"), min_value=0, max_value=1,
                                          decimal_places=6)
    availability_formula = forms.ChoiceField(label=_("Availability the minimum applies to"),
                                             choices=AvailabilityFormula.choices, initial=AvailabilityFormula.INTERVALS,
                                             required=False)
    cap_per_pile_year_cny = forms.DecimalField(label=_("Cap per pile and year (CNY)"), min_value=0, decimal_places=2)
    cap_per_operator_year_cny = forms.DecimalField(label=_("Cap per operator and year (CNY)"), min_value=0,
                                                   decimal_places=2)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class ClaimForm(forms.Form):
    period = forms.RegexField(label=_("Period (YYYY-MM)"), regex=r"^\d{4}-\d{2}$")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    piles = forms.CharField(label=_("Piles (blank: every pending pile)"), required=False, max_length=2000)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)
    payment_due_on = forms.DateField(label=_("Payment due on (approval)"), required=False,
                                     widget=forms.DateInput(attrs={"type": "date"}))
