"""Synthetic multi-camera scenes with exact ground truth, for end-to-end tests and benchmarks."""

from spoton.scene.camera import PinholeCamera
from spoton.scene.demo import COVERAGE, DEMO_TOPOLOGY, DEMO_TRIPWIRES, DOORS, PALETTE, ROOMS, demo_cameras, demo_scene
from spoton.scene.figure import FIGURE_ASPECT, Appearance, draw_person, person_box
from spoton.scene.scene import FloorPlan, GroundTruthBox, SyntheticScene
from spoton.scene.walkers import Walker, WalkerPose

__all__ = [
    "COVERAGE",
    "DEMO_TOPOLOGY",
    "DEMO_TRIPWIRES",
    "DOORS",
    "FIGURE_ASPECT",
    "PALETTE",
    "ROOMS",
    "Appearance",
    "FloorPlan",
    "GroundTruthBox",
    "PinholeCamera",
    "SyntheticScene",
    "Walker",
    "WalkerPose",
    "demo_cameras",
    "demo_scene",
    "draw_person",
    "person_box",
]
