"""Publishing a checkpoint folder (config.json, model.safetensors, README.md model card) to the Hub."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi

from hamagan.pipeline import WEIGHTS_NAME, HaMaGANPipeline

CHECKPOINT_FILES = ("config.json", WEIGHTS_NAME, "README.md")


def push_checkpoint(folder: Path, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Check that the folder loads strictly, then upload exactly its checkpoint files in one commit."""
    HaMaGANPipeline.from_pretrained(str(folder))
    missing = [name for name in CHECKPOINT_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)}")
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", exist_ok=True, private=private)
    commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                               allow_patterns=list(CHECKPOINT_FILES), commit_message="Upload HaMaGAN weights")
    return str(commit)
