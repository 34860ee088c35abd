"""The bundled default model: ``default/`` holds config.json, the weights and the model card (README.md, the one
source of the card), the same folder that ``hamagan push`` uploads. ``releases/default.yaml`` says which run
made each network; ``hamagan release`` assembles it."""
