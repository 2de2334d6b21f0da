"""The review workflow: moderator accounts, the queue, claims, decisions,
redaction help, four-eyes approval, the audit log and the moderator pages.

Depends on `app` and `alerts`. models, accounts and security (logins, tokens, TOTP),
service (queue, claims, decisions), alert_review (four eyes, retraction), audit,
redaction, router (the API) and pages (/mod).
"""
