"""The HMH dataset: portrait sources, the row builder, the Hub dataset card."""
