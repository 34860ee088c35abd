"""Hugging Face Space entry point: `python app.py` serves the HaMaGAN app on the bundled model.

Options come from the environment: HAMAGAN_HOST, HAMAGAN_PORT, HAMAGAN_DATABASE (SQLite ratings),
HAMAGAN_CHECKPOINT (folder or Hub repo id), HAMAGAN_STUDY (study folder); HAMAGAN_RATINGS_REPO and
HF_TOKEN together turn on the ratings' Hub sync. `hamagan space --help` takes the same as flags.
"""

import os

from space.app import launch

if __name__ == "__main__":
    launch(host=os.environ.get("HAMAGAN_HOST", "0.0.0.0" if os.environ.get("SPACE_ID") else "127.0.0.1"),
           port=int(os.environ.get("HAMAGAN_PORT", "7860")), database=os.environ.get("HAMAGAN_DATABASE"),
           checkpoint=os.environ.get("HAMAGAN_CHECKPOINT"), study=os.environ.get("HAMAGAN_STUDY"))
