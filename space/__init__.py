"""The HaMaGAN Space: compose a portrait on a new background, and a crowd MOS study of harmonization."""
