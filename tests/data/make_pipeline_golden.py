"""Write the pipeline's float32 outputs on one small bundled portrait, for tests/test_fast_paths.py.

The committed file was made by the code before the speed work (commit a19f781):

    git worktree add /tmp/hamagan-a19f781 a19f781
    # the default model's weights as that code reads them: one model.safetensors (pipe.state_dict()) and a
    # config.json without the keys added since (refine_matting, refinement_weight), in its checkpoint folder
    PYTHONPATH=/tmp/hamagan-a19f781 python tests/data/make_pipeline_golden.py tests/data/pipeline_a19f781.npz

Remade for version 9's G_m (2026-12-02), for versions 10 and 11's harmonizers (2026-12-03) and for version 14's
G_m (2026-12-07, the colour-statistics modules left out of the state dict, as the test leaves them); their layer
statistics came after a19f781, so that worktree was given today's ``hamagan/models/harmonizer.py`` and a
``layer_statistics`` field in its ``HarmonizerConfig`` (at this size the copied module applies the colour
map in one piece, as a19f781's did).

G_m runs at a working size below the image's (so the guided upsampling runs), once with a given trimap
(background direction) and once with the automatic trimap (foreground direction). Values are stored as
multiples of 1/1023 (trimaps as 0/128/255).
"""

import sys

import numpy as np
from PIL import Image

from hamagan import HaMaGANPipeline
from hamagan.samples import TEST_PORTRAITS, background_paths, portrait_paths
from hamagan.trimap import trimap_from_alpha

SIZE = (192, 128)
MATTING_MAX_SIDE = 96


def main(out: str) -> None:
    pipe = HaMaGANPipeline.from_pretrained()
    pipe.matting_bf16 = False
    pipe.config.matting_max_side = MATTING_MAX_SIDE
    image_path, alpha_path = portrait_paths(TEST_PORTRAITS[1])
    image = Image.open(image_path).convert("RGB").resize(SIZE, Image.BICUBIC)
    alpha = np.asarray(Image.open(alpha_path).convert("L").resize(SIZE, Image.BICUBIC), np.float32) / 255
    background = Image.open(background_paths()[3]).convert("RGB")
    arrays = {}
    for name, trimap, direction in (("given", trimap_from_alpha(alpha, 4), "background"),
                                    ("auto", None, "foreground")):
        output = pipe(image, trimap, background=background, direction=direction)
        for field in ("alpha", "trimap", "foreground", "harmonized"):
            value = getattr(output, field)
            arrays[f"{name}_{field}"] = (np.round(value * 255).astype(np.uint8) if field == "trimap"
                                         else np.round(value * 1023).astype(np.uint16))
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
