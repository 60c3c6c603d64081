"""Nothing in image metadata is executed or trusted.

EXIF, XMP and PNG text carrying shell, format-string and HTML payloads, a huge or compressed
bomb of an ICC profile and absurd EXIF orientations: each file loads (metadata ignored) or is
refused cleanly; no payload runs, and no payload text reaches what the user reads.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from _corpus import png_chunk, small_photo
from PIL import Image, PngImagePlugin
from qt_support import TIMEOUT_MS

from kquant_gui.cli import main
from kquant_gui.image_io import ImageLoadError, load_image

#: Pieces of the payloads that must never appear in a message, title or status line.
MARKERS = ("touch ", "%n", "{0.", "<b>", "onerror", "\x1b[", "</x:xmpmeta>")


def payloads(sentinel: Path) -> list[str]:
    return [
        f"$(touch {sentinel})",
        f"`touch {sentinel}`; touch {sentinel}",
        "%s%s%s%n%x %(path)s {0.__class__.__mro__} {path}",
        "<b>bold</b><img src=x onerror=alert(1)><script>alert(2)</script>",
        "\x1b[31mred\x1b[0m\r\nkquant: error: fake second line",
    ]


def exif_with(text: str, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    for tag in (0x010E, 0x010F, 0x0131, 0x013B):  # description, make, software, artist
        exif[tag] = text
    if orientation is not None:
        exif[0x0112] = orientation
    return exif.tobytes()


def xmp_with(text: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{text}</dc:title>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode("utf-8", "surrogateescape")


def save(pixels: np.ndarray, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_with_iccp(profile_stream: bytes) -> bytes:
    """A PNG with an iCCP chunk holding ``profile_stream`` (already zlib-compressed)."""
    data = save(small_photo(), "PNG")
    # Right after IHDR (8 signature + 25 IHDR bytes), where iCCP belongs.
    return data[:33] + png_chunk(b"iCCP", b"bomb\0\0" + profile_stream) + data[33:]


def hostile_files(folder: Path, sentinel: Path) -> list[Path]:
    photo = small_photo(4)
    files = {}
    for i, text in enumerate(payloads(sentinel)):
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", text)
        info.add_itxt("XML:com.adobe.xmp", xmp_with(text).decode("utf-8", "replace"))
        exif, xmp = exif_with(text), xmp_with(text)
        files[f"text-{i}-png.png"] = save(photo, "PNG", pnginfo=info, exif=exif)
        files[f"text-{i}-jpg.jpg"] = save(photo, "JPEG", exif=exif, xmp=xmp)
        files[f"text-{i}-webp.webp"] = save(photo, "WEBP", exif=exif, xmp=xmp)
    for orientation in (0, 9, 65535):
        files[f"orientation-{orientation}.jpg"] = save(
            photo, "JPEG", exif=exif_with("x", orientation)
        )
    rng = np.random.default_rng(5)
    files["huge-icc.jpg"] = save(photo, "JPEG", icc_profile=rng.bytes(4_000_000))
    files["icc-bomb.png"] = png_with_iccp(zlib.compress(bytes(200_000_000), 9))
    broken_header = bytearray(rng.bytes(2000))
    struct.pack_into(">I", broken_header, 0, 2**31)  # profile claims 2 GB
    files["icc-claims-2gb.png"] = png_with_iccp(zlib.compress(bytes(broken_header)))
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    folder = tmp_path_factory.mktemp("metadata")
    sentinel = folder / "pwned"
    return hostile_files(folder, sentinel), sentinel


def assert_no_payload(text: str) -> None:
    for marker in MARKERS:
        assert marker not in text, f"{marker!r} reached the user: {text!r}"


def test_loader_ignores_hostile_metadata(hostile):
    files, sentinel = hostile
    loaded = 0
    for path in files:
        try:
            image = load_image(path)
        except ImageLoadError as exc:
            assert_no_payload(str(exc))
            assert path.name == "icc-bomb.png", exc
        else:
            loaded += 1
            assert image.pixels.shape == (48, 64, 3), path.name  # orientation 0, 9, ...: as is
            for note in image.notes:
                assert_no_payload(note)
    # Only the compressed bomb of a profile is refused, as damaged, without inflating it.
    assert loaded == len(files) - 1
    assert not sentinel.exists()


def test_cli_never_shows_or_runs_metadata(capsys, tmp_path: Path, hostile):
    files, sentinel = hostile
    code = main([*map(str, files), "-k", "4", "--out-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert_no_payload(out + err)
    assert [line for line in err.splitlines() if "error" in line] == [
        f"kquant: error: {hostile[0][-2]}: the image data is damaged and cannot be decoded"
    ]
    assert not sentinel.exists()
    assert len(list(tmp_path.iterdir())) == len(files) - 1


def test_window_never_shows_metadata(qtbot, window, messages, hostile):
    files, sentinel = hostile
    seen: list[str] = []
    outcomes: list[object] = []
    window.statusBar().messageChanged.connect(seen.append)
    window.resultShown.connect(outcomes.append)
    window.errorShown.connect(outcomes.append)
    for path in files:
        count = len(outcomes)
        window.open_path(path)
        qtbot.waitUntil(lambda n=count: len(outcomes) > n, timeout=TIMEOUT_MS)
        seen += [
            window.windowTitle(),
            window.stats_label.text(),
            window.stats_label.toolTip(),
            window.original_title.text(),
            window.quantized_title.text(),
            window.palette_title.text(),
        ]
    seen += [text for _, text in messages.warnings]
    for text in seen:
        assert_no_payload(text)
    assert [text.split(": ")[-1] for _, text in messages.warnings] == [
        "the image data is damaged and cannot be decoded"
    ]
    assert not sentinel.exists()
