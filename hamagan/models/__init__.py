"""The three networks: matting generator, harmonization generator, self-attention critic."""

from hamagan.models.discriminator import SelfAttentionCritic
from hamagan.models.harmonizer import AttentionUNetHarmonizer
from hamagan.models.indexnet import IndexNetMatting

__all__ = ["AttentionUNetHarmonizer", "IndexNetMatting", "SelfAttentionCritic"]
