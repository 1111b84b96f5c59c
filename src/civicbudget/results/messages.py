"""The words of a reply: one sentence per final state, as SMS, e-mail and letter.

Texts are composed in Simplified Chinese whatever the staff member's language, because the
proposer reads them; the sentences are translatable strings like every other, so a district
that writes to proposers in another language only changes the catalogue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _

from civicbudget.results.models import FinalState

REPLY_LANGUAGE = "zh-hans"


@dataclass(frozen=True)
class ReplyInput:
    district: str
    street: str
    community: str
    proposer: str
    tracking_code: str
    title: str
    state: str
    project: str
    reason: str
    votes: int | None
    on: dt.date


@dataclass(frozen=True)
class ReplyTexts:
    sms: str
    email_subject: str
    email_body: str
    letter: str


class Composer:
    """Compose many replies fast: the catalogue is looked up once, each text is one format."""

    def __init__(self) -> None:
        with translation.override(REPLY_LANGUAGE):
            self.state = {
                FinalState.SELECTED: _("has been selected: the project “%(project)s” will be implemented"),
                FinalState.MERGED_SELECTED: _("was merged with other residents' proposals into the project “%(project)s”, which has been selected and will be implemented"),
                FinalState.MERGED_NOT_SELECTED: _("was merged with other residents' proposals into the project “%(project)s”, which received %(votes)s votes and was not selected"),
                FinalState.SCREENED_OUT: _("did not pass screening: %(reason)s"),
                FinalState.NOT_SHORTLISTED: _("became part of the project “%(project)s”, which was not shortlisted for the vote at the community roundtable"),
                FinalState.NOT_ENOUGH_VOTES: _("went to the vote as the project “%(project)s” and received %(votes)s votes, not enough to be selected"),
            }
            self.no_project_reason = _("it could not be taken up into any project")
            self.sms = _("[%(district)s micro-projects] Dear %(name)s, your proposal “%(title)s” (code %(code)s) %(sentence)s. Thank you for taking part.")
            self.subject = _("%(district)s micro-projects: the outcome of your proposal %(code)s")
            self.body = _("Dear %(name)s,\n\nThank you for your proposal “%(title)s” (tracking code %(code)s), submitted in %(community)s, %(street)s.\n\nYour proposal %(sentence)s.\n\nYou can follow every project, its spending and its evaluation on the public pages with your tracking code. If you have questions, your community office will answer them.\n\n%(sender)s\n%(date)s")
            self.sender = _("Office of the %(district)s micro-projects lead group")
            self.date = _("%(y)d-%(m)02d-%(d)02d")

    def compose(self, r: ReplyInput) -> ReplyTexts:
        reason = r.reason or self.no_project_reason
        votes = r.votes if r.votes is not None else 0
        sentence = self.state[r.state] % {"project": r.project, "votes": votes, "reason": reason}
        sender = self.sender % {"district": r.district}
        date = self.date % {"y": r.on.year, "m": r.on.month, "d": r.on.day}
        common = {"district": r.district, "name": r.proposer, "title": r.title,
                  "code": r.tracking_code, "sentence": sentence, "community": r.community,
                  "street": r.street, "sender": sender, "date": date}
        body = self.body % common
        return ReplyTexts(sms=self.sms % common, email_subject=self.subject % common,
                          email_body=body, letter=body)
