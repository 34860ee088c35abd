"""The networks: matting generator, harmonization generator and its colour-statistics correction, critic."""

from hamagan.models.colour_statistics import ColourStatisticsCorrector
from hamagan.models.discriminator import SelfAttentionCritic
from hamagan.models.harmonizer import AttentionUNetHarmonizer
from hamagan.models.indexnet import IndexNetMatting

__all__ = ["AttentionUNetHarmonizer", "ColourStatisticsCorrector", "IndexNetMatting", "SelfAttentionCritic"]
