"""Rebuild the committed stand-in weights (homework/models/standin_weights/).

    python -m homework.models.build_standins [--arch mobilenet_0.50_224 mobilenet_v2_1.00_224 inception_v3]

Pretrains each stand-in on the generated pretext task (standins.PRETRAINING; Inception v3 at a
quarter of its width, see narrow.py), calibrates its BatchNorm statistics at the size the tasks
feed it, probes it (at full width) on a freshly
generated embedded flowers tree and writes <arch>.npz plus its sha256 and probe into
weights.json. The probe is compared with probe.TARGETS and printed, so a
rebuild that misses them is visible before it is committed. Takes 10 to 15 minutes a stage on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

from .. import files
from .. import prepare
from ..data import generated
from ..settings import Settings
from . import probe, standins
from .registry import get_architecture

DEFAULT = ("mobilenet_0.50_224", "mobilenet_v2_1.00_224", "inception_v3")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=list(DEFAULT))
    parser.add_argument("--steps", type=int, help="pretraining steps (default: the recipe's; 0 with --start-from: only calibrate)")
    parser.add_argument("--pool", type=int, help="distinct pretext images (default: the recipe's)")
    parser.add_argument("--learning-rate", type=float, help="peak learning rate (default: the recipe's)")
    parser.add_argument("--image-px", type=int, help="pretraining resolution (default: the recipe's)")
    parser.add_argument("--batch", type=int, help="pretraining batch size (default: the recipe's)")
    parser.add_argument("--start-from", type=Path, help="continue from these weights (an <arch>.npz) instead of a fresh net")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=standins.WEIGHTS_DIR)
    args = parser.parse_args(argv)
    if args.steps == 0 and not args.start_from:
        parser.error("--steps 0 (calibrate only) needs --start-from")
    settings = Settings()
    args.out.mkdir(parents=True, exist_ok=True)
    index_path = args.out / "weights.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        flowers, _ = generated.write_tree(Path(tmp), "flower_photos", settings.flowers_images_per_class, settings.flowers_image_px)
        for name in args.arch:
            arch = get_architecture(name)
            plan = standins.PRETRAINING[arch.family]
            plan = dataclasses.replace(plan, steps=args.steps or plan.steps, pool=args.pool or plan.pool, learning_rate=args.learning_rate or plan.learning_rate, image_px=args.image_px or plan.image_px, batch=args.batch or plan.batch)
            started = time.perf_counter()
            continued, previous = "", {}
            if args.start_from:
                previous = json.loads((args.start_from.parent / "weights.json").read_text()).get(args.start_from.name, {})
                continued = f", continuing from weights sha256 {files.sha256_file(args.start_from)[:12]} ({previous.get('recipe', 'unknown recipe')})"
            if args.steps == 0:  # calibration only, of the --start-from weights
                module, backbone = standins.new_module(arch, plan.divisor)
                standins.load_npz(module, args.start_from)
                accuracy = previous.get("pretext_accuracy", {})
            else:
                module, backbone, accuracy = standins.pretrain(arch, plan, seed=args.seed, log_every=300, start_from=args.start_from)
            standins.calibrate_batchnorm(module, backbone, plan.calibrate_px)
            scale = standins.calibrate_feature_scale(module, backbone, arch.family, plan.calibrate_px)
            px = prepare.probe_px(settings, arch)  # the size the checks probe it at
            path = args.out / f"{arch.name}.npz"
            standins.save_weights(module, path)
            module, _ = standins.load_weights(arch, path)  # probe the weights as stored, at full width
            result = probe.probe_module(module, px, flowers, None, (), 0)
            target = probe.TARGETS[arch.family]
            print(f"{arch.name}: pretext {accuracy}, flowers probe {result['accuracy']:.3f} at {px}px (target {target}), "
                  f"colour histogram {result['colour_histogram']:.3f}, {time.perf_counter() - started:.0f}s", flush=True)
            if result["accuracy"] < target:
                print(f"{arch.name}: probe below target (checks/test_inputs.py will fail with these weights)", file=sys.stderr)
            index[path.name] = {
                "sha256": files.sha256_file(path),
                "recipe": (standins.describe(arch, plan) if args.steps != 0 else "calibrated only") + continued
                + (f"; last BatchNorm scaled x{scale:.3f} to features of squared norm {standins.FEATURE_SQUARED_NORM:g}" if scale else ""),
                "pretext_accuracy": accuracy,
                "probe": {k: result[k] for k in ("accuracy", "colour_histogram", "image_px", "images")},
                "rebuild": " ".join(["python -m homework.models.build_standins"] + (argv if argv is not None else sys.argv[1:])),
            }
            files.write_json(index_path, index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
