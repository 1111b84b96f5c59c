"""The product's permission rule, written out once for the matrix tests (not read from code)."""

from civicbudget.accounts.models import Role

# What each role may do at all (the product's rule, not read from the code).
SPEC_ROLE = {
    Role.DISTRICT_ADMIN: {"view_staff", "configure_places", "manage_staff", "manage_cycles",
                          "view_audit", "configure", "submit", "merge", "screen", "deliberate",
                          "publish", "reply", "implement", "evaluate", "paper_audit", "publicise",
                          "approve_partners"},
    Role.STREET_OFFICER: {"view_staff", "submit", "merge", "screen", "deliberate", "publish",
                          "reply", "implement", "paper_audit", "publicise", "approve_partners"},
    Role.COMMUNITY_OFFICER: {"view_staff", "submit", "merge", "deliberate", "reply"},
    Role.DEPARTMENT_REVIEWER: {"view_staff", "review"},
    Role.POLLING_OFFICER: {"view_staff", "vote", "paper_audit"},
    Role.OBSERVER: {"view_staff", "view_audit", "evaluate"},
}
# What each stage of the Meilan template opens.
SPEC_STAGE = {
    "launch": {"configure"}, "collect": {"submit"},
    "screen": {"merge", "screen", "review", "deliberate"}, "vote": {"vote"},
    "publish": {"publish"}, "reply": {"reply"}, "implement": {"implement"},
    "evaluate": {"evaluate"},
}
STAGE_ACTIONS = {"configure", "submit", "merge", "screen", "review", "deliberate", "vote",
                 "publish", "reply", "implement", "evaluate"}
