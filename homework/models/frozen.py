"""A feature-vector module as a TF1 frozen GraphDef with the codelab's input interface.

The TF1 retrain flow imports a frozen graph (as the codelab does with its downloaded
archives); any TF2 module (TF Hub handle or stand-in) is turned into one here: a float
placeholder named like the codelab's input op (`input` for MobileNet, `Mul` for
Inception v3) taking [batch, size, size, 3] normalised as (pixel - mean) / std, mapped
back to the module's [0, 1] input, and the bottleneck as an identity op. The result is
plain TF1 ops with no function library, cached by module hash.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import files
from ..errors import HomeworkError
from ..resources import in_child
from ..settings import Settings
from .modules import Module

BOTTLENECK_NAME = "hw5_bottleneck"


@dataclass(frozen=True)
class FrozenExtractor:
    graph_def: object  # tf.compat.v1.GraphDef
    input_tensor: str  # e.g. "input:0"
    bottleneck_tensor: str
    bottleneck_size: int
    input_size: int
    input_mean: float
    input_std: float
    identity: str
    sha256: str
    stand_in: bool


def freeze_module(module: Module, settings: Settings) -> FrozenExtractor:
    """The module as a frozen graph, from the cache, or frozen now in a child process: the eager
    SavedModel load and its trace (0.9 GB for Inception v3) go back to the system with the child."""

    arch = module.architecture
    path = frozen_path(module, settings)
    graph_def = _cached(path)
    if graph_def is None:
        in_child(_freeze_to_file, module, str(path), gpu_memory_mb=settings.memory_budget_mb)
        graph_def = _cached(path)
        if graph_def is None:
            raise HomeworkError(f"{path}: the frozen graph of {module.identity} was not written; delete it and run again")
    size = int(_output_width(graph_def))
    return FrozenExtractor(
        graph_def, f"{arch.input_layer}:0", f"{BOTTLENECK_NAME}:0", size, arch.input_size, arch.input_mean, arch.input_std,
        module.identity, files.sha256_bytes(path.read_bytes()), module.stand_in,
    )


def frozen_path(module: Module, settings: Settings) -> Path:
    arch = module.architecture
    return Path(settings.cache_dir) / "frozen" / f"{module.sha256[:20]}-{arch.input_layer}-{arch.input_size}.pb"


def _cached(path: Path):
    """The GraphDef cached at `path`, None when there is none or it does not parse."""
    from ..compat import v1

    if not path.is_file():
        return None
    graph_def = v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except Exception:  # a truncated or foreign file: frozen again
        return None
    return graph_def if graph_def.node else None


def _freeze_to_file(module: Module, path: str) -> None:
    files.write_bytes(Path(path), _freeze(module).SerializeToString())


def _freeze(module: Module):
    from ..compat import tf  # TensorFlow set up before anything imports from it
    from .modules import load

    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    arch = module.architecture
    loaded = load(module)
    scale, offset = arch.input_std / 255.0, arch.input_mean / 255.0

    @tf.function(input_signature=[tf.TensorSpec([None, arch.input_size, arch.input_size, 3], tf.float32, name=arch.input_layer)])
    def extract(normalised):
        features = loaded(normalised * scale + offset)
        return tf.identity(features, name=BOTTLENECK_NAME)

    frozen = convert_variables_to_constants_v2(extract.get_concrete_function())
    return frozen.graph.as_graph_def()


def _output_width(graph_def) -> int:
    from ..compat import tf, v1

    with tf.Graph().as_default() as graph:
        v1.import_graph_def(graph_def, name="")
        return graph.get_tensor_by_name(f"{BOTTLENECK_NAME}:0").shape[-1]


def activation_elements(extractor: FrozenExtractor) -> int:
    """Float elements all ops of the graph produce for one image: a per-sample memory estimate."""
    from ..compat import tf, v1

    with tf.Graph().as_default() as graph:
        image = v1.placeholder(tf.float32, [1, extractor.input_size, extractor.input_size, 3])
        v1.import_graph_def(extractor.graph_def, input_map={extractor.input_tensor: image}, name="x")
        total = 0
        for op in graph.get_operations():
            if op.type in ("Const", "Identity", "Placeholder", "NoOp"):
                continue
            for out in op.outputs:
                if out.dtype == tf.float32 and out.shape.is_fully_defined():
                    total += out.shape.num_elements()
        return total


def codelab_file(arch, model_dir) -> "Path | None":
    """The codelab's graph for `arch` in --model_dir, extracted or as its .tgz; None when the
    folder holds neither. Looks at file names only (no TensorFlow, nothing read)."""
    info = arch.codelab
    if info is None or model_dir is None:
        return None
    for candidate in (Path(model_dir) / info.graph_file, Path(model_dir) / info.archive):
        if candidate.is_file():
            return candidate
    return None


def codelab_extractor(arch, model_dir) -> "FrozenExtractor | None":
    """The codelab's own frozen graph for `arch` from --model_dir (extracted, or its .tgz),
    or None when the folder does not hold it. Never downloads."""
    import tarfile

    if codelab_file(arch, model_dir) is None:
        return None
    from ..compat import v1
    from ..errors import HomeworkError

    info = arch.codelab
    model_dir = Path(model_dir)
    graph_path = model_dir / info.graph_file
    archive = model_dir / info.archive
    if not graph_path.is_file() and archive.is_file():
        try:
            with tarfile.open(archive) as tar:
                member = tar.getmember(info.graph_file) if info.graph_file in tar.getnames() else None
                if member is None or not member.isfile():
                    raise HomeworkError(f"{archive}: does not contain {info.graph_file}")
                files.write_bytes(graph_path, tar.extractfile(member).read())
        except (tarfile.TarError, OSError) as exc:
            raise HomeworkError(f"{archive}: not a readable .tgz archive ({exc})") from exc
    if not graph_path.is_file():
        return None
    data = graph_path.read_bytes()
    graph_def = v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception as exc:
        raise HomeworkError(f"{graph_path}: not a TensorFlow GraphDef") from exc
    names = {node.name for node in graph_def.node}
    for tensor in (info.input_tensor, info.bottleneck_tensor):
        if tensor.split(":")[0] not in names:
            raise HomeworkError(f"{graph_path}: has no tensor {tensor}; is it the {arch.name} graph?")
    return FrozenExtractor(
        graph_def, info.input_tensor, info.bottleneck_tensor, info.bottleneck_size, arch.input_size, arch.input_mean, arch.input_std,
        f"codelab graph: {graph_path}", files.sha256_bytes(data), False,
    )
