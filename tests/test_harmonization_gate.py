"""The harmonization gate: the size of G_h's change and the share of it that applies."""

from __future__ import annotations

import pytest
import torch

from hamagan import HaMaGANConfig
from hamagan.harmonization_gate import change_share, change_size, gate_note


def test_change_size_is_the_rms_on_0_255_where_the_layer_shows() -> None:
    adjusted = torch.full((1, 3, 4, 4), 0.5)
    harmonized = adjusted.clone()
    harmonized[..., :2] += 10 / 255  # the left half moves by 10 levels, the right half not at all
    coverage = torch.zeros(1, 1, 4, 4)
    coverage[..., :2] = 1.0
    assert change_size(adjusted, harmonized, coverage).tolist() == pytest.approx([10], rel=1e-4)
    coverage[..., 2:] = 1.0  # half of the covered pixels now do not move
    assert change_size(adjusted, harmonized, coverage).tolist() == pytest.approx([10 / 2**0.5], rel=1e-4)
    coverage[...] = 0.0
    assert change_size(adjusted, harmonized, coverage).tolist() == [0.0]


def test_each_image_of_a_batch_has_its_own_size_and_note() -> None:
    adjusted = torch.full((2, 3, 4, 4), 0.5)
    harmonized = adjusted.clone()
    harmonized[1] += 40 / 255  # the second image moves a lot, the first not at all
    size = change_size(adjusted, harmonized, torch.ones(2, 1, 4, 4))
    assert size.tolist() == pytest.approx([0, 40], abs=1e-3)
    share = change_share(size, 20.0, 30.0)
    assert share.tolist() == [0.0, 1.0]
    assert gate_note(size, share) == ("image 0: the harmonizer's change was small (0 of 255): "
                                      "the composite is left as it is")
    assert gate_note(size[1:], share[1:]) == ""


@pytest.mark.parametrize(("size", "share"),
                         [(0.0, 0.0), (19.9, 0.0), (20.0, 0.0), (25.0, 0.5), (30.0, 1.0), (80.0, 1.0)])
def test_change_share_ramps_from_keep_below_to_full_from(size: float, share: float) -> None:
    assert change_share(torch.tensor([size]), 20.0, 30.0).item() == pytest.approx(share)


def test_equal_bounds_make_a_step() -> None:
    assert change_share(torch.tensor([9.99, 10.0]), 10.0, 10.0).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("gate", [(30.0, 20.0), (-1.0, 5.0), (1.0, 2.0, 3.0)])
def test_a_bad_gate_is_refused(gate: tuple) -> None:
    with pytest.raises(ValueError, match="harmonize_gate"):
        HaMaGANConfig(harmonize_gate=gate)


def test_the_gate_comes_back_from_json_as_a_pair() -> None:
    assert HaMaGANConfig(harmonize_gate=[20, 30]).harmonize_gate == (20.0, 30.0)
