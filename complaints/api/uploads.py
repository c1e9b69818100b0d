"""Attachments from clients: size and type checked from the content, images re-encoded."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable
from datetime import timedelta
from pathlib import PurePath
from typing import Any

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Sum
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from complaints.api.errors import UploadRejected
from complaints.models import Attachment, Ticket
from complaints.services import NewAttachment

# What citizens may send, by the type read from the bytes, and the names that type may carry.
ALLOWED: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({".jpg", ".jpeg"}),
    "image/png": frozenset({".png"}),
    "image/webp": frozenset({".webp"}),
    "application/pdf": frozenset({".pdf"}),
}
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_PIXELS = 40_000_000  # a 12-megapixel phone photo is far below; pixel floods are far above
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
PDF_ACTIVE_CONTENT = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile")


def read_attachments(files: Iterable[UploadedFile]) -> list[NewAttachment]:
    """Checked attachments ready for the service layer, or UploadRejected (413/415/422)."""
    return [_read(upload) for upload in files]


def check_quota(ticket: Ticket, user: Any, incoming: list[NewAttachment]) -> None:
    """Per-ticket count and per-user daily bytes (ASVS 5.2.4): 413 `quota_exceeded` past them."""
    if not incoming:
        return
    per_ticket = settings.ADUAN_MAX_ATTACHMENTS_PER_TICKET
    if Attachment.objects.filter(message__ticket=ticket).count() + len(incoming) > per_ticket:
        raise UploadRejected(
            413, "quota_exceeded", "This complaint has all the attachments it may have.", per_ticket
        )
    per_day = settings.ADUAN_MAX_UPLOAD_BYTES_PER_DAY
    since = timezone.now() - timedelta(days=1)
    sent = Attachment.objects.filter(message__author=user, created_at__gte=since).aggregate(
        total=Sum("size")
    )
    if (sent["total"] or 0) + sum(len(a.content) for a in incoming) > per_day:
        raise UploadRejected(
            413, "quota_exceeded", "Daily upload allowance used up; try tomorrow.", per_day
        )


def _read(upload: UploadedFile) -> NewAttachment:
    limit = settings.ADUAN_MAX_ATTACHMENT_BYTES
    name = clean_filename(upload.name or "attachment")
    size = upload.size or 0
    if size > limit:
        raise UploadRejected(413, "too_large", f"{name} is larger than {limit} bytes.", limit)
    if size == 0:
        raise UploadRejected(422, "empty", f"{name} is empty.")
    return check_content(name, upload.read())


def check_content(
    name: str, content: bytes, allowed: dict[str, frozenset[str]] = ALLOWED
) -> NewAttachment:
    """The file as it will be kept: type read from the bytes and matched against the name's
    extension, images re-encoded (metadata dropped), PDFs with active content refused.

    An empty `name` (channel media often has none) becomes "attachment.<type's extension>".
    """
    limit = settings.ADUAN_MAX_ATTACHMENT_BYTES
    if len(content) > limit:
        raise UploadRejected(413, "too_large", f"{name} is larger than {limit} bytes.", limit)
    if not content:
        raise UploadRejected(422, "empty", f"{name} is empty.")
    kind = filetype.guess(content[:8192])
    if kind is None or kind.mime not in allowed:
        names = ", ".join(sorted(allowed))
        raise UploadRejected(415, "unsupported_type", f"{name}: only {names} are accepted.")
    name = clean_filename(name) if name else f"attachment.{kind.extension}"
    if PurePath(name).suffix.lower() not in allowed[kind.mime]:
        raise UploadRejected(415, "type_mismatch", f"{name} does not contain what its name says.")
    if kind.mime in IMAGE_FORMATS:
        content = _reencoded_image(content, IMAGE_FORMATS[kind.mime], name)
    elif any(marker in content for marker in PDF_ACTIVE_CONTENT):
        raise UploadRejected(422, "active_content", f"{name} contains scripts or embedded files.")
    return NewAttachment(name=name, content=content, content_type=kind.mime)


def _reencoded_image(content: bytes, image_format: str, name: str) -> bytes:
    """The picture alone: metadata (EXIF location) dropped; pixel floods refused unread."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UploadRejected(
                    422, "too_many_pixels", f"{name} is too large an image.", MAX_PIXELS
                )
            image.load()
            out = io.BytesIO()
            image.save(out, format=image_format)  # Pillow writes no EXIF unless asked to
            return out.getvalue()
    except Image.DecompressionBombError as exc:  # declared size far beyond MAX_PIXELS
        raise UploadRejected(
            422, "too_many_pixels", f"{name} is too large an image.", MAX_PIXELS
        ) from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise UploadRejected(422, "unreadable_image", f"{name} is not a readable image.") from exc


def clean_filename(raw: str) -> str:
    """A display name: no path, no control or bidi characters, at most 100 characters."""
    base = PurePath(raw.replace("\\", "/")).name
    kept = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    return kept.strip(" .")[:100] or "attachment"
