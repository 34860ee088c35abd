"""HaMaGANPipeline: portrait matting (G_m) and harmonization (G_h) in one Hub-ready module.

Ren, Liu, Song, "A Generative Adversarial Framework for Optimizing Image Matting and Harmonization
Simultaneously" (https://arxiv.org/abs/2108.06087). The critic D trains the generators and never ships here.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError
from PIL import Image
from torch import nn

from hamagan.compose import (
    apply_local_affine,
    composite,
    estimate_foreground,
    fit_background,
    fit_local_affine,
    fit_size,
    guided_upsample,
    pad_to_multiple,
    resize,
    resize_trimap,
)
from hamagan.data import hmh
from hamagan.hardware import bf16_is_fast
from hamagan.harmonization_gate import change_share, change_size, gate_note
from hamagan.images import ImageInput, array_to_tensor, load_image, tensor_to_array, to_pil
from hamagan.models.colour_statistics import ColourStatisticsCorrector
from hamagan.models.fusion import InferenceCopy
from hamagan.models.harmonizer import AttentionUNetHarmonizer, apply_color_transform
from hamagan.models.indexnet import IndexNetMatting, matting_input, paste_known, snap_certain, unknown_mask
from hamagan.refinement import (
    MAX_ITERATIONS,
    TOLERANCE,
    band_width,
    confidence_weight,
    edge_width_ratio,
    network_confidence,
    refine_alpha,
)
from hamagan.segmentation import KEEP_CHOICES
from hamagan.trimap import auto_trimap, load_trimap, tightened_trimap
from hamagan.weights import WEIGHTS_NAME, load_pipeline_tensors, save_network, split_networks

Direction = Literal["background", "foreground"]
DIRECTIONS: tuple[str, ...] = ("background", "foreground")
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "default"
REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


@dataclass
class MattingConfig:
    """IndexNetMatting's arguments; the defaults are the paper's model (8.15 M parameters)."""

    width_mult: float = 1.0
    decoder_kernel_size: int = 5
    many_to_one: bool = True
    nonlinear_index: bool = True
    context_index: bool = True
    index_expansion: int = 2
    aspp: bool = True


@dataclass
class HarmonizerConfig:
    """AttentionUNetHarmonizer's arguments; the defaults are DoveNet's generator (54.76 M parameters)."""

    base_channels: int = 64
    num_downs: int = 8
    attention_levels: int = 3
    dropout: float = 0.5
    residual: bool = False
    transform_grid: int = 0
    masked_pooling: bool = False
    layer_statistics: bool = False


@dataclass
class HaMaGANConfig:
    """The pipeline's configuration, stored as config.json next to the weights.

    Attributes:
        matting: G_m's architecture.
        harmonizer: the architecture of each G_h.
        directions: which harmonizers the checkpoint holds: "background" adjusts the background to the
            portrait (the paper), "foreground" the portrait to the background (paper Fig. 6); each has
            its own weights.
        matting_max_side: images whose long side is larger run G_m at this size; the alpha is then
            refined against the full-resolution image.
        matting_flip: average G_m's alpha with its alpha of the mirrored image, mirrored back (test-time flip;
            twice G_m's time).
        matting_band_width: G_m runs on each image shrunk so that its trimap's unknown band is at most this
            many pixels wide (mean width, :func:`hamagan.refinement.band_width`), and its alpha is enlarged back
            to the working size, where the refinement draws the edge: G_m learned bands up to about 30 px wide
            and errs inside wider ones (``benchmarks/matting_scale.txt``). None: G_m at the working size.
        matting_bf16_snap: where G_m runs in bf16, its alpha within this of 0 or 1 is set to 0 or 1: the ReLU6 of
            G_m's head clips its inputs, rounded upstream, at the ceiling and pulls the alpha of sure foreground
            about 0.003 below 1 over half of a portrait's band (benchmarks/README.md, "G_m in bf16"); 1/128 is two
            of bf16's steps below 1. 0, and in float32: G_m's alpha as it is.
        harmonize_size: G_h runs on a square of this side (a multiple of 2 ** num_downs), as trained.
        foreground_method: "blur_fusion" (fast) or "ml" (pymatting's multi-level estimate).
        refine_matting: refine G_m's alpha inside the unknown region by the confidence-weighted matting
            Laplacian (``hamagan.refinement``) by default; a call's ``refine`` overrides it.
        refine_from_band: with ``refine_matting`` off, refine the whole band anyway where the caller's trimap has
            an unknown band at least this wide (pixels at G_m's working size, ``hamagan.refinement.band_width``):
            G_m alone is weakest in wide bands. Automatic trimaps are not refined by it (their band holds other
            people and clutter, where refining spreads haze). None: never.
        refine_below_confidence: with ``refine_matting`` off, refine a given trimap's alpha anyway where G_m's
            mean confidence ``(2 alpha - 1)^2`` over its band is below this, whatever the band's width (hair,
            fur, smoke G_m is unsure of). None: never.
        refine_soft_edge: with ``refine_matting`` off, refine a given trimap's whole band anyway, at
            ``refinement_weight_unsure``, where the image's edge is at least this many times as wide as G_m's
            (:func:`hamagan.refinement.edge_width_ratio`): a motion-blurred or defocused edge that G_m cut hard,
            sure of itself, where the colour-line model draws the ramp. None: never.
        refinement_weight: that refinement's pull towards G_m's confident values (mu).
        refinement_weight_unsure: mu for an image whose band G_m is unsure of as a whole (mean confidence
            ``(2 alpha - 1)^2`` over the band below ``refinement_confidence[0]``), log-linear up to
            ``refinement_weight`` at ``refinement_confidence[1]`` (:func:`hamagan.refinement.confidence_weight`):
            on hair, fur and smoke the colour-line model alone does better than G_m's prior. None: always
            ``refinement_weight``.
        refinement_confidence: (low, high), the mean confidences between which mu moves.
        refinement_tolerance, refinement_iterations: the refinement's conjugate-gradient solve stops at this
            relative residual or after this many steps (:func:`hamagan.refinement.refine_alpha`). 500 steps stop
            short of the solution in wide bands; solved fully, strands improve and smoke gets worse
            (``benchmarks/matting_solver.txt``).
        refine_edge: where no rule above refines the whole band (an automatic trimap's: only
            ``refine_matting``), refine G_m's alpha by the matting Laplacian in the band of this share of G_m's
            working size's long side around where its alpha is soft, and round it elsewhere in the band
            (:func:`hamagan.trimap.tightened_trimap`): G_m places the edge, the colour-line model draws it. mu
            follows G_m's confidence over that band, as for a whole band. None: G_m's alpha as it is there.
        harmonize_gate: (keep_below, full_from): where G_h's change to the adjusted layer (root mean square on
            0..255 over where that layer shows, :mod:`hamagan.harmonization_gate`) is below ``keep_below``,
            the composite is left as it is; from ``full_from`` the whole change applies; linearly in between.
            Chosen per model, on held-out composites. None: always the whole change.
        colour_statistics: the directions whose G_h's colour map is corrected by an MLP on the two layers' colour
            statistics (:mod:`hamagan.models.colour_statistics`, in ``statistics_<direction>/``; needs
            ``transform_grid`` harmonizers).
    """

    matting: MattingConfig = field(default_factory=MattingConfig)
    harmonizer: HarmonizerConfig = field(default_factory=HarmonizerConfig)
    directions: list[str] = field(default_factory=lambda: list(DIRECTIONS))
    matting_max_side: int = 1024
    matting_flip: bool = False
    matting_band_width: float | None = None
    matting_bf16_snap: float = 0.0
    harmonize_size: int = 256
    foreground_method: str = "blur_fusion"
    refine_matting: bool = False
    refine_from_band: float | None = None
    refine_below_confidence: float | None = None
    refine_soft_edge: float | None = None
    refinement_weight: float = 0.1
    refinement_weight_unsure: float | None = None
    refinement_confidence: tuple[float, float] = (0.8, 0.85)
    refinement_tolerance: float = TOLERANCE
    refinement_iterations: int = MAX_ITERATIONS
    refine_edge: float | None = None
    harmonize_gate: tuple[float, float] | None = None
    colour_statistics: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        span = self.refinement_confidence = tuple(float(v) for v in self.refinement_confidence)
        if len(span) != 2 or not 0 <= span[0] <= span[1]:
            raise ValueError(f"refinement_confidence must be (low, high) with 0 <= low <= high, got {span}")
        unsure = self.refinement_weight_unsure
        if self.refinement_weight <= 0 or (unsure is not None and unsure <= 0):
            raise ValueError("refinement weights must be positive")
        if self.refinement_tolerance <= 0 or self.refinement_iterations < 1:
            raise ValueError("the refinement's tolerance and iterations must be positive, got "
                             f"{self.refinement_tolerance} and {self.refinement_iterations}")
        if self.matting_band_width is not None and self.matting_band_width <= 0:
            raise ValueError(f"matting_band_width must be positive or None, got {self.matting_band_width}")
        if not 0 <= self.matting_bf16_snap < 0.5:
            raise ValueError(f"matting_bf16_snap must be in [0, 0.5), got {self.matting_bf16_snap}")
        if self.refine_edge is not None and self.refine_edge <= 0:
            raise ValueError(f"refine_edge must be positive or None, got {self.refine_edge}")
        if self.refine_soft_edge is not None and self.refine_soft_edge <= 0:
            raise ValueError(f"refine_soft_edge must be positive or None, got {self.refine_soft_edge}")
        if self.harmonize_gate is not None:
            self.harmonize_gate = tuple(float(v) for v in self.harmonize_gate)
            if len(self.harmonize_gate) != 2 or not 0 <= self.harmonize_gate[0] <= self.harmonize_gate[1]:
                raise ValueError(f"harmonize_gate must be (keep_below, full_from) with 0 <= keep_below <= full_from, "
                                 f"got {self.harmonize_gate}")
        if isinstance(self.matting, dict):
            self.matting = MattingConfig(**self.matting)
        if isinstance(self.harmonizer, dict):
            self.harmonizer = HarmonizerConfig(**self.harmonizer)
        self.directions = list(self.directions)
        unknown = set(self.directions) - set(DIRECTIONS)
        if unknown or not self.directions:
            raise ValueError(f"directions must be a non-empty subset of {DIRECTIONS}, got {self.directions}")
        stride = 2 ** self.harmonizer.num_downs
        if self.harmonize_size % stride:
            raise ValueError(f"harmonize_size {self.harmonize_size} must be a multiple of {stride}")
        self.colour_statistics = list(self.colour_statistics)
        if not set(self.colour_statistics) <= set(self.directions):
            raise ValueError(f"colour_statistics must name some of the directions {self.directions}, "
                             f"got {self.colour_statistics}")
        if self.colour_statistics and self.harmonizer.transform_grid != 1:
            raise ValueError("colour_statistics corrects one colour map per image: it needs transform_grid=1")


@dataclass
class HaMaGANOutput:
    """What the pipeline returns, every field at the input's full resolution.

    Arrays are float32 in [0, 1] (HxW for alpha and trimap, HxWx3 for images), or PIL images with
    ``output_type="pil"``. ``composite`` and ``harmonized`` are None when no background was given.
    ``message`` says what the automatic trimap found when none was given, or that a given trimap's wide band
    had the matte refined by default; ``seconds``, how long each stage of the call took (keys from ``STAGES``,
    in order).
    """

    alpha: np.ndarray | Image.Image
    trimap: np.ndarray | Image.Image
    foreground: np.ndarray | Image.Image
    composite: np.ndarray | Image.Image | None = None
    harmonized: np.ndarray | Image.Image | None = None
    message: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


STAGES = ("load", "trimap", "matting", "foreground", "background", "harmonization", "output")


class StageClock:
    """Times the named stages of one call and announces each as it starts (``on_stage``, for progress bars);
    on a GPU it waits for the device at each stage's end, so a stage's seconds are its own."""

    def __init__(self, on_stage: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self._on_stage = on_stage

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self._on_stage is not None:
            self._on_stage(stage)
        start = time.perf_counter()
        yield
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
        self.seconds[stage] = time.perf_counter() - start


@dataclass(frozen=True)
class Refinement:
    """How one image's alpha is refined: the trimap whose unknown pixels are solved for (its known ones then
    taken as they are), mu, and whether that is the caller's whole band or the band around G_m's edge."""

    trimap: np.ndarray
    weight: float
    whole_band: bool


def mirror_averaged(network: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """``network``'s output averaged with its output for the mirrored ``batch``, mirrored back (one call)."""
    both = network(torch.cat([batch, batch.flip(-1)]))
    return (both[:len(batch)] + both[len(batch):].flip(-1)) / 2


def check_strength(strength: float) -> None:
    """Refuse a harmonization strength outside [0, 1] (NaN included)."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength!r}")


class ModelNotFoundError(FileNotFoundError):
    """A checkpoint that is neither a local folder nor a reachable (or cached) Hub repository."""


class HaMaGANPipeline(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="hamagan",
    tags=["image-matting", "image-harmonization", "portrait"],
    paper_url="https://arxiv.org/abs/2108.06087",
    license="mit",
):
    """Matting generator and one harmonization generator per direction, under one config."""

    def __init__(self, config: HaMaGANConfig | dict | None = None) -> None:
        super().__init__()
        self.config = HaMaGANConfig(**config) if isinstance(config, dict) else (config or HaMaGANConfig())
        # What save_pretrained writes as config.json: the whole resolved config, also when none was given (the
        # mixin only records arguments that were passed, so a default pipeline would save no config at all).
        self._hub_mixin_config = self.config
        self.matting = IndexNetMatting(**asdict(self.config.matting))
        self.harmonizers = nn.ModuleDict(
            {d: AttentionUNetHarmonizer(**asdict(self.config.harmonizer)) for d in self.config.directions})
        self.statistics = nn.ModuleDict({d: ColourStatisticsCorrector() for d in self.config.colour_statistics})
        self.eval()
        # G_m in bf16: None (the default) uses it where it runs in hardware (bf16_is_fast: CPUs with
        # AVX512-BF16 or AMX, recent GPUs), about 1.7x faster there, SAD within 0.3% of float32's
        # (benchmarks/pipeline_latency.py, benchmarks/matting_speed.py); True or False forces it on or off.
        self.matting_bf16: bool | None = None
        # G_m as run for inference: batch norm folded, ReLU6 fused, index blocks interleaved, channels-last,
        # in the dtype asked for; rebuilt when its weights change (models/fusion.py).
        self._matting_for_inference = InferenceCopy()

    # -- loading: strict and safetensors-only -------------------------------------------------------

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike | None = None,
                        **kwargs) -> HaMaGANPipeline:
        """Load from a local folder or a Hub repo id (the Hub cache is used offline with HF_HUB_OFFLINE=1);
        with no argument, the default model bundled with the package.

        Weights load strictly from safetensors files (one folder per network, or an older checkpoint's single
        ``model.safetensors``); pickled ``.bin`` files are never read.

        Raises:
            ModelNotFoundError: the folder or repository (or its weights) cannot be found.
        """
        if pretrained_model_name_or_path is None:
            if not (DEFAULT_CHECKPOINT / "config.json").is_file():
                raise ModelNotFoundError(f"the bundled default model is missing from {DEFAULT_CHECKPOINT}; "
                                         "reinstall hamagan or pass a checkpoint folder or repo id")
            pretrained_model_name_or_path = DEFAULT_CHECKPOINT
        name = str(pretrained_model_name_or_path)
        if os.path.isdir(name) and not os.path.isfile(os.path.join(name, "config.json")):
            raise ModelNotFoundError(f"{name}: the folder has no config.json; is it a HaMaGAN checkpoint?")
        looks_like_repo_id = isinstance(pretrained_model_name_or_path, str) and REPO_ID.fullmatch(name)
        if not os.path.isdir(name) and not looks_like_repo_id:
            raise ModelNotFoundError(f"{name}: no such checkpoint folder")
        try:
            return super().from_pretrained(name, **kwargs)
        except (LocalEntryNotFoundError, EntryNotFoundError, HfHubHTTPError, OSError) as exc:
            if isinstance(exc, ModelNotFoundError):
                raise
            raise ModelNotFoundError(
                f"{name}: cannot load this checkpoint: not a local folder, and the Hub repository is not in "
                f"the local cache or cannot be reached ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision: str | None, cache_dir: str | Path | None,
                         force_download: bool, local_files_only: bool, token: str | bool | None,
                         map_location: str = "cpu", strict: bool = True, **model_kwargs) -> HaMaGANPipeline:
        model = cls(**model_kwargs)

        def fetch(filename: str) -> str:
            if not os.path.isdir(model_id):
                return hf_hub_download(repo_id=model_id, filename=filename, revision=revision, cache_dir=cache_dir,
                                       force_download=force_download, token=token, local_files_only=local_files_only)
            path = os.path.join(model_id, filename)
            if not os.path.isfile(path):
                raise ModelNotFoundError(f"{model_id}: no {filename} in the folder")
            return path

        tensors = load_pipeline_tensors(fetch, model.config.directions, model.config.colour_statistics)
        for direction in model.config.colour_statistics:  # each correction as wide as its stored weights
            first_layer = tensors.get(f"statistics.{direction}.net.0.weight")
            if first_layer is not None:
                model.statistics[direction] = ColourStatisticsCorrector.for_weights(first_layer)
        model.load_state_dict(tensors, strict=True)
        model.to(map_location).eval()
        return model

    def _save_pretrained(self, save_directory: Path) -> None:
        """One folder per network (config.json and model.safetensors); the pipeline's config.json beside them."""
        (save_directory / WEIGHTS_NAME).unlink(missing_ok=True)  # an older layout's file would shadow nothing
        configs = {"matting": asdict(self.config.matting),
                   **{f"harmonizer_{d}": asdict(self.config.harmonizer) for d in self.config.directions},
                   **{f"statistics_{d}": c.config for d, c in self.statistics.items()}}
        for folder, tensors in split_networks(self.state_dict(), self.config.directions).items():
            save_network(tensors, configs[folder], save_directory / folder)

    # -- inference -----------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def matte(self, image: torch.Tensor, trimap: torch.Tensor, refine: bool | None = None) -> torch.Tensor:
        """Alpha (1, 1, H, W) at the image's full resolution for a [0, 1] image and its trimap.

        Images whose long side exceeds ``matting_max_side`` run G_m at that size; the alpha is then
        carried back as a local affine function of the full-resolution colours (guided upsampling), and
        the trimap's known regions are pasted back at full resolution, so edges follow the real image
        rather than an enlarged low-resolution matte. ``refine`` refines G_m's alpha at its own size by the
        confidence-weighted matting Laplacian; by default (None) as the config's ``refine_matting``,
        ``refine_from_band``, ``refine_below_confidence`` and ``refine_edge`` say, image by image.
        """
        return self._matte(image, trimap, refine)[0]

    def _matte(self, image: torch.Tensor, trimap: torch.Tensor, refine: bool | None,
               automatic: bool = False) -> tuple[torch.Tensor, bool]:
        """:meth:`matte`'s alpha, and whether the config's rules refined any image's whole band (``automatic``:
        the trimap is the person finder's)."""
        if not unknown_mask(trimap).any():  # nothing to solve (no person found): the trimap is the alpha
            return paste_known(torch.zeros_like(trimap), trimap), False
        full = tuple(image.shape[2:])
        size = fit_size(*full, self.config.matting_max_side)
        small_image, small_trimap = resize(image, size), resize_trimap(trimap, size)
        alpha = self._network_alpha(small_image, small_trimap)
        plans = [self._refinement(i, t, a, refine, automatic)
                 for i, t, a in zip(small_image, small_trimap, alpha, strict=True)]
        if any(plan is not None for plan in plans):
            alpha = self._refine(small_image, alpha, plans)
        if size != full:
            alpha = guided_upsample(small_image, alpha, image, radius=1, eps=1e-4)
        return paste_known(alpha, trimap), any(plan is not None and plan.whole_band for plan in plans)

    def _network_alpha(self, image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        """G_m's alpha (flipped as the config says) for an image and trimap at its working size, known pixels
        pasted; each image shrunk first as ``matting_band_width`` says."""
        widest = self.config.matting_band_width
        if widest is None:
            return self._network_pass(image, trimap)
        alphas = []
        for one_image, one_trimap in zip(image.split(1), trimap.split(1), strict=True):
            width = band_width(tensor_to_array(one_trimap.cpu()))
            if width <= widest:
                alphas.append(self._network_pass(one_image, one_trimap))
                continue
            full = tuple(one_image.shape[2:])
            size = (max(1, round(full[0] * widest / width)), max(1, round(full[1] * widest / width)))
            alpha = self._network_pass(resize(one_image, size), resize_trimap(one_trimap, size))
            alphas.append(paste_known(resize(alpha, full), one_trimap))
        return torch.cat(alphas)

    def _network_pass(self, image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        """G_m's alpha (flipped, and snapped in bf16, as the config says) for an image and trimap at their own size,
        known pixels pasted."""
        height, width = image.shape[2:]
        padded_image, _ = pad_to_multiple(image, self.matting.stride)
        padded_trimap, _ = pad_to_multiple(trimap, self.matting.stride)
        bf16 = bf16_is_fast(image.device) if self.matting_bf16 is None else self.matting_bf16
        dtype = torch.bfloat16 if bf16 else torch.float32
        network = self._matting_for_inference(self.matting, dtype)
        network_input = matting_input(padded_image, padded_trimap).to(dtype, memory_format=torch.channels_last)
        with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=bf16 and network.training):
            raw = mirror_averaged(network, network_input) if self.config.matting_flip else network(network_input)
        alpha = snap_certain(raw.float(), self.config.matting_bf16_snap) if bf16 else raw.float()
        return paste_known(alpha, padded_trimap)[:, :, :height, :width]

    def _refinement(self, image: torch.Tensor, trimap: torch.Tensor, alpha: torch.Tensor, refine: bool | None,
                    automatic: bool) -> Refinement | None:
        """How to refine one image's alpha (image 3 x H x W, trimap and alpha 1 x H x W, at G_m's working size),
        None to leave it.

        ``refine`` True refines the whole band, False nothing. By default the config's rules refine a given
        trimap's whole band (``refine_matting``, ``refine_from_band``, ``refine_below_confidence``,
        ``refine_soft_edge``; an automatic trimap's only with ``refine_matting``), and otherwise, with
        ``refine_edge``, the band around G_m's edge. mu follows G_m's confidence over the band refined, and is
        ``refinement_weight_unsure`` for a soft edge G_m cut hard."""
        config = self.config
        if refine is False:
            return None
        trimap_array, alpha_array = tensor_to_array(trimap[None].cpu()), tensor_to_array(alpha[None].cpu())
        confidence = network_confidence(alpha_array, trimap_array)
        whole = refine or config.refine_matting or not automatic and (
            (config.refine_from_band is not None and band_width(trimap_array) >= config.refine_from_band)
            or (config.refine_below_confidence is not None and confidence < config.refine_below_confidence))
        if whole:
            return Refinement(trimap_array, self.refinement_weight_for(confidence), whole_band=True)
        if not automatic and config.refine_soft_edge is not None and edge_width_ratio(
                tensor_to_array(image[None].cpu()), alpha_array, trimap_array) >= config.refine_soft_edge:
            return Refinement(trimap_array, self.soft_edge_weight, whole_band=True)
        if config.refine_edge is None:
            return None
        edge = tightened_trimap(trimap_array, alpha_array, config.refine_edge * max(trimap_array.shape))
        return Refinement(edge, self.refinement_weight_for(network_confidence(alpha_array, edge)), whole_band=False)

    def _refine(self, image: torch.Tensor, alpha: torch.Tensor, plans: list[Refinement | None]) -> torch.Tensor:
        """``refine_alpha`` on a batch's images at the tensors' size, each as its plan says (None: left as it is);
        the pixels of the band that a plan's trimap decides take its values."""
        refined = []
        for one_image, one_alpha, plan in zip(image, alpha, plans, strict=True):
            if plan is not None:
                arrays = [tensor_to_array(t[None].cpu()) for t in (one_image, one_alpha)]
                solved = array_to_tensor(refine_alpha(arrays[0], plan.trimap, arrays[1], plan.weight,
                                                      tolerance=self.config.refinement_tolerance,
                                                      max_iterations=self.config.refinement_iterations))
                one_alpha = paste_known(solved, array_to_tensor(plan.trimap))[0].to(one_alpha.device)
            refined.append(one_alpha)
        return torch.stack(refined)

    @property
    def soft_edge_weight(self) -> float:
        """The refinement's mu for a soft edge's whole band (``refine_soft_edge``): the unsure mu, if set."""
        return self.config.refinement_weight_unsure or self.config.refinement_weight

    def refinement_weight_for(self, confidence: float) -> float:
        """The refinement's mu for G_m's mean ``confidence`` over the band
        (:func:`hamagan.refinement.network_confidence`), as the config says."""
        config = self.config
        if config.refinement_weight_unsure is None:
            return config.refinement_weight
        return confidence_weight(confidence, (config.refinement_weight_unsure, config.refinement_weight),
                                 config.refinement_confidence)

    @torch.no_grad()
    def harmonize(self, image: torch.Tensor, alpha: torch.Tensor, direction: str = "background",
                  apply_to: torch.Tensor | None = None) -> torch.Tensor:
        """G_h on a composite (1, 3, H, W) and its alpha, brought back to full resolution.

        G_h runs on a ``harmonize_size`` square; its change is carried back as a colour transform applied at
        full resolution to ``apply_to`` (the composite itself by default), never as a blurred, upsampled
        image: the predicted quadratic map itself for ``transform_grid`` models, otherwise a smooth local
        affine transform (a guided-filter fit of output against input at that size).
        """
        if direction not in self.harmonizers:
            raise ValueError(f"direction {direction!r} is not in this checkpoint (it has {list(self.harmonizers)})")
        side = self.config.harmonize_size
        small_image, small_alpha = resize(image, (side, side)), resize(alpha, (side, side))
        harmonizer = self.harmonizers[direction]
        target = image if apply_to is None else apply_to
        if harmonizer.transform_grid:  # the predicted colour map itself, applied at full resolution
            coefficients, features = harmonizer.color_transform_and_features(small_image, small_alpha)
            if direction in self.statistics:
                correction = self.statistics[direction]
                coefficients = coefficients + correction(small_image, small_alpha,
                                                         features if correction.features else None)
            return apply_color_transform(coefficients, target).clamp(0, 1)
        out = harmonizer(small_image, small_alpha).clamp(0, 1)
        transform = fit_local_affine(small_image, out, radius=max(1, side // 32), eps=1e-3)
        return apply_local_affine(*transform, target).clamp(0, 1)

    @torch.no_grad()
    def harmonize_layers(self, foreground: torch.Tensor, background: torch.Tensor, alpha: torch.Tensor,
                         direction: str = "background", strength: float = 1.0,
                         plain: torch.Tensor | None = None) -> torch.Tensor:
        """Composite two layers and harmonize: the colour change lands on the adjusted layer only (the
        background for ``direction="background"``), the other stays exactly as it was. ``strength`` scales
        that change: 0 leaves the plain composite, 1 (the default) is the model's whole change, less what the
        config's ``harmonize_gate`` holds back. ``plain``, the layers' plain composite when the caller has it
        already, saves computing it again."""
        return self._harmonize_layers(foreground, background, alpha, direction, strength, plain)[0]

    def _harmonize_layers(self, foreground: torch.Tensor, background: torch.Tensor, alpha: torch.Tensor,
                          direction: str, strength: float, plain: torch.Tensor | None) -> tuple[torch.Tensor, str]:
        """:meth:`harmonize_layers`, and what the config's ``harmonize_gate`` held back ("" when nothing)."""
        check_strength(strength)
        plain = composite(foreground, background, alpha) if plain is None else plain
        adjusted = hmh.adjusted_layer(foreground, background, direction)
        harmonized = self.harmonize(plain, alpha, direction, adjusted)
        weight, note = torch.full((len(plain),), float(strength), device=plain.device), ""
        if self.config.harmonize_gate is not None:
            size = change_size(adjusted, harmonized, hmh.adjusted_coverage(alpha, direction))
            share = change_share(size, *self.config.harmonize_gate)
            weight, note = weight * share, gate_note(size, share)
        if bool((weight == 0).all()):
            return plain, note
        if not bool((weight == 1).all()):
            harmonized = torch.lerp(adjusted, harmonized, weight.view(-1, 1, 1, 1).to(harmonized.dtype))
        other = hmh.unadjusted_layer(foreground, background, direction)
        return composite(*hmh.layers_by_direction(harmonized, other, direction), alpha), note

    @torch.no_grad()
    def __call__(self, image: ImageInput, trimap: ImageInput | None = None, background: ImageInput | None = None,
                 direction: str = "background", output_type: Literal["np", "pil"] = "np",
                 strength: float = 1.0, on_stage: Callable[[str], None] | None = None,
                 people: str = "all", refine: bool | None = None) -> HaMaGANOutput:
        """Cut out a portrait and, given a new background, composite and harmonize it.

        Args:
            image: the portrait (path, PIL image, array or tensor), any size and mode.
            trimap: 0/128/255 (or 0/0.5/1) of the image's size: array, PIL image or path; without one, an
                automatic trimap from the person segmenter (a photo with no clear person gets an
                all-background trimap, an empty alpha, a background left as it is, and a ``message``
                saying so).
            background: a new background, fitted to the portrait by scaling to cover and centre-cropping.
            direction: "background" adjusts the background to the portrait (the paper's default),
                "foreground" the portrait to the background.
            output_type: "np" for float arrays in [0, 1], "pil" for 8-bit PIL images.
            strength: how much of the harmonizer's colour change to apply, from 0 (the plain composite) to 1
                (all of it, the default), less what the config's ``harmonize_gate`` holds back (``message``
                says when it does).
            on_stage: called with each stage's name (one of ``STAGES``) as the stage starts, for progress.
            people: with the automatic trimap, "all" cuts out everyone found, "largest" the largest person.
            refine: True refines the whole unknown band by the confidence-weighted matting Laplacian, False
                gives G_m's alpha alone; by default as the config says (``refine_matting``; for a given trimap
                ``refine_from_band`` and ``refine_below_confidence``; elsewhere ``refine_edge``).

        Returns:
            HaMaGANOutput with alpha, trimap, foreground and, with a background, the plain composite and
            the harmonized image, all at the input's full resolution, and the seconds each stage took.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if output_type not in ("np", "pil"):
            raise ValueError(f"output_type must be 'np' or 'pil', got {output_type!r}")
        check_strength(strength)
        if people not in KEEP_CHOICES:
            raise ValueError(f"people must be one of {KEEP_CHOICES}, got {people!r}")
        clock = StageClock(on_stage)
        device = self.device
        # 1. Read the inputs once, at full resolution; a trimap is made when none is given.
        with clock("load"):
            pixels = load_image(image).to(device)
            size = tuple(pixels.shape[2:])
            trimap_t = None if trimap is None else load_trimap(trimap, size=size).to(device)
        message, person_found = "", True
        if trimap_t is None:
            with clock("trimap"):
                automatic = auto_trimap(pixels, people=people)
                trimap_t = array_to_tensor(automatic.trimap).to(device)
                message, person_found = automatic.message, automatic.found
        # 2. Matting, then foreground colours without the old background.
        with clock("matting"):
            alpha, refined = self._matte(pixels, trimap_t, refine, automatic=trimap is None)
        if refined and refine is None and trimap is not None and not self.config.refine_matting:
            message = ("refined the matte by the matting Laplacian: your trimap's unknown band is wide, the network "
                       "was unsure of much of it, or the photo's edge is softer than the network's")
        with clock("foreground"):
            foreground = estimate_foreground(pixels, alpha, self.config.foreground_method)
        result = {"alpha": alpha, "trimap": trimap_t, "foreground": foreground}
        # 3. Composite on the new background and harmonize (a photo with no person is left as it is).
        if background is not None:
            with clock("background"):
                new_background = fit_background(load_image(background).to(device), size)
                plain = composite(foreground, new_background, alpha)
            with clock("harmonization"):
                harmonized = plain
                if person_found:
                    harmonized, note = self._harmonize_layers(foreground, new_background, alpha, direction,
                                                              strength, plain)
                    message = "; ".join(filter(None, [message, note]))
            result.update(composite=plain, harmonized=harmonized)
        # 4. One conversion to the output type.
        with clock("output"):
            arrays = {k: tensor_to_array(v) for k, v in result.items()}
            if output_type == "pil":
                arrays = {k: to_pil(v) for k, v in arrays.items()}
        return HaMaGANOutput(**arrays, message=message, seconds=clock.seconds)
