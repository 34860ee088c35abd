"""Training: losses, data, and one step function per stage (matting, harmonization, joint)."""
