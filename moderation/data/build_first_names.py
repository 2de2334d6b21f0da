"""Builds first_names.txt from nam_dict.txt (see README.md): run it again to check or renew.

    pip download --no-deps gender-guesser==0.4.0 && unzip gender_guesser-0.4.0-*.whl
    python moderation/data/build_first_names.py gender_guesser/data/nam_dict.txt

A name of three letters or more is kept when it is at least moderately common (frequency
3 of 13 or more on the file's scale) in one of the countries most reporters come from or
write in.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The file's 55 frequency columns, from column 30 on, in its order.
_COLUMNS = (
    "GB IE US IT MT PT ES FR BE LU NL FRI DE AT CH IS DK NO SE FI EE LV LT PL CZ SK HU RO BG BA "
    "HR XK MK ME RS SI AL GR RU BY MD UA AM AZ GE KZ TR ARAB IL CN IN JP KR VN OTHER"
)
_KEPT = "GB IE US IT PT ES FR BE NL DE PL CZ SK HU RO BG RU MD UA AL TR ARAB OTHER"
COUNTRIES = tuple(_COLUMNS.split())
KEPT_COUNTRIES = set(_KEPT.split())
MIN_FREQUENCY = 3

HEADER = """\
# First names, one a line: the redaction help flags them in report text (moderation/redaction.py).
# Derived from nam_dict.txt, "List of first names and gender", by Jörg Michael,
# as shipped in the PyPI package gender-guesser 0.4.0 (gender_guesser/data/nam_dict.txt).
# Copyright (c) 2007-2008 Jörg MICHAEL, Adalbert-Stifter-Str. 11, 30655 Hannover, Germany.
# Modified by the redflag project: only the names of 3 letters or more are kept, those with a
# frequency of at least {min} in one of
# {countries};
# see build_first_names.py.
# Permission is granted to copy, distribute and/or modify this document under the terms of the
# GNU Free Documentation License, Version 1.2 or any later version published by the Free
# Software Foundation; with no Invariant Sections, no Front-Cover Texts, and no Back-Cover Texts.
# A copy of the license is in GFDL-1.2.txt beside this file.
"""


def names(source: Path) -> list[str]:
    kept: set[str] = set()
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in "#=" or line[29] == "+":  # "+": the same name, umlauts expanded
            continue
        name = line[3:29].strip()
        if "+" in name or " " in name or len(name) < 3:  # "Al", "Jo": too often not a name
            continue
        columns = line[30 : 30 + len(COUNTRIES)]
        if any(
            country in KEPT_COUNTRIES and value.strip() and int(value, 16) >= MIN_FREQUENCY
            for country, value in zip(COUNTRIES, columns, strict=False)
        ):
            kept.add(name)
    return sorted(kept)


def main(source: str) -> None:
    target = Path(__file__).with_name("first_names.txt")
    header = HEADER.format(min=MIN_FREQUENCY, countries=", ".join(sorted(KEPT_COUNTRIES)))
    target.write_text(header + "\n".join(names(Path(source))) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
