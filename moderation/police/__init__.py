"""Police exports: a consenting report, redacted, for the police, only after a second
admin approves it. models, service, router (the admins' API), web (/mod pages)."""
