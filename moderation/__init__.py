"""The review workflow: moderator accounts, the queue, claims, decisions,
redaction help, four-eyes approval, the audit log, and the moderators' API and pages.

Depends on `app` and `alerts`. models; accounts and security (accounts, logins, tokens,
TOTP); claims (the queue, claims on its reports); service (reading a report, notes);
decisions (publish, reject, ask, duplicate); duplicates (the live alerts a report may
repeat); alert_review (previews, four eyes, updates, retraction, deliveries); sent_back (an
alert sent back to its author, and resubmitted); audit; redaction; retention; router and
deps (the API, /api/v1); web (the pages at /mod).
"""
