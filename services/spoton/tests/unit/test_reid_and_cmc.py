from __future__ import annotations

import numpy as np
import pytest
from spoton.errors import InvalidFrameError
from spoton.reid import ColorStripeEmbedder, cosine_distance
from spoton.scene import SyntheticScene
from spoton.tracking import CameraMotionCompensator, warp_states


def test_same_person_is_closer_than_other_people(scene: SyntheticScene) -> None:
    """Embeddings of one person in two frames / two cameras beat every other person's."""
    emb = ColorStripeEmbedder()
    gallery: dict[int, list[np.ndarray]] = {}
    for cam in ("cam_a1", "cam_b", "cam_c"):
        for frame in range(20, 200, 30):
            image, truth = scene.render(cam, frame)
            feats = emb.embed(image, [g.xyxy for g in truth])
            for g, f in zip(truth, feats, strict=True):
                if g.visibility > 0.9:
                    gallery.setdefault(g.person_id, []).append(f)
    people = [p for p, fs in gallery.items() if len(fs) >= 2]
    assert len(people) >= 5
    for p in people:
        same = cosine_distance(gallery[p][:1], gallery[p][1:]).max()
        others = min(cosine_distance(gallery[p][:1], gallery[q]).min() for q in gallery if q != p)
        assert same < others, (p, same, others)


def test_embedding_shape_and_degenerate_boxes() -> None:
    emb = ColorStripeEmbedder(stripes=4)
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[:, 50:] = (0, 0, 255)
    out = emb.embed(frame, [[0, 0, 50, 100], [50, 0, 100, 100], [10, 10, 10, 10], [200, 200, 300, 300]])
    assert out.shape == (4, emb.dim)
    np.testing.assert_allclose(np.linalg.norm(out[:2], axis=1), 1.0, rtol=1e-5)
    assert not out[2:].any()  # empty and off-image crops give zero vectors, not errors
    assert cosine_distance(out[:1], out[1:2])[0, 0] > 0.9
    assert emb.embed(frame, np.zeros((0, 4))).shape == (0, emb.dim)
    with pytest.raises(InvalidFrameError):
        emb.embed(np.zeros((10, 10, 3), np.float64), [[0, 0, 5, 5]])  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["sparse", "ecc"])
def test_camera_motion_is_recovered(method: str, scene: SyntheticScene) -> None:
    """A pan of the empty floor by (+7, -3) px between frames is estimated to within half a pixel."""
    base = scene._backgrounds["cam_b"]
    shift = np.float32([[1, 0, 7], [0, 1, -3]])
    import cv2

    moved = cv2.warpAffine(base, shift, (base.shape[1], base.shape[0]), borderMode=cv2.BORDER_REFLECT)
    cmc = CameraMotionCompensator(method)  # type: ignore[arg-type]
    np.testing.assert_allclose(cmc.estimate(base), np.eye(2, 3))
    warp = cmc.estimate(moved)
    np.testing.assert_allclose(warp[:, 2], [7, -3], atol=0.5)
    np.testing.assert_allclose(warp[:, :2], np.eye(2), atol=0.01)


def test_warp_moves_kalman_centres_and_velocities() -> None:
    mean = np.array([[100.0, 50.0, 0.4, 100.0, 2.0, 1.0, 0.0, 0.0]])
    cov = np.eye(8)[None]
    warp = np.array([[0.0, -1.0, 10.0], [1.0, 0.0, 20.0]])  # 90 degree rotation + shift
    m, c = warp_states(mean, cov, warp, "xyah")
    np.testing.assert_allclose(m[0, :2], [-50 + 10, 100 + 20])
    np.testing.assert_allclose(m[0, 4:6], [-1.0, 2.0])
    np.testing.assert_allclose(m[0, 2:4], [0.4, 100.0])
    assert c.shape == (1, 8, 8)
