"""The lab's mail server and what it kept.

In a lab, Alertmanager's e-mails go to a real SMTP server on the operations center's loopback:
aiosmtpd's own Mailbox handler (`python -m aiosmtpd ... -c aiosmtpd.handlers.Mailbox DIR`), run by
`monitor up` as a process of ours, which keeps every message in a Maildir under the state directory
and stamps each with the envelope it came in (X-MailFrom, X-RcptTo: who it was sent to, whatever
the headers say). `municloud alerts inbox` reads them back through `read_inbox`.
"""

from __future__ import annotations

import mailbox
import sys
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

MAIL_PORT = 2525


def mail_server_argv(maildir: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    """aiosmtpd as the lab's mail server: no authentication, no TLS (loopback only), every message kept."""
    # -n: keep running as root (aiosmtpd otherwise drops to nobody, who cannot write the state dir)
    return [
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"{host}:{port}",
        "-c",
        "aiosmtpd.handlers.Mailbox",
        str(maildir),
    ]


@dataclass(frozen=True)
class Mail:
    key: str
    received: datetime | None
    sender: str
    recipients: tuple[str, ...]  # the envelope's, as the server was asked to deliver it
    subject: str
    text: str  # the plain-text part (or the HTML one when there is no other)
    html: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.key,
            "received": self.received.isoformat() if self.received else None,
            "from": self.sender,
            "to": list(self.recipients),
            "subject": self.subject,
            "text": self.text,
        }


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else ""


def _parse(key: str, raw: bytes) -> Mail:
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    recipients = tuple(r.strip() for r in str(message.get("X-RcptTo", "")).split(",") if r.strip())
    try:
        received = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        received = None
    text, html = _part(message, "plain"), _part(message, "html")
    return Mail(
        key,
        received,
        str(message.get("X-MailFrom", message.get("From", ""))),
        recipients,
        str(message.get("Subject", "")),
        text or html,
        html,
    )


def read_inbox(maildir: Path) -> list[Mail]:
    """Every message the lab's mail server kept, oldest first."""
    if not (maildir / "new").is_dir() and not (maildir / "cur").is_dir():
        return []
    box = mailbox.Maildir(maildir, create=False)
    mails = [_parse(key, box.get_bytes(key)) for key in box.iterkeys()]
    return sorted(mails, key=lambda m: (m.received.timestamp() if m.received else 0.0, m.key))
