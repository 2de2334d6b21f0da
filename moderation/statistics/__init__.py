"""Statistics for the yearly evaluation and for municipalities: counts, never people.

suppression (small numbers never show, nor can be worked out from totals), measures (what
is counted, from the database), service (a period and level into published tables).
"""
