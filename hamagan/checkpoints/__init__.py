"""The bundled default model: ``default/`` holds config.json, model.safetensors and its model card (README.md),
the same folder that ``hamagan push`` uploads. Recipe: ``train/configs/default-cpu.yaml``."""
