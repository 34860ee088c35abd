"""Training: the trainer, its data, validation and checkpoints, and one step function per stage (matting,
harmonization, joint). Needs the [train] extra."""

from hamagan.extras import require

require("train", "hamagan.training")
