#!/usr/bin/env bash
# One training run of the default model on a lent GPU machine (train/configs/default-gpu.yaml), as one
# script: that machine starts bare, gives a few minutes, and returns at most 8 files of 16 MiB from $OUT.
#   bash train/lent_gpu_run.sh        # from the repository root; OUT defaults to runs/gpu-out
# If the image lacks `datasets`, wheels in .whl/ (datasets, dill, multiprocess, fsspec) are installed first.
# Steps: build the two HMH datasets, time the pipeline on the GPU, train (cut off so that the whole script
# ends within BUDGET_SECONDS; a stage cut off is not exported), then write each trained generator (and G_m
# at two earlier checkpoints) as its own safetensors file, and the logs as one archive.
set -uo pipefail
OUT=${OUT:-runs/gpu-out}
BUDGET_SECONDS=${BUDGET_SECONDS:-570}  # the whole script; training gets what is left less 30 s for the export
began=$(date +%s)
CONFIG=${CONFIG:-train/configs/default-gpu.yaml}
RUN=$(python3 -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['output_dir'])" "$CONFIG")
MATTING_CHECKPOINTS=${MATTING_CHECKPOINTS:-1600 1800}
mkdir -p "$OUT" "$RUN"
exec > >(tee "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH=$PWD
if [ -d .whl ] && ! python3 -c "import datasets" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH=$PWD:/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
nproc
python3 -c "import torch, datasets, accelerate, huggingface_hub, cv2, pyarrow; print('torch', torch.__version__, \
'datasets', datasets.__version__, 'accelerate', accelerate.__version__, 'hub', huggingface_hub.__version__, \
'cv2', cv2.__version__, 'pyarrow', pyarrow.__version__)" || exit 1

start=$(date +%s)
python3 -m hamagan.cli dataset build bundled data/hmh-background --size 512 --keep-aspect --variants 6 \
    --format parquet --num-proc 15 --shard-size 1 || exit 1
python3 -m hamagan.cli dataset build bundled data/hmh-foreground --size 512 --keep-aspect --variants 4 \
    --perturb foreground --format parquet --num-proc 15 --shard-size 1 || exit 1
echo "datasets built in $(( $(date +%s) - start )) s"
python3 - <<'EOF' | tee "$RUN/dataset_check.txt"
import hashlib
import numpy as np
from hamagan.training.rows import load_rows
for source in ("data/hmh-background", "data/hmh-foreground"):
    for split in ("train", "validation", "test"):
        rows = load_rows(source, split)
        digest = hashlib.sha256(b"".join(np.asarray(r["alpha"]).tobytes() for r in rows)).hexdigest()[:16]
        print(source, split, len(rows), "rows, alpha digest", digest)
EOF

python3 benchmarks/gpu_latency.py | tee "$RUN/gpu_latency.txt"

start=$(date +%s)
timeout -k 5 $(( BUDGET_SECONDS - (start - began) - 30 )) python3 -m accelerate.commands.launch --num_processes 1 --num_machines 1 --mixed_precision bf16 \
    --dynamo_backend no train/train.py --config "$CONFIG"
echo "training exited with $? after $(( $(date +%s) - start )) s"
pkill -f train/train.py && sleep 2  # a launcher stopped by the timeout may leave its child running

python3 - "$RUN" "$OUT" $MATTING_CHECKPOINTS <<'EOF'
import sys
from pathlib import Path
from safetensors.torch import load_file, save_file
run, out = Path(sys.argv[1]), Path(sys.argv[2])
prefixes = {"0-matting": "matting.", "1-harmonization-background": "harmonizers.background.",
            "2-harmonization-foreground": "harmonizers.foreground."}
for stage, prefix in prefixes.items():
    found = sorted((run / "stages").glob(f"{stage}*/model.safetensors"))
    if found:
        tensors = {k: v for k, v in load_file(found[0]).items() if k.startswith(prefix)}
        save_file(tensors, out / f"{stage}.safetensors")
        print("exported", found[0].parent.name, len(tensors), "tensors")
for step in map(int, sys.argv[3:]):  # G_m (the first prepared model) at checkpoints before the stage's end
    path = run / "checkpoints" / f"step-{step:07d}" / "model.safetensors"
    if path.exists():
        save_file({f"matting.{k}": v for k, v in load_file(path).items()}, out / f"matting-step-{step}.safetensors")
        print("exported", path)
EOF
tar czf "$OUT/run.tar.gz" --exclude="$RUN/checkpoints" --exclude="*.safetensors" "$RUN"
ls -la "$OUT"
