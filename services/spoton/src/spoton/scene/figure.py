"""Draw a simple human-like figure (head, torso, swinging arms and legs) that HOG recognises."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["FIGURE_ASPECT", "Appearance", "draw_person", "person_box"]

# Width / height of the box that encloses a figure (pedestrian boxes are ~0.41 wide).
FIGURE_ASPECT = 0.41

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Appearance:
    """BGR colours of a person's clothes and skin: what colour-stripe re-id keys on."""

    shirt: Color
    trousers: Color
    skin: Color = (140, 170, 210)
    hair: Color = (30, 30, 40)


def person_box(foot_u: float, foot_v: float, height_px: float) -> tuple[float, float, float, float]:
    """xyxy box of a figure standing at a pixel foot point."""
    half = FIGURE_ASPECT * height_px / 2
    return (foot_u - half, foot_v - height_px, foot_u + half, foot_v)


def _pt(x: float, y: float) -> tuple[int, int]:
    return (round(x * 16), round(y * 16))  # 4 fractional bits: sub-pixel drawing


def draw_person(
    image: npt.NDArray[np.uint8],
    foot_u: float,
    foot_v: float,
    height_px: float,
    appearance: Appearance,
    phase: float = 0.0,
) -> None:
    """Draw in place. `phase` (radians) animates the gait."""
    h = height_px
    cx = foot_u
    top = foot_v - h
    swing = math.sin(phase)
    sh = 4  # cv2 shift bits matching _pt
    lt = cv2.LINE_AA
    leg_w = max(2, round(0.07 * h))
    arm_w = max(2, round(0.045 * h))
    hip_y = top + 0.53 * h
    # legs: hip to foot, feet spread with the gait phase
    for side in (-1, 1):
        hip_x = cx + side * 0.05 * h
        foot_x = cx + side * 0.04 * h + side * swing * 0.09 * h
        knee_x = (hip_x + foot_x) / 2 + 0.01 * h
        cv2.line(image, _pt(hip_x, hip_y), _pt(knee_x, top + 0.76 * h), appearance.trousers, leg_w, lt, sh)
        cv2.line(
            image,
            _pt(knee_x, top + 0.76 * h),
            _pt(foot_x, foot_v - 0.02 * h),
            appearance.trousers,
            leg_w,
            lt,
            sh,
        )
        cv2.line(
            image,
            _pt(foot_x - 0.02 * h, foot_v - 0.015 * h),
            _pt(foot_x + 0.05 * h, foot_v - 0.015 * h),
            (25, 25, 25),
            max(2, round(0.03 * h)),
            lt,
            sh,
        )
    # torso: shoulders wider than hips
    torso = np.array(
        [
            _pt(cx - 0.115 * h, top + 0.17 * h),
            _pt(cx + 0.115 * h, top + 0.17 * h),
            _pt(cx + 0.09 * h, hip_y + 0.02 * h),
            _pt(cx - 0.09 * h, hip_y + 0.02 * h),
        ],
        dtype=np.int32,
    )
    cv2.fillConvexPoly(image, torso, appearance.shirt, lt, sh)
    # arms swing opposite to the legs
    for side in (-1, 1):
        sx = cx + side * 0.125 * h
        hand_x = cx + side * 0.15 * h - side * swing * 0.05 * h
        cv2.line(image, _pt(sx, top + 0.19 * h), _pt(hand_x, top + 0.50 * h), appearance.shirt, arm_w, lt, sh)
        cv2.circle(image, _pt(hand_x, top + 0.51 * h), round(0.025 * h * 16), appearance.skin, -1, lt, sh)
    # neck and head
    cv2.line(
        image,
        _pt(cx, top + 0.12 * h),
        _pt(cx, top + 0.18 * h),
        appearance.skin,
        max(2, round(0.05 * h)),
        lt,
        sh,
    )
    cv2.ellipse(
        image,
        _pt(cx, top + 0.075 * h),
        (round(0.055 * h * 16), round(0.07 * h * 16)),
        0,
        0,
        360,
        appearance.skin,
        -1,
        lt,
        sh,
    )
    cv2.ellipse(
        image,
        _pt(cx, top + 0.05 * h),
        (round(0.057 * h * 16), round(0.045 * h * 16)),
        0,
        180,
        360,
        appearance.hair,
        -1,
        lt,
        sh,
    )
