"""Objections by a reported person: the duty a warning list's permit sets.

Anyone may object that an identifier (their phone, email, plate or ad handle) is listed.
Before a decision nothing tells them whether it is: every objection is taken the same way
and looked up only by the admins. models, service, router (the public and the admins'
API), pages (the public form and status), web (the admins' queue at /mod/objections).
"""
