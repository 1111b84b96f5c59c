"""Proposal forms: residents' online form and staff quick entry."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from civicbudget.proposals.models import Channel, ProjectType, ProposerKind


class ProposalForm(forms.Form):
    community = forms.ChoiceField(label=_("Community"))
    title = forms.CharField(label=_("Title (optional)"), max_length=100, required=False)
    text = forms.CharField(label=_("What do you propose, and where?"),
                           widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
                           max_length=20000, strip=False)
    project_type = forms.ChoiceField(label=_("Kind of project"), choices=ProjectType.choices)
    address = forms.CharField(label=_("Address or landmark (optional)"), max_length=400,
                              required=False)
    proposer_name = forms.CharField(label=_("Your name"), max_length=100)
    phone = forms.CharField(label=_("Mobile number"), max_length=40,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    phone_code = forms.CharField(
        label=_("SMS code (optional: confirms your number to staff)"), max_length=12, required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))
    proposer_kind = forms.ChoiceField(label=_("You are"), choices=ProposerKind.choices)
    photo = forms.FileField(label=_("Photo (optional, up to 5 MB)"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
    notify = forms.BooleanField(
        label=_("Text me when my proposal's project reaches the ballot, wins, starts and is finished "
                "(needs the SMS code; every message has a link to stop)"), required=False)

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [("", "—")] + [(c.pk, f"{c.street.name} · {c.name}")
                                                          for c in communities]


class QuickEntryForm(ProposalForm):
    phone = forms.CharField(label=_("Phone (optional)"), max_length=40, required=False)
    phone_code = None
    photo = None
    notify = None
    channel = forms.ChoiceField(label=_("Channel"), choices=[
        c for c in Channel.choices if c[0] != Channel.ONLINE])

    # Which meeting, school visit or property manager brought the paper (docs/outreach.md).
    source = forms.ChoiceField(label=_("Outreach point (optional)"), required=False)

    field_order = ["community", "channel", "source", "text", "title", "project_type", "address",
                   "proposer_name", "phone", "proposer_kind"]

    def __init__(self, *args, sources=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "—"), *sources]
