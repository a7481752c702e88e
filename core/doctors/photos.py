"""Doctor photos (SPEC §19): JPEG, PNG or WebP up to 2 MB, re-encoded server-side with Pillow to a
400×400 WebP and a JPEG fallback. Re-encoding from pixels drops every piece of metadata (EXIF with
GPS positions, camera serials, ICC comments): nothing the doctor's phone wrote travels on.

The upload's declared type is not trusted: Pillow identifies the bytes, and only the three formats
pass. A decompression bomb (a small file claiming huge dimensions) is refused before decoding.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.dialects.postgresql import insert

from core import clock
from core.actor import Actor
from core.audit import record_audit
from core.db import unit_of_work
from core.errors import NotFound, PayloadTooLarge, ValidationFailed
from core.i18n import N_
from core.models import Doctor, DoctorPhoto
from core.scheduling.doctor_slots import own_doctor

MAX_BYTES = 2 * 1024 * 1024
SIZE = 400
ACCEPTED = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
MAX_PIXELS = 40_000_000  # ~ a 7000×5700 photo; more is not a portrait from a phone


@dataclass(frozen=True)
class EncodedPhoto:
    webp: bytes
    jpeg: bytes


def encode_photo(data: bytes) -> EncodedPhoto:
    """Validate and re-encode (a pure function: bytes in, bytes out). Errors say what to do."""
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(N_("The photo is %(size)s MB; the limit is 2 MB. Choose a smaller photo."),
                              params={"size": f"{len(data) / 1024 / 1024:.1f}"})
    if not data:
        raise ValidationFailed(N_("Choose a photo to upload (JPEG, PNG or WebP)."))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
    except (UnidentifiedImageError, OSError):
        raise ValidationFailed(N_("This file is not an image we can read. Upload a JPEG, PNG or WebP photo.")) from None
    if kind not in ACCEPTED:
        raise ValidationFailed(N_("%(kind)s images are not accepted. Upload a JPEG, PNG or WebP photo."),
                               params={"kind": kind or "These"})
    if width * height > MAX_PIXELS:
        raise ValidationFailed(N_("The photo's dimensions are too large. Upload a photo under 40 megapixels."))
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)  # keep the orientation the EXIF asked for, then drop it
            image = image.convert("RGB")
            image = ImageOps.fit(image, (SIZE, SIZE), Image.Resampling.LANCZOS)
    except (OSError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed(N_("This photo is damaged or incomplete. Upload it again or choose another.")) from None
    webp, jpeg = io.BytesIO(), io.BytesIO()
    image.save(webp, "WEBP", quality=82, method=4)
    image.save(jpeg, "JPEG", quality=85, optimize=True, progressive=True)
    return EncodedPhoto(webp.getvalue(), jpeg.getvalue())


def upload_photo(actor: Actor, data: bytes) -> None:
    """Store the doctor's own photo, re-encoded (SPEC §19). Audited without the image."""
    encoded = encode_photo(data)
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        now = clock.now()
        uow.session.execute(insert(DoctorPhoto).values(
            doctor_id=doctor.id, webp=encoded.webp, jpeg=encoded.jpeg, updated_at=now,
        ).on_conflict_do_update(index_elements=["doctor_id"],
                                set_={"webp": encoded.webp, "jpeg": encoded.jpeg, "updated_at": now}))
        record_audit(uow.session, actor, action="doctor.photo_updated", subject_type="doctor",
                     subject_id=str(doctor.id), at=now, details={"bytes": len(data)})


def photo_bytes(actor: Actor, doctor_id: uuid.UUID, kind: str) -> tuple[bytes, str]:
    """The stored photo as (bytes, media type); `kind` is "webp" or "jpg". Public once the doctor
    is approved (SPEC §19); before, only to the doctor and staff."""
    with unit_of_work(actor) as uow:
        row = uow.session.get(DoctorPhoto, doctor_id)
        doctor = uow.session.get(Doctor, doctor_id)
        visible = doctor is not None and (doctor.status == "approved" or actor.role in ("admin", "system")
                                          or (actor.role == "doctor" and doctor.user_id == actor.user_id))
        if row is None or kind not in ("webp", "jpg") or not visible:
            raise NotFound(N_("No photo."))
        return (row.webp, "image/webp") if kind == "webp" else (row.jpeg, "image/jpeg")
