"""The e-mail backend used when no mail server is configured: one INFO line per message.

Django's console backend prints every message whole (headers, the plain text and the HTML
part: about 65 lines), and a Celery worker logs what a task prints at WARNING, so each
demo e-mail buried the real warnings. This backend logs who would get which subject.
Set EMAIL_BACKEND to Django's SMTP backend (and EMAIL_HOST...) to send for real.
"""

import logging

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("modelwatch.mail")


class LogEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            logger.info(
                "e-mail to %s: %s (not sent: EMAIL_BACKEND logs only)",
                ", ".join(message.recipients()),
                message.subject,
            )
        return len(email_messages)
