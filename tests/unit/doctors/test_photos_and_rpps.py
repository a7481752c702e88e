"""Doctor photos re-encoded with Pillow and the RPPS Luhn key (SPEC §19): pure functions."""

import io

import pytest
from PIL import Image

from core.doctors.onboarding import clean_rpps, luhn_valid
from core.doctors.photos import MAX_BYTES, encode_photo
from core.errors import PayloadTooLarge, ValidationFailed


def image_bytes(fmt: str, size=(1200, 800), colour=(200, 40, 40), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt, **save)
    return out.getvalue()


def exif_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x0131] = "SecretCam 1.0"  # Software
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    gps = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    exif[0x8825] = gps
    return image_bytes("JPEG", size=(600, 300), exif=exif.tobytes())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_become_a_400_square_webp_and_jpeg(fmt):
    encoded = encode_photo(image_bytes(fmt))
    with Image.open(io.BytesIO(encoded.webp)) as webp, Image.open(io.BytesIO(encoded.jpeg)) as jpeg:
        assert (webp.format, webp.size) == ("WEBP", (400, 400))
        assert (jpeg.format, jpeg.size) == ("JPEG", (400, 400))


def test_exif_is_removed_and_its_orientation_applied():
    source = exif_jpeg()
    with Image.open(io.BytesIO(source)) as original:
        assert original.getexif()[0x010F] == "PhoneMaker"
    encoded = encode_photo(source)
    for data in (encoded.webp, encoded.jpeg):
        with Image.open(io.BytesIO(data)) as image:
            assert len(image.getexif()) == 0
            assert "exif" not in image.info and "xmp" not in image.info
        assert b"PhoneMaker" not in data and b"SecretCam" not in data


def test_a_too_big_file_is_refused_with_the_limit():
    big = b"\xff\xd8" + b"0" * MAX_BYTES
    with pytest.raises(PayloadTooLarge, match="limit is 2 MB") as refused:
        encode_photo(big)
    assert refused.value.status == 413


@pytest.mark.parametrize(("data", "message"), [
    (b"%PDF-1.7 not an image at all", "not an image"),
    (b"", "Choose a photo"),
    (image_bytes("GIF"), "GIF images are not accepted"),
    (image_bytes("BMP", size=(50, 50)), "BMP images are not accepted"),
])
def test_non_images_and_other_formats_are_refused(data, message):
    with pytest.raises(ValidationFailed, match=message):
        encode_photo(data)


def test_a_truncated_jpeg_is_refused_clearly():
    data = image_bytes("PNG", size=(800, 800), colour=(10, 120, 200))
    with pytest.raises(ValidationFailed, match="damaged"):
        encode_photo(data[: len(data) // 2])


def test_luhn_and_rpps():
    assert luhn_valid("10003123451") and not luhn_valid("10003123452")
    assert luhn_valid("79927398713")  # the textbook example
    assert clean_rpps(" 1000 3123 451 ") == "10003123451"
    for bad in ("1000312345", "100031234511", "1000312345x", "10003123452", None):
        with pytest.raises(ValidationFailed):
            clean_rpps(bad)
