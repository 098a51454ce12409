"""The codelab's label_image: label one image with a retrained frozen graph, and read a
graph's input layer (name, height, width) off the graph itself (question 13)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import numpy as np

from ..data.images import decode_problem, load_rgb
from ..errors import HomeworkError


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


def inspect_input(graph_def) -> InputLayer:
    """The image input by inspection: a float placeholder of rank 4 with a known height and
    width, else (the codelab's Inception graph) the rank-4 float op its JPEG path feeds into."""
    from ..compat import tf, v1

    with tf.Graph().as_default() as graph:
        v1.import_graph_def(graph_def, name="")
        candidates = []
        for op in graph.get_operations():
            if not op.outputs:
                continue
            out = op.outputs[0]
            if out.dtype != tf.float32 or out.shape.rank != 4 or None in out.shape.as_list()[1:3] or out.shape[3] != 3:
                continue
            upstream_is_decoder = any(inp.op.type in ("Sub", "ResizeBilinear", "DecodeJpeg", "Cast", "ExpandDims") for inp in op.inputs)
            rank = 0 if op.type == "Placeholder" else 1 if upstream_is_decoder and op.type == "Mul" else None
            if rank is not None:
                candidates.append((rank, op.name, out.shape[1], out.shape[2]))
        if not candidates:
            raise HomeworkError("graph has no image input (a float [batch, height, width, 3] placeholder)")
        _, name, height, width = min(candidates)
        return InputLayer(name, int(height), int(width))


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
    expected = inspect_input(graph_def)
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
        input_op = g.get_operation_by_name(f"import/{input_layer}")
        output_op = g.get_operation_by_name(f"import/{output_layer}")
        with v1.Session(graph=g, config=session_config()) as sess:
            started = time.perf_counter()
            try:
                results = sess.run(output_op.outputs[0], {input_op.outputs[0]: tensor})
            except (tf.errors.InvalidArgumentError, ValueError) as exc:
                raise HomeworkError(f"{graph}: '{input_layer}' rejected a {input_height}x{input_width} image; it takes '{expected.name}' at {expected.height}x{expected.width}") from exc
            seconds = time.perf_counter() - started
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
