"""From claimed jobs to messages: each recipient's contact decrypted, the text rendered in
their language (an alert, an update or a retraction, with the text written for that
language or else the written one; SMS, email with its unsubscribe link, or a push
notification with the SMS's words), or a one-off message's own text (a code or a link)
decrypted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sqlmodel import Session, col, select

from alerts import service as alerts_service
from alerts.delivery import outbox
from alerts.delivery.claims import Job
from alerts.delivery.providers import Message
from alerts.models import PURPOSE_CONTACT, Alert, Delivery, MessageKind
from alerts.render import (
    AlertView,
    Email,
    render_email,
    render_retraction_email,
    render_retraction_sms,
    render_sms,
    render_update_email,
    render_update_sms,
)
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.i18n import Translator, site_name
from app.settings import Settings

PUSH_TITLES: dict[str, str] = {
    MessageKind.alert.value: "push.title.alert",
    MessageKind.update.value: "push.title.update",
    MessageKind.retraction.value: "push.title.retraction",
}


def push_body(sms: str, t: Translator, *, ref: str) -> str:
    """A notification says what the SMS says (short, in the subscriber's language), but
    for "reply STOP": a notification cannot be answered (leaving is on the site); and
    without the site's name in front, which an SMS needs to say who sends it but a lock
    screen would show to anyone (the app's name there is the discreet one)."""
    for footer, instead in (
        (t("sms.footer", ref=ref), t("push.footer", ref=ref)),
        (t("sms.update_footer"), ""),
    ):
        if sms.endswith(footer):
            sms = f"{sms.removesuffix(footer)}{instead}".strip()
            break
    if sms.startswith(site_name()):
        rest = sms.removeprefix(site_name()).lstrip(": ")
        sms = rest[:1].upper() + rest[1:]
    return sms


class Prepared(NamedTuple):
    job: Job
    message: Message | None  # None: the recipient is gone


@dataclass
class MessageComposer:
    """Composes one round's messages. A published alert never changes (news about it is a
    new, numbered update), so each alert is read, and each of its SMS texts rendered per
    language, once a round instead of once a batch."""

    crypto: Crypto
    settings: Settings
    views: dict[int, AlertView | None] = field(default_factory=dict)
    updates: dict[tuple[int, int], alerts_service.UpdateText | None] = field(default_factory=dict)
    sms: dict[tuple[int, str, int, str], str] = field(default_factory=dict)
    push: dict[tuple[int, str, int, str], tuple[str, str]] = field(default_factory=dict)

    def prepare(self, session: Session, jobs: list[Job]) -> list[Prepared]:
        alerts = [j for j in jobs if j.kind != MessageKind.code]
        self._read(session, alerts)
        messages = self._one_offs(session, [j for j in jobs if j.kind == MessageKind.code])
        messages.update({job.delivery_id: self._message(job) for job in alerts})
        return [Prepared(job, messages.get(job.delivery_id)) for job in jobs]

    def _one_offs(self, session: Session, jobs: list[Job]) -> dict[int, Message | None]:
        """One-off messages (codes, links): their own texts, read and decrypted; a job whose
        recipient is gone has none."""
        if not jobs:
            return {}
        wanted = {j.delivery_id: j for j in jobs if j.contact_enc is not None}
        stored = session.execute(
            select(col(Delivery.id), col(Delivery.text_enc)).where(
                col(Delivery.id).in_(wanted), col(Delivery.text_enc).is_not(None)
            )
        ).all()
        messages: dict[int, Message | None] = {}
        for delivery_id, blob in stored:
            job = wanted[delivery_id]
            assert job.contact_enc is not None
            contact = self.crypto.cipher.decrypt(job.contact_enc, purpose=PURPOSE_CONTACT)
            text, subject = outbox.one_off_text(blob, self.crypto.cipher)
            messages[delivery_id] = Message(job.channel, contact, text, subject)
        return messages

    def _read(self, session: Session, jobs: list[Job]) -> None:
        """The alerts and update texts these jobs need that this round has not read yet."""
        cipher = self.crypto.cipher
        for alert_id in {j.alert_id for j in jobs} - self.views.keys():
            alert = session.get(Alert, alert_id)
            self.views[alert_id] = (
                None if alert is None else alerts_service.view(session, alert=alert, cipher=cipher)
            )
        news = {(j.alert_id, j.update_no) for j in jobs if j.kind == MessageKind.update}
        if news := news - self.updates.keys():
            texts = alerts_service.update_texts(session, keys=news, cipher=cipher)
            self.updates.update({key: texts.get(key) for key in news})

    def _message(self, job: Job) -> Message | None:
        view = self.views[job.alert_id]
        update_text = self.updates.get((job.alert_id, job.update_no))
        if (
            job.contact_enc is None
            or job.language is None
            or view is None
            or (job.kind == MessageKind.update and update_text is None)
        ):
            return None
        contact = self.crypto.cipher.decrypt(job.contact_enc, purpose=PURPOSE_CONTACT)
        language = job.language
        if job.channel == "email":
            url = self._unsubscribe_url(job.subscriber_id)
            headers = {
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
            mail = self._render_email(job, view, language, url, update_text)
            return Message(job.channel, contact, mail.text, mail.subject, mail.html, headers)
        key = (job.alert_id, job.kind, job.update_no, language)
        if key not in self.sms:
            self.sms[key] = self._render_sms(job, view, language, update_text)
        if job.channel == "push":
            if key not in self.push:
                t = Translator(language)
                body = push_body(self.sms[key], t, ref=view.ref)
                self.push[key] = (body, t(PUSH_TITLES[job.kind]))
            body, title = self.push[key]
            return Message(job.channel, contact, body, title)
        return Message(job.channel, contact, self.sms[key])

    def _render_sms(
        self, job: Job, view: AlertView, lang: str, update_text: alerts_service.UpdateText | None
    ) -> str:
        if job.kind == MessageKind.retraction:
            return render_retraction_sms(view, lang)
        if job.kind == MessageKind.update:
            assert update_text is not None
            return render_update_sms(view, lang, text=update_text.text, texts=update_text.texts)
        return render_sms(view, lang, masking=self.settings.identifier_masking)

    def _render_email(
        self,
        job: Job,
        view: AlertView,
        lang: str,
        url: str,
        update_text: alerts_service.UpdateText | None,
    ) -> Email:
        if job.kind == MessageKind.retraction:
            return render_retraction_email(view, lang, unsubscribe_url=url)
        if job.kind == MessageKind.update:
            assert update_text is not None
            return render_update_email(
                view, lang, text=update_text.text, texts=update_text.texts, unsubscribe_url=url
            )
        return render_email(
            view, lang, masking=self.settings.identifier_masking, unsubscribe_url=url
        )

    def _unsubscribe_url(self, subscriber_id: int) -> str:
        token = subscriptions.unsubscribe_token(self.crypto.index, subscriber_id)
        return f"{self.settings.public_url.rstrip('/')}/u/{token}"
