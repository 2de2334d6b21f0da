"""Made-up reports for trying redflag locally (`redflag demo-data`; never in production).

Phone numbers come from the ranges regulators reserve for fiction (Australia's ACMA
+61 491 570 156-159, Ofcom's London drama range +44 20 7946 0xxx) and emails from
example.org, so no real person is ever shown as a reported client.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from app.crypto import Crypto
from app.reports import service as reports_service
from app.reports.models import Report, ReportCreate, ReportStatus

DEMO_REPORTS = [
    {
        "region": "GM0363",
        "days_ago": 1,
        "part_of_day": "night",
        "categories": ["physical_violence", "refused_to_pay"],
        "what_happened": "Booked an outcall through a fake name, got aggressive when asked "
        "to pay first, pushed me against the wall and left without paying.",
        "perpetrator": {
            "phones": ["+61 491 570 156"],
            "plates": ["XX-123-Y"],
            "description": "About 40, tall, grey jacket, dark blue hatchback.",
        },
        "language": "en",
    },
    {
        "region": "GM0599",
        "days_ago": 2,
        "part_of_day": "evening",
        "categories": ["condom_removal", "threats"],
        "what_happened": "Haalde het condoom eraf toen ik het niet zag en dreigde mijn "
        "advertentie te melden toen ik stopte.",
        "perpetrator": {"phones": ["+61 491 570 157"], "handles": ["@fake.client.demo"]},
        "language": "nl",
    },
    {
        "region": "GM0106",
        "days_ago": 4,
        "part_of_day": "afternoon",
        "categories": ["filming_without_consent", "blackmail"],
        "what_happened": "Grabó con el móvil sin permiso y después pidió dinero para no "
        "enviar el vídeo.",
        "perpetrator": {"emails": ["demo.client@example.org"]},
        "language": "es",
    },
    {
        "region": "GM0344",
        "days_ago": 6,
        "part_of_day": "morning",
        "categories": ["fake_booking"],
        "what_happened": "Made three bookings this week and never turned up; asked for "
        "photos first each time.",
        "perpetrator": {"phones": ["+44 20 7946 0123"]},
        "language": "en",
    },
]
DEMO_QUESTION = "Was this at a private address or a hotel? You do not need to say which."


def load(session: Session, *, crypto: Crypto, default_region: str) -> list[str]:
    """Add the demo reports not there yet; the receipt codes of those added."""
    codes = []
    for number, item in enumerate(DEMO_REPORTS, start=1):
        fields = {k: v for k, v in item.items() if k != "days_ago"}
        incident_date = date.today() - timedelta(days=int(item["days_ago"]))  # type: ignore[call-overload]
        data = ReportCreate.model_validate({**fields, "incident_date": incident_date})
        try:
            report_id, code = reports_service.submit(
                session,
                data=data,
                crypto=crypto,
                default_region=default_region,
                form_token=f"demo-report-{number}",
            )
        except reports_service.AlreadySubmitted:
            continue
        if number == 3:  # one report waits for the reporter's answer
            report = session.get(Report, report_id)
            assert report is not None
            reports_service.transition(report, ReportStatus.in_review)
            reports_service.ask_reporter(
                session, report=report, question=DEMO_QUESTION, cipher=crypto.cipher
            )
        codes.append(code)
    return codes
