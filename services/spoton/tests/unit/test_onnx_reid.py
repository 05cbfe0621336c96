"""ONNX re-id embedders from WEIGHTS_DIR: a tiny real ONNX model stands in for OSNet (never downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from spoton.config import Settings
from spoton.errors import DetectorUnavailableError, WeightsNotFoundError
from spoton.pipeline import check_models
from spoton.reid.onnx_embedder import ONNX_REID_MODELS, create_onnx_embedder


def _mean_colour_model(path: Path) -> None:
    """A real ONNX graph: the per-channel mean of the normalised crop, a 3-d 'embedding'."""
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["n", 3, "h", "w"])
    features = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 3])
    node = helper.make_node("ReduceMean", ["images"], ["features"], axes=[2, 3], keepdims=0)
    graph = helper.make_graph([node], "mean_colour", [images], [features])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def test_embeddings_are_unit_rows_that_tell_colours_apart(tmp_path: Path) -> None:
    _mean_colour_model(tmp_path / ONNX_REID_MODELS["osnet"].file)
    embedder = create_onnx_embedder("osnet", tmp_path)
    assert embedder.dim == 3
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[:, :100] = (0, 0, 255)  # red (BGR)
    frame[:, 100:200] = (255, 0, 0)  # blue
    frame[:, 200:] = (0, 0, 250)  # nearly the same red
    out = embedder.embed(frame, [[10, 10, 90, 190], [110, 10, 190, 190], [210, 10, 290, 190], [5, 5, 5, 5]])
    assert out.shape == (4, 3)
    assert np.allclose(np.linalg.norm(out[:3], axis=1), 1.0, atol=1e-5)
    assert not out[3].any()  # an empty box gives a zero row, as the colour-stripe embedder does
    red_red, red_blue = float(out[0] @ out[2]), float(out[0] @ out[1])
    assert red_red > 0.999
    assert red_blue < 0.5


def test_missing_weights_fail_start_up_naming_the_file(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, REID_MODEL_TYPE="osnet", WEIGHTS_DIR=tmp_path, DATA_DIR=tmp_path)
    with pytest.raises(WeightsNotFoundError, match=r"osnet_x0_25_msmt17\.onnx.*REID_MODEL_TYPE=color_stripes"):
        check_models(settings)
    (tmp_path / ONNX_REID_MODELS["clip"].file).write_bytes(b"not an onnx model")
    with pytest.raises(DetectorUnavailableError, match="not a loadable ONNX model"):
        create_onnx_embedder("clip", tmp_path)
    _mean_colour_model(tmp_path / ONNX_REID_MODELS["osnet"].file)
    suite = check_models(settings)
    assert suite.embedder().name == "osnet"
