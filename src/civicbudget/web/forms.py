"""Back-office forms: they parse input; services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.templates import templates


class StreetForm(forms.Form):
    name = forms.CharField(label=_("Street name"), max_length=100)
    population = forms.IntegerField(label=_("Resident population"), min_value=0, required=False)
    code = forms.CharField(label=_("Administrative code"), max_length=20, required=False)


class CommunityForm(StreetForm):
    street = forms.ChoiceField(label=_("Street"))
    name = forms.CharField(label=_("Community name"), max_length=100)
    eligible_population = forms.IntegerField(
        label=_("Residents of voting age"), min_value=0, required=False,
        help_text=_("The base of turnout; leave empty to count turnout against all residents."))

    def __init__(self, *args, streets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["street"].choices = [(s.pk, s.name) for s in streets]


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"))


class CycleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    template_key = forms.ChoiceField(label=_("Template"))
    starts_on = forms.DateField(label=_("First stage opens on"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    total_budget_yuan = forms.IntegerField(label=_("Total budget (yuan)"), min_value=1,
                                           required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template_key"].choices = [(t.key, t.display_name) for t in templates().values()]


class AdvanceForm(forms.Form):
    reason = forms.CharField(label=_("Reason (needed to close a stage early)"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)
