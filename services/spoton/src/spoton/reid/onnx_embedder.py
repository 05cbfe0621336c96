"""Learned appearance embeddings from an ONNX model in WEIGHTS_DIR (OSNet or CLIP's visual encoder).

Nothing is downloaded: the file must be there, or start-up fails naming it. Crops are resized to
the model's input, normalised with its mean/std, run as one batch, and the output rows are
L2-normalised so cosine distance works as for the colour-stripe embedder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from spoton.errors import DetectorUnavailableError, UnknownModelError, WeightsNotFoundError
from spoton.reid.inputs import frame_and_boxes

__all__ = ["ONNX_REID_MODELS", "OnnxEmbedder", "OnnxModelSpec", "create_onnx_embedder"]

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class OnnxModelSpec:
    file: str
    width: int
    height: int
    mean: tuple[float, float, float]  # RGB, on 0..1 pixels
    std: tuple[float, float, float]


ONNX_REID_MODELS: dict[str, OnnxModelSpec] = {
    # OSNet person re-id, 256x128 input, ImageNet statistics (torchreid's export).
    "osnet": OnnxModelSpec("osnet_x0_25_msmt17.onnx", 128, 256, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    # CLIP ViT-B/32 image encoder, 224x224 input, CLIP's own statistics.
    "clip": OnnxModelSpec(
        "clip_vit_b32_visual.onnx", 224, 224, (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
    ),
}


class OnnxEmbedder:
    """`embed(frame, xyxy) -> (N, dim)` unit rows (zeros for empty crops), like ColorStripeEmbedder."""

    def __init__(self, name: str, path: Path, spec: OnnxModelSpec, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.name = name
        self.spec = spec
        self.dim = self._dim()
        self._mean = np.asarray(spec.mean, np.float32).reshape(1, 3, 1, 1)
        self._std = np.asarray(spec.std, np.float32).reshape(1, 3, 1, 1)

    def _dim(self) -> int:
        shape = self.session.get_outputs()[0].shape
        last = shape[-1] if shape else None
        if isinstance(last, int):
            return last
        probe = np.zeros((1, 3, self.spec.height, self.spec.width), np.float32)
        return int(np.asarray(self.session.run(None, {self.input_name: probe})[0]).reshape(1, -1).shape[1])

    def embed(self, frame: npt.NDArray[np.uint8], xyxy: npt.ArrayLike) -> FloatArray:
        image, boxes = frame_and_boxes(frame, xyxy)
        out = np.zeros((len(boxes), self.dim), np.float32)
        h, w = image.shape[:2]
        crops, rows = [], []
        for i, (x1, y1, x2, y2) in enumerate(boxes):
            xa, xb = int(np.clip(x1, 0, w)), int(np.clip(x2, 0, w))
            ya, yb = int(np.clip(y1, 0, h)), int(np.clip(y2, 0, h))
            if xb - xa < 2 or yb - ya < 2:
                continue
            crop = cv2.resize(image[ya:yb, xa:xb], (self.spec.width, self.spec.height), interpolation=cv2.INTER_LINEAR)
            crops.append(crop[:, :, ::-1])  # BGR -> RGB
            rows.append(i)
        if not crops:
            return out
        batch = np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        batch = (batch - self._mean) / self._std
        features = np.asarray(self.session.run(None, {self.input_name: batch})[0], np.float32).reshape(len(crops), -1)
        norms = np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        out[rows] = features / norms
        return out


def create_onnx_embedder(kind: str, weights_dir: Path) -> OnnxEmbedder:
    spec = ONNX_REID_MODELS.get(kind)
    if spec is None:
        raise UnknownModelError("re-id model", kind, ("color_stripes", *ONNX_REID_MODELS))
    path = weights_dir / spec.file
    if not path.is_file():
        raise WeightsNotFoundError(f"re-id model {kind!r}", path, "REID_MODEL_TYPE=color_stripes (no weights)")
    try:
        return OnnxEmbedder(kind, path, spec)
    except Exception as error:  # onnxruntime's own errors: translate at the boundary
        raise DetectorUnavailableError(
            f"re-id model {kind!r}: {str(path)!r} is not a loadable ONNX model ({error})"
        ) from None
