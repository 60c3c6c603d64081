"""The reference engine (scikit-learn's KMeans on the same histogram) and how ours compares."""

from __future__ import annotations

import numpy as np
import pytest

from kquant_gui import ENGINES, quantize
from kquant_gui.engine.metrics import mean_delta_e2000


def test_engines_are_named():
    assert ENGINES == ("numpy", "sklearn")


def test_the_reference_gives_a_full_result(photo):
    result = quantize(photo, 8, engine="sklearn", seed=3)
    assert result.n_colors == 8
    assert np.array_equal(result.image, result.palette[result.labels])
    assert result.settings()["engine"] == "sklearn"
    again = quantize(photo, **result.settings())
    assert again.image.tobytes() == result.image.tobytes()
    # The default engine is not named in the settings, so older recipes read the same.
    assert "engine" not in quantize(photo, 8).settings()


def test_the_reference_keeps_an_image_with_few_colours_exact():
    colours = np.array([[10, 20, 30], [200, 100, 0], [0, 255, 0]], dtype=np.uint8)
    pixels = colours[np.arange(30 * 40).reshape(30, 40) % 3]
    result = quantize(pixels, 8, engine="sklearn")
    assert result.exhausted and np.array_equal(result.image, pixels)


def test_an_unknown_engine_is_refused(photo):
    with pytest.raises(ValueError, match="engine must be one of numpy, sklearn; got 'opencv'"):
        quantize(photo, 8, engine="opencv")
    # Fixed colours need centres that stay still, which scikit-learn's KMeans has not.
    with pytest.raises(ValueError, match="fixed colours need engine='numpy'"):
        quantize(photo, 8, engine="sklearn", fixed=["#ffffff"])


def test_a_recipe_carries_the_reference_engine(photo):
    from kquant_gui.recipe import Recipe, recipe_of

    result = quantize(photo, 6, engine="sklearn", seed=2)
    recipe = recipe_of(result)
    assert recipe.engine == "sklearn" and not recipe.plain
    again = Recipe.from_dict(recipe.to_dict()).run(photo)
    assert again.engine == "sklearn" and again.image.tobytes() == result.image.tobytes()
    # The default engine is no setting: its recipe stays plain and names none.
    plain = recipe_of(quantize(photo, 6))
    assert plain.engine is None and plain.plain and "engine" not in plain.to_dict()
    assert Recipe.from_dict({"k": 6, "engine": "numpy"}).plain
    with pytest.raises(ValueError, match="engine 'opencv' is not one of numpy, sklearn"):
        Recipe.from_dict({"k": 6, "engine": "opencv"})


def test_the_reference_follows_alpha_and_dithering(photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    result = quantize(rgba, 6, engine="sklearn", dither="ordered")
    assert result.transparent_index is not None
    assert (result.image[:10, :10, 3] == 0).all()


#: Where ours still trails the reference, (space, k) -> largest shortfall allowed, measured on
#: these two images. Everywhere else ours must be at most the reference's (float noise aside).
#: lab k=64 (china 3.215 against 3.198; flower 2.152 against 2.165 no longer trails):
#: scikit-learn runs Lloyd to convergence on every histogram entry; converging ours as far
#: reaches 3.194 but costs several times the clustering time, over the 60 ms budget for a
#: 0.3 MP photo at k <= 64. rgb k=256 (china 2.575 against 2.564, flower 1.724 against
#: 1.704): Euclidean sRGB follows dE2000 loosely, and at k=256 the start decides (over seeds
#: 0-3 on flower ours 1.713-1.726, scikit-learn 1.701-1.735).
ALLOWANCE = {("lab", 64): 0.02, ("rgb", 256): 0.025}
FLOAT_NOISE = 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("name", ["china.jpg", "flower.jpg"])
@pytest.mark.parametrize("space", ["lab", "oklab", "rgb"])
@pytest.mark.parametrize("k", [4, 16, 64, 256])
def test_the_default_engine_is_at_least_as_good_as_the_reference(name, space, k):
    from sklearn.datasets import load_sample_image

    image = np.ascontiguousarray(load_sample_image(name))
    ours = mean_delta_e2000(image, quantize(image, k, color_space=space).image)
    theirs = quantize(image, k, color_space=space, engine="sklearn")
    reference = mean_delta_e2000(image, theirs.image)
    assert ours <= reference + ALLOWANCE.get((space, k), FLOAT_NOISE), (ours, reference)
