"""Hugging Face Space entry point: `python app.py` serves the HaMaGAN app on the bundled model.

Options come from the environment: HAMAGAN_HOST and HAMAGAN_PORT (or Gradio's GRADIO_SERVER_NAME and
GRADIO_SERVER_PORT), HAMAGAN_DATABASE (SQLite ratings), HAMAGAN_CHECKPOINT (folder or Hub repo id),
HAMAGAN_STUDY (study folder); HAMAGAN_RATINGS_REPO and HF_TOKEN together turn on the ratings' Hub sync.
`hamagan space --help` takes the same as flags.
"""

import os

from hamagan.space.app import launch

if __name__ == "__main__":
    launch(database=os.environ.get("HAMAGAN_DATABASE"), checkpoint=os.environ.get("HAMAGAN_CHECKPOINT"),
           study=os.environ.get("HAMAGAN_STUDY"))
