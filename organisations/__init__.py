"""Organisations: outreach and health projects that vouch for workers and report for them.

Their people log in like moderators (role "organisation") but never see the queue: they
issue invite codes, report on a worker's behalf with the worker's consent, check numbers,
receive their regions' alerts by email and print a digest of the live alerts for workers
without a phone. At /org for people and /api/v1/org for programs.
"""
