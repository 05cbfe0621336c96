"""torchvision's Faster R-CNN (ResNet-50 FPN, COCO) as a person detector; torch is an optional extra.

Install with `pip install 'spoton[torch]'` (or `uv sync --extra torch`). Weights are never
downloaded: the state dict must already be at `WEIGHTS_DIR/fasterrcnn_resnet50_fpn.pth` (torchvision's
`FasterRCNN_ResNet50_FPN_Weights.COCO_V1` file, renamed). Everything that can fail is checked when
the detector is built, i.e. at start-up, never in the middle of a job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from spoton.detection.base import validate_frame
from spoton.detection.detections import PERSON_CLASS_ID, Detections
from spoton.detection.nms import non_max_suppression
from spoton.errors import DetectorUnavailableError

__all__ = ["COCO_PERSON_LABEL", "FASTERRCNN_WEIGHTS_FILE", "TORCH_EXTRA", "FasterRCNNDetector", "import_torch"]

FASTERRCNN_WEIGHTS_FILE = "fasterrcnn_resnet50_fpn.pth"
TORCH_EXTRA = "spoton[torch]"
COCO_PERSON_LABEL = 1
_COCO_CLASSES = 91


def import_torch() -> tuple[Any, Any]:
    """Return `(torch, torchvision)` or raise `DetectorUnavailableError` naming the extra to install."""
    try:
        import torch
        import torchvision
    except ImportError as error:
        raise DetectorUnavailableError(
            f"DETECTOR_TYPE=fasterrcnn needs torch and torchvision, which are not installed ({error}); "
            f"install the optional extra: pip install '{TORCH_EXTRA}' (CPU wheels suffice)"
        ) from error
    return torch, torchvision


class FasterRCNNDetector:
    """Person boxes from Faster R-CNN; `min_size` is the shorter side torchvision resizes frames to."""

    name = "fasterrcnn"

    def __init__(
        self,
        weights_path: Path,
        *,
        score_threshold: float = 0.3,
        nms_iou: float = 0.5,
        max_detections: int = 100,
        threads: int = 1,
        min_size: int = 800,
    ) -> None:
        torch, torchvision = import_torch()
        self._torch = torch
        torch.set_num_threads(threads)
        model = torchvision.models.detection.fasterrcnn_resnet50_fpn(
            weights=None,
            weights_backbone=None,
            num_classes=_COCO_CLASSES,
            min_size=min_size,
            box_score_thresh=score_threshold,
            box_nms_thresh=nms_iou,
            box_detections_per_img=max_detections,
        )
        try:
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as error:  # torch raises RuntimeError/UnpicklingError/KeyError for bad files
            raise DetectorUnavailableError(
                f"fasterrcnn weights {str(weights_path)!r} cannot be loaded as a "
                f"fasterrcnn_resnet50_fpn COCO state dict: {str(error)[:300]}"
            ) from error
        self._model = model.eval()
        self.weights_path = weights_path
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        image = validate_frame(frame)
        rgb = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image[:, :, ::-1]
        torch = self._torch
        tensor = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div_(255.0)
        with torch.inference_mode():
            (out,) = self._model([tensor])
        labels = out["labels"].numpy()
        person = labels == COCO_PERSON_LABEL
        xyxy = out["boxes"].numpy()[person].astype(np.float32)
        conf = out["scores"].numpy()[person].astype(np.float32)
        keep = non_max_suppression(xyxy, conf, self.nms_iou)
        return Detections(xyxy[keep], conf[keep], np.full(len(keep), PERSON_CLASS_ID, np.int32))
