"""Publishing a checkpoint folder (config.json, the weights, README.md model card) to the Hub."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi

from hamagan.pipeline import HaMaGANPipeline
from hamagan.weights import checkpoint_files


def push_checkpoint(folder: Path, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Check that the folder loads strictly, then upload exactly its checkpoint files in one commit."""
    pipeline = HaMaGANPipeline.from_pretrained(str(folder))
    files = checkpoint_files(folder, pipeline.config.directions)
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)}")
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", exist_ok=True, private=private)
    commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                               allow_patterns=files, commit_message="Upload HaMaGAN weights")
    return str(commit)
