"""The codelab's label_image: label one image with a retrained frozen graph, and read a
graph's input layer (name, height, width) off the graph itself (question 13)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..data.images import decode_problem, load_rgb
from ..errors import HomeworkError
from ..resources import release_memory


@dataclass(frozen=True)
class InputLayer:
    name: str
    height: int
    width: int


@dataclass(frozen=True)
class Labelled:
    top: List[Tuple[str, float]]
    seconds: float
    input_layer: InputLayer


def read_graph_def(path):
    from ..compat import v1

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HomeworkError(f"{path}: cannot read graph ({exc.strerror})") from exc
    graph_def = v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception as exc:
        raise HomeworkError(f"{path}: not a TensorFlow GraphDef (.pb)") from exc
    if not graph_def.node:
        raise HomeworkError(f"{path}: empty graph")
    return graph_def


FLOAT = 1  # DataType DT_FLOAT in the GraphDef protobuf
DECODERS = {"DecodeJpeg", "DecodePng", "DecodeImage", "DecodeBmp", "DecodeGif"}
PREPROCESSING = {"Cast", "ExpandDims", "ResizeBilinear", "ResizeBicubic", "ResizeNearestNeighbor", "Sub", "Mul",
                 "RealDiv", "Div", "Identity", "Squeeze"}
RESIZES = {"ResizeBilinear", "ResizeBicubic", "ResizeNearestNeighbor"}


def inspect_input(graph_def, output_layer: str = "") -> InputLayer:
    """The image input read off the GraphDef alone (no registry, no TensorFlow import): a float
    placeholder [batch, height, width, 3] with a known height and width that the output depends
    on; else, in a graph that takes encoded image bytes (the codelab's Inception v3), the op at
    the end of the decode -> cast -> resize -> normalise path, i.e. the tensor the network
    proper reads, with the height and width its resize produces."""
    nodes = {node.name: node for node in graph_def.node}
    upstream = _ancestors(nodes, output_layer) if output_layer in nodes else set(nodes)
    for node in graph_def.node:
        if node.op == "Placeholder" and node.name in upstream and node.attr["dtype"].type == FLOAT:
            dims = [d.size for d in node.attr["shape"].shape.dim]
            if len(dims) == 4 and dims[3] == 3 and dims[1] > 0 and dims[2] > 0:
                return InputLayer(node.name, int(dims[1]), int(dims[2]))
    consumers: Dict[str, list] = {}
    for node in graph_def.node:
        for name in node.input:
            consumers.setdefault(_node_name(name), []).append(node)
    for node in graph_def.node:
        if node.op in DECODERS and node.name in upstream:
            end, size = node, None
            while len(consumers.get(end.name, [])) == 1 and consumers[end.name][0].op in PREPROCESSING:
                end = consumers[end.name][0]
                if end.op in RESIZES:
                    size = _int_constant(nodes.get(_node_name(end.input[1])))
            if end is not node and size is not None and len(size) == 2:
                return InputLayer(end.name, int(size[0]), int(size[1]))
    raise HomeworkError("graph has no image input (a float [batch, height, width, 3] placeholder, or a decode and resize path)")


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _ancestors(nodes: dict, name: str) -> set:
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in nodes:
            continue
        seen.add(current)
        todo += [_node_name(i) for i in nodes[current].input]
    return seen


def _int_constant(node) -> Optional[List[int]]:
    if node is None or node.op != "Const":
        return None
    tensor = node.attr["value"].tensor
    if tensor.int_val:
        return list(tensor.int_val)
    return np.frombuffer(tensor.tensor_content, "<i4").tolist() if tensor.tensor_content else None


def label_image(
    graph: str,
    labels: str,
    image: str,
    input_layer: str = "input",
    output_layer: str = "final_result",
    input_height: int = 224,
    input_width: int = 224,
    input_mean: float = 128,
    input_std: float = 128,
    top_k: int = 5,
) -> Labelled:
    from ..compat import session_config, tf, v1

    graph_def = read_graph_def(graph)
    expected = inspect_input(graph_def, output_layer)
    try:
        names = [line.strip() for line in Path(labels).read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise HomeworkError(f"{labels}: cannot read labels ({exc.strerror})") from exc
    image_path = Path(image)
    problem = decode_problem(image_path, image_path.read_bytes()) if image_path.is_file() else "no such file"
    if problem:
        raise HomeworkError(f"{image}: {problem}")

    node_names = {node.name for node in graph_def.node}
    if input_layer not in node_names:
        raise HomeworkError(
            f"{graph}: no input layer '{input_layer}' in the graph; it takes '{expected.name}' at "
            f"{expected.height}x{expected.width} (--input_layer={expected.name} --input_height={expected.height} --input_width={expected.width})"
        )
    if output_layer not in node_names:
        raise HomeworkError(f"{graph}: no output layer '{output_layer}' in the graph (--output_layer)")
    if input_layer == expected.name and (input_height, input_width) != (expected.height, expected.width):
        raise HomeworkError(
            f"{graph}: input '{input_layer}' takes {expected.height}x{expected.width} images, not {input_height}x{input_width} "
            f"(--input_height={expected.height} --input_width={expected.width})"
        )

    pixels = load_rgb(image_path, input_height) if input_height == input_width else _load_rect(image_path, input_height, input_width)
    tensor = ((pixels.astype(np.float32) - input_mean) / input_std)[None]
    with tf.Graph().as_default() as g:
        v1.import_graph_def(graph_def, name="import")
        del graph_def  # the graph holds its own copy: Inception v3's 87 MB of weights need not sit here twice
        release_memory()
        input_op = g.get_operation_by_name(f"import/{input_layer}")
        output_op = g.get_operation_by_name(f"import/{output_layer}")
        with v1.Session(graph=g, config=session_config(optimize=False)) as sess:
            started = time.perf_counter()
            try:
                results = sess.run(output_op.outputs[0], {input_op.outputs[0]: tensor})
            except (tf.errors.InvalidArgumentError, ValueError) as exc:
                raise HomeworkError(f"{graph}: '{input_layer}' rejected a {input_height}x{input_width} image; it takes '{expected.name}' at {expected.height}x{expected.width}") from exc
            seconds = time.perf_counter() - started
    release_memory()
    scores = np.squeeze(results)
    if len(names) != len(scores):
        raise HomeworkError(f"{labels}: {len(names)} labels, but the graph outputs {len(scores)} scores")
    order = np.argsort(scores)[::-1][:top_k]
    return Labelled([(names[i], float(scores[i])) for i in order], seconds, expected)


def _load_rect(path: Path, height: int, width: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(load_rgb(path, max(height, width))).resize((width, height), Image.BILINEAR))


def print_result(result: Labelled, echo=print) -> None:
    """As the codelab prints it."""
    echo(f"\nEvaluation time (1-image): {result.seconds:.3f}s\n")
    for label, score in result.top:
        echo(f"{label} (score={score:0.5f})")
