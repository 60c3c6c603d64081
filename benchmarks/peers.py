"""The methods under comparison, each a function ``(pixels, k) -> quantized uint8 image``.

Peers are the recipes people would otherwise use (see ``ANCHORS.md``); "ours" are
:func:`kquant_gui.quantize` at a few settings. Heavy imports happen inside the functions so that
a measuring subprocess only pays for the method it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Method = Callable[[np.ndarray, int], np.ndarray]


def _rebuild(centers: np.ndarray, labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    # Rounding, not the truncating astype of the original script: it is the kinder rebuild,
    # so the PSNR the rgb target is checked against is the recipe's best.
    return np.clip(np.rint(centers), 0, 255).astype(np.uint8)[labels].reshape(shape)


def original_recipe(pixels: np.ndarray, k: int) -> np.ndarray:
    """The script this project started from: scikit-learn ``KMeans`` fit on every pixel."""
    from sklearn.cluster import KMeans

    x = pixels.reshape(-1, 3).astype(np.float64)
    km = KMeans(n_clusters=k, random_state=0).fit(x)
    return _rebuild(km.cluster_centers_, km.labels_, pixels.shape)


def gallery_recipe(pixels: np.ndarray, k: int) -> np.ndarray:
    """scikit-learn's gallery example: fit on 1,000 random pixels, predict every pixel."""
    from sklearn.cluster import KMeans
    from sklearn.utils import shuffle

    x = pixels.reshape(-1, 3).astype(np.float64) / 255.0
    sample = shuffle(x, random_state=0, n_samples=1_000)
    km = KMeans(n_clusters=k, random_state=0).fit(sample)
    return _rebuild(km.cluster_centers_ * 255.0, km.predict(x), pixels.shape)


def pillow_median_cut(pixels: np.ndarray, k: int) -> np.ndarray:
    """Pillow's ``Image.quantize`` with median cut and no dithering."""
    from PIL import Image

    img = Image.fromarray(pixels).quantize(
        colors=k, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    return np.asarray(img.convert("RGB"))


def libimagequant(pixels: np.ndarray, k: int) -> np.ndarray:
    """libimagequant (pngquant's library) through the ``imagequant`` package, no dithering.

    Calls ``quantize_raw_rgba_bytes`` with bytes built by numpy: the package's own
    ``quantize_pil_image`` converts the pixels in a pure-Python loop (minutes and gigabytes on
    24 MP), which would measure that loop rather than the library.
    """
    import imagequant

    h, w = pixels.shape[:2]
    rgba = np.empty((h, w, 4), dtype=np.uint8)
    rgba[..., :3] = pixels[..., :3]
    rgba[..., 3] = 255
    idx, pal = imagequant.quantize_raw_rgba_bytes(
        rgba.tobytes(), w, h, dithering_level=0.0, max_colors=k
    )
    del rgba
    palette = np.asarray(pal, dtype=np.uint8).reshape(-1, 4)[:, :3]
    return palette[np.frombuffer(idx, dtype=np.uint8)].reshape(h, w, 3)


def pngquant(pixels: np.ndarray, k: int) -> np.ndarray:
    """The ``pngquant`` command (``--nofs``: no dithering) on a PNG written to a temporary
    folder; the time includes its start-up and the file round trip."""
    import subprocess
    import tempfile
    from pathlib import Path

    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="peer-pngquant-") as tmp:
        src, out = Path(tmp) / "in.png", Path(tmp) / "out.png"
        Image.fromarray(pixels).save(src, compress_level=1)
        cmd = ["pngquant", "--nofs", "--force", "--output", str(out), str(k), str(src)]
        subprocess.run(cmd, check=True, capture_output=True)
        with Image.open(out) as im:
            return np.asarray(im.convert("RGB"))


def _ours(**options: str) -> Method:
    def run(pixels: np.ndarray, k: int) -> np.ndarray:
        from kquant_gui import quantize

        return quantize(pixels, k, **options).image

    return run


@dataclass(frozen=True)
class Peer:
    """One row of the tables.

    Attributes
    ----------
    name : str
        Short key used on the command line and between processes.
    label : str
        Row label in the tables.
    run : callable(pixels, k) -> ndarray of uint8
    ours : bool
        True for kquant-gui's own settings.
    slow : bool
        Too slow to repeat on large images: measured once, and on 24 MP only at k=16.
    """

    name: str
    label: str
    run: Method
    ours: bool = False
    slow: bool = False


PEERS: dict[str, Peer] = {
    p.name: p
    for p in (
        Peer("original", "original recipe (KMeans, all pixels)", original_recipe, slow=True),
        Peer("gallery", "sklearn gallery (fit on 1,000 px)", gallery_recipe),
        Peer("pillow", "Pillow median cut", pillow_median_cut),
        Peer("imagequant", "libimagequant", libimagequant),
        Peer("pngquant", "pngquant --nofs (CLI)", pngquant),
        Peer("ours", "**kquant-gui (lab, default)**", _ours(), ours=True),
        Peer("ours-rgb", "kquant-gui (rgb)", _ours(color_space="rgb"), ours=True),
        Peer(
            "ours-fs",
            "kquant-gui (lab, Floyd-Steinberg)",
            _ours(dither="floyd-steinberg"),
            ours=True,
        ),
        Peer("ours-ordered", "kquant-gui (lab, ordered)", _ours(dither="ordered"), ours=True),
    )
}
#: Peers whose quality is compared with ours (no dithering, like ours by default).
RIVALS = ("original", "gallery", "pillow", "imagequant")
#: Rows of the per-image tables (k = 4..256, no dithering).
SMALL_ROWS = ("original", "gallery", "pillow", "imagequant", "ours", "ours-rgb")
#: Rows of the 24 MP table (k = 16).
LARGE_ROWS = (
    "original",
    "gallery",
    "pillow",
    "imagequant",
    "ours",
    "ours-rgb",
    "ours-fs",
    "ours-ordered",
)
