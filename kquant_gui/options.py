"""The choices ``quantize`` accepts, in a module without numpy, outside the engine package.

The command line builds its parser and ``--help`` from these without loading the engine (whose
package imports numpy), so ``kquant --help`` answers before numpy would have finished
importing. The engine takes its choices from here.
"""

from __future__ import annotations

#: Colour spaces k-means can work in: CIELAB (default) and OKLab from linear light, or sRGB.
COLOR_SPACES = ("lab", "oklab", "rgb")
#: Final mappings: nearest colour, Floyd-Steinberg error diffusion, 8x8 Bayer ordered.
DITHERS = ("none", "floyd-steinberg", "ordered")
#: Who clusters: our numpy k-means, or scikit-learn's KMeans as the reference.
ENGINES = ("numpy", "sklearn")
#: The palette sizes allowed.
K_MIN, K_MAX = 1, 256
