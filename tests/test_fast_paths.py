"""The fast paths (OpenCV filters, the folded G_m, fewer passes) give what the plain code gave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hamagan import HaMaGANPipeline
from hamagan.compose import _box_filter_cumsum, _box_filter_opencv, box_filter
from hamagan.models.fusion import ConvReLU6, InferenceCopy, InterleavedIndexBlock
from hamagan.models.indexnet import IndexNetMatting
from hamagan.samples import TEST_PORTRAITS, background_paths, portrait_paths
from hamagan.trimap import trimap_from_alpha

GOLDEN = Path(__file__).parent / "data" / "pipeline_a19f781.npz"
GOLDEN_STEP = 1 / 1023  # the golden file's quantisation (tests/data/make_pipeline_golden.py)


@pytest.mark.parametrize("radius", [1, 6, 40, 90])
def test_opencv_box_filter_matches_summed_area_tables(radius: int) -> None:
    x = torch.rand(2, 3, 57, 83)
    torch.testing.assert_close(_box_filter_opencv(x, radius), _box_filter_cumsum(x, radius), atol=2e-6, rtol=0)


def test_box_filter_keeps_gradients_flowing() -> None:
    x = torch.rand(1, 1, 9, 11, requires_grad=True)
    box_filter(x, 2).sum().backward()
    assert x.grad is not None and torch.all(x.grad > 0)


@pytest.mark.parametrize("many_to_one", [True, False])  # index branches merged into one convolution, or not
def test_inference_copy_folds_the_network_exactly_and_follows_its_weights(many_to_one: bool) -> None:
    torch.manual_seed(0)
    network = IndexNetMatting(width_mult=0.25, decoder_kernel_size=3, many_to_one=many_to_one)
    for module in network.modules():  # batch-norm statistics other than the identity
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
    network.eval()
    copies = InferenceCopy()
    x = torch.rand(1, 4, 64, 96)
    with torch.no_grad():
        fast = copies(network)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
        assert any(isinstance(m, ConvReLU6) for m in fast.modules())
        blocks = [m for m in fast.modules() if isinstance(m, InterleavedIndexBlock)]
        assert blocks and all((block.merged is not None) == many_to_one for block in blocks)
        torch.testing.assert_close(fast(x.contiguous(memory_format=torch.channels_last)), network(x),
                                   atol=1e-4, rtol=1e-4)
        assert copies(network) is fast  # unchanged weights: the same copy
        network.head[1].weight.mul_(2)  # an in-place update, as an optimiser step makes
        rebuilt = copies(network)
        assert rebuilt is not fast
        torch.testing.assert_close(rebuilt(x), network(x), atol=1e-4, rtol=1e-4)
    network.train()
    assert copies(network) is network


def test_pipeline_outputs_match_the_outputs_before_the_speed_work() -> None:
    """float32 outputs within 1/255 of commit a19f781's (plus the golden file's rounding), for a given trimap
    and for the automatic trimap a19f781 made (given back here: the person finder has changed since),
    both directions, with G_m below full resolution (guided upsampling)."""
    golden = np.load(GOLDEN)
    pipe = HaMaGANPipeline.from_pretrained()
    pipe.matting_bf16 = False
    pipe.config.matting_max_side = 96
    pipe.config.harmonize_gate = None  # choices of what to apply, made after a19f781 and not part of the speed work
    pipe.statistics.clear()  # version 12's colour-statistics correction, a change of the model after a19f781
    pipe.config.matting_flip = False
    image_path, alpha_path = portrait_paths(TEST_PORTRAITS[1])
    image = Image.open(image_path).convert("RGB").resize((192, 128), Image.BICUBIC)
    alpha = np.asarray(Image.open(alpha_path).convert("L").resize((192, 128), Image.BICUBIC), np.float32) / 255
    background = Image.open(background_paths()[3]).convert("RGB")
    for name, trimap, direction in (("given", trimap_from_alpha(alpha, 4), "background"),
                                    ("auto", golden["auto_trimap"] / 255, "foreground")):
        output = pipe(image, trimap, background=background, direction=direction, refine=False)  # a19f781 had none
        np.testing.assert_array_equal(np.round(output.trimap * 255), golden[f"{name}_trimap"])
        for field in ("alpha", "foreground", "harmonized"):
            before = golden[f"{name}_{field}"] * GOLDEN_STEP
            worst = float(np.abs(getattr(output, field) - before).max())
            assert worst <= 1 / 255 + GOLDEN_STEP / 2, (name, field, worst)
