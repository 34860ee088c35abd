#!/usr/bin/env bash
# One training run of the default model on a lent GPU machine (train/configs/trials/default-gpu-v3.yaml), as one
# script: that machine starts bare, gives a few minutes, and returns at most 8 files of 16 MiB from $OUT.
#   bash train/lent_gpu_run.sh        # from the repository root; OUT defaults to runs/gpu-out
# If the image lacks `datasets`, wheels in .whl/ (git-ignored; carry it) are installed first. Fetch them with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp -d .whl \
#       datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 fsspec==2026.9.0
# Steps: build the two HMH datasets, time the pipeline on the GPU, train (stopped by SIGTERM so that the
# whole script ends within BUDGET_SECONDS: the stage in progress is then exported as RUN/interrupted), then
# write each trained generator (and G_m at MATTING_CHECKPOINTS' steps) as its own safetensors file
# (train/extract_generators.py), and the logs as one archive.
set -uo pipefail
OUT=${OUT:-runs/gpu-out}
BUDGET_SECONDS=${BUDGET_SECONDS:-570}  # the whole script; training stops 45 s before its end
began=$(date +%s)
CONFIG=${CONFIG:-train/configs/trials/default-gpu-v3.yaml}
RUN=$(python3 -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['output_dir'])" "$CONFIG")
MATTING_CHECKPOINTS=${MATTING_CHECKPOINTS:-}  # G_m at these steps too ("1600 1800" for default-gpu.yaml)
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
# One portrait per shard, so that the portraits are built in parallel (the same rows: the alpha digests printed
# below matched a default build on the lent machine); a folder already built (README, earlier call) is kept.
[ -f data/hmh-background/build_report.json ] || python3 -m hamagan.cli dataset build bundled data/hmh-background \
    --size 512 --keep-aspect --variants 6 --format parquet --num-proc 15 --shard-size 1 || exit 1
[ -f data/hmh-foreground/build_report.json ] || python3 -m hamagan.cli dataset build bundled data/hmh-foreground \
    --size 512 --keep-aspect --variants 4 --perturb foreground --format parquet --num-proc 15 --shard-size 1 || exit 1
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
python3 -m accelerate.commands.launch --num_processes 1 --num_machines 1 --mixed_precision bf16 \
    --dynamo_backend no train/train.py --config "$CONFIG" &
launcher=$!
# At the deadline, SIGTERM to the training process itself (the one-process launcher does not pass it on):
# it finishes its step, saves a checkpoint, exports RUN/interrupted and exits.
# Only the launcher's own child is signalled: a pattern would also stop other training runs on the machine.
while kill -0 "$launcher" 2>/dev/null && (( $(date +%s) < began + BUDGET_SECONDS - 45 )); do sleep 2; done
trainer=$(pgrep -P "$launcher")
if [ -n "$trainer" ]; then
    kill -TERM $trainer
    for _ in $(seq 15); do kill -0 $trainer 2>/dev/null || break; sleep 2; done
    kill -KILL $trainer 2>/dev/null
fi
wait "$launcher"
echo "training exited with $? after $(( $(date +%s) - start )) s"

python3 train/extract_generators.py "$CONFIG" "$OUT" $MATTING_CHECKPOINTS
tar czf "$OUT/run.tar.gz" --exclude="$RUN/checkpoints" --exclude="*.safetensors" "$RUN"
ls -la "$OUT"
