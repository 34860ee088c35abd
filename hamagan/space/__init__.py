"""The HaMaGAN Space: compose a portrait on a new background, and a crowd MOS study of harmonization. Needs the
[space] extra."""

from hamagan.extras import require

require("space", "the HaMaGAN Space")
