"""Environments (a floor plan with zones) and their cameras (homography to the floor, in metres)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spoton.analytics import Tripwire, Zone
from spoton.api.deps import DbId, Operator, State, Viewer
from spoton.api.schemas import (
    CalibrationIn,
    CameraIn,
    CameraOut,
    CameraPatch,
    EnvironmentIn,
    EnvironmentOut,
    EnvironmentPatch,
    TopologyIn,
    TripwireIn,
    ZoneIn,
)
from spoton.db import Camera, Environment, record_audit
from spoton.errors import ConflictError, DegenerateHomographyError, InvalidInputError, NotFoundError
from spoton.geometry import Homography, estimate_homography
from spoton.reid import CameraTopology
from spoton.scene import DEMO_TOPOLOGY, DEMO_TRIPWIRES, ROOMS, demo_cameras

__all__ = ["router"]

router = APIRouter(prefix="/environments", tags=["environments"])


def _zones(zones: list[ZoneIn]) -> list[dict[str, Any]]:
    parsed = [Zone.from_dict({"name": z.name, "polygon": [list(p) for p in z.polygon]}) for z in zones]
    names = [z.name for z in parsed]
    if len(set(names)) != len(names):
        raise InvalidInputError("zone names must be unique within an environment")
    return [z.to_dict() for z in parsed]


def _tripwires(wires: list[TripwireIn]) -> list[dict[str, Any]]:
    parsed = [Tripwire.from_dict(w.model_dump()) for w in wires]
    names = [w.name for w in parsed]
    if len(set(names)) != len(names):
        raise InvalidInputError("tripwire names must be unique within an environment")
    return [w.to_dict() for w in parsed]


def _topology(topology: TopologyIn | None) -> dict[str, Any] | None:
    if topology is None:
        return None
    return CameraTopology.from_dict(topology.model_dump(mode="json")).to_dict()


def _env_out(env: Environment) -> EnvironmentOut:
    return EnvironmentOut.model_validate(env, from_attributes=True)


def _camera_out(cam: Camera) -> CameraOut:
    return CameraOut(
        id=cam.id, environment_id=cam.environment_id, name=cam.name, fps=cam.fps,
        has_source=cam.source_encrypted is not None, homography=cam.homography,
        reprojection_rms_m=cam.reprojection_rms_m,
    )  # fmt: skip


async def _get_env(session: AsyncSession, env_id: int) -> Environment:
    env = await session.get(Environment, env_id)
    if env is None:
        raise NotFoundError("environment", env_id)
    return env


async def _get_camera(session: AsyncSession, env_id: int, cam_id: int) -> Camera:
    cam = await session.get(Camera, cam_id)
    if cam is None or cam.environment_id != env_id:
        raise NotFoundError("camera", cam_id)
    return cam


def _homography(matrix: list[list[float]] | None, calibration: CalibrationIn | None) -> tuple[Any, float | None]:
    """Validate a given matrix with the core's geometry, or fit one from point pairs (RMS reported)."""
    if matrix is not None and calibration is not None:
        raise InvalidInputError("give either homography or calibration, not both")
    if calibration is not None:
        try:
            fit = estimate_homography(
                calibration.image_points, calibration.floor_points,
                max_rms_error=calibration.max_rms_error_m, ransac_threshold=calibration.ransac_threshold_m,
            )  # fmt: skip
        except cv2.error as error:  # OpenCV gives up on numerically hopeless inputs
            raise DegenerateHomographyError(f"no homography fits these point pairs ({error.err})") from None
        return fit.homography.to_list(), round(fit.rms_error, 6)
    if matrix is not None:
        try:
            array = np.asarray(matrix, dtype=np.float64)
        except (TypeError, ValueError):
            raise DegenerateHomographyError("homography must be a 3x3 list of numbers") from None
        return Homography(array).to_list(), None
    return None, None


@router.get("", response_model=list[EnvironmentOut])
async def list_environments(user: Viewer, state: State) -> list[EnvironmentOut]:
    async with state.db.session() as session:
        envs = (await session.execute(select(Environment).order_by(Environment.id))).scalars().all()
    return [_env_out(e) for e in envs]


@router.post("", response_model=EnvironmentOut, status_code=201)
async def create_environment(body: EnvironmentIn, user: Operator, state: State) -> EnvironmentOut:
    async with state.db.session() as session:
        env = Environment(
            name=body.name, description=body.description, zones=_zones(body.zones),
            tripwires=_tripwires(body.tripwires), topology=_topology(body.topology),
        )  # fmt: skip
        session.add(env)
        record_audit(session, actor=user.username, action="environment.create", target=f"environment:{body.name}",
                     client_ip=user.client_ip)  # fmt: skip
        try:
            await session.commit()
        except IntegrityError:
            raise ConflictError(f"environment {body.name!r} already exists") from None
        return _env_out(env)


@router.post("/demo", response_model=EnvironmentOut, status_code=201)
async def create_demo_environment(user: Operator, state: State, name: str = "demo") -> EnvironmentOut:
    """The synthetic scene's floor: three room zones and four cameras with calibrated homographies."""
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 100:
        raise InvalidInputError("name must be alphanumeric (with - or _), at most 100 characters")
    zones = [
        {"name": f"room_{room}", "polygon": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]}
        for room, (x0, x1, y0, y1) in ROOMS.items()
    ]
    async with state.db.session() as session:
        env = Environment(
            name=name, description="Synthetic demo scene: rooms A, B, C on a corridor", zones=zones,
            tripwires=[dict(w) for w in DEMO_TRIPWIRES], topology=CameraTopology.from_dict(DEMO_TOPOLOGY).to_dict(),
        )  # fmt: skip
        session.add(env)
        try:
            await session.flush()
        except IntegrityError:
            raise ConflictError(f"environment {name!r} already exists") from None
        for cam in demo_cameras():
            # Calibrate from a floor grid the camera sees, as an installer would with tape marks.
            grid = np.array([(x, y) for x in np.linspace(1, 9, 5) for y in np.linspace(1, 7, 4)], dtype=float)
            if cam.name in ("cam_b", "cam_c"):
                grid[:, 0] += 11.0 if cam.name == "cam_b" else 21.0
            image = _project(cam.floor_to_image, grid)
            ok = np.isfinite(image).all(axis=1)
            fit = estimate_homography(image[ok], grid[ok], max_rms_error=0.01)
            session.add(
                Camera(
                    environment_id=env.id, name=cam.name, fps=10.0, homography=fit.homography.to_list(),
                    reprojection_rms_m=round(fit.rms_error, 9),
                )
            )  # fmt: skip
        record_audit(session, actor=user.username, action="environment.create_demo", target=f"environment:{name}",
                     client_ip=user.client_ip)  # fmt: skip
        await session.commit()
        return _env_out(env)


def _project(matrix: Any, points: np.ndarray) -> np.ndarray:
    return Homography(np.asarray(matrix)).apply(points)


@router.get("/{env_id}", response_model=EnvironmentOut)
async def get_environment(env_id: DbId, user: Viewer, state: State) -> EnvironmentOut:
    async with state.db.session() as session:
        return _env_out(await _get_env(session, env_id))


@router.patch("/{env_id}", response_model=EnvironmentOut)
async def update_environment(env_id: DbId, body: EnvironmentPatch, user: Operator, state: State) -> EnvironmentOut:
    async with state.db.session() as session:
        env = await _get_env(session, env_id)
        if body.description is not None:
            env.description = body.description
        if body.zones is not None:
            env.zones = _zones(body.zones)
        if body.tripwires is not None:
            env.tripwires = _tripwires(body.tripwires)
        if "topology" in body.model_fields_set:  # an explicit null removes it
            env.topology = _topology(body.topology)
        record_audit(session, actor=user.username, action="environment.update", target=f"environment:{env.name}",
                     client_ip=user.client_ip)  # fmt: skip
        await session.commit()
        return _env_out(env)


@router.delete("/{env_id}", status_code=204)
async def delete_environment(env_id: DbId, user: Operator, state: State) -> Response:
    async with state.db.session() as session:
        env = await _get_env(session, env_id)
        await session.delete(env)
        record_audit(session, actor=user.username, action="environment.delete", target=f"environment:{env.name}",
                     client_ip=user.client_ip)  # fmt: skip
        await session.commit()
    return Response(status_code=204)


@router.get("/{env_id}/cameras", response_model=list[CameraOut])
async def list_cameras(env_id: DbId, user: Viewer, state: State) -> list[CameraOut]:
    async with state.db.session() as session:
        await _get_env(session, env_id)
        cams = (
            (await session.execute(select(Camera).where(Camera.environment_id == env_id).order_by(Camera.id)))
            .scalars()
            .all()
        )
    return [_camera_out(c) for c in cams]


@router.post("/{env_id}/cameras", response_model=CameraOut, status_code=201)
async def create_camera(env_id: DbId, body: CameraIn, user: Operator, state: State) -> CameraOut:
    matrix, rms = _homography(body.homography, body.calibration)
    async with state.db.session() as session:
        await _get_env(session, env_id)
        cam = Camera(
            environment_id=env_id, name=body.name, fps=body.fps, homography=matrix, reprojection_rms_m=rms,
            source_encrypted=state.cipher.encrypt(body.source) if body.source else None,
        )  # fmt: skip
        session.add(cam)
        record_audit(session, actor=user.username, action="camera.create", target=f"environment:{env_id}/{body.name}",
                     client_ip=user.client_ip)  # fmt: skip
        try:
            await session.commit()
        except IntegrityError:
            raise ConflictError(f"camera {body.name!r} already exists in environment {env_id}") from None
        return _camera_out(cam)


@router.get("/{env_id}/cameras/{cam_id}", response_model=CameraOut)
async def get_camera(env_id: DbId, cam_id: DbId, user: Viewer, state: State) -> CameraOut:
    async with state.db.session() as session:
        return _camera_out(await _get_camera(session, env_id, cam_id))


@router.patch("/{env_id}/cameras/{cam_id}", response_model=CameraOut)
async def update_camera(env_id: DbId, cam_id: DbId, body: CameraPatch, user: Operator, state: State) -> CameraOut:
    matrix, rms = _homography(body.homography, body.calibration)
    async with state.db.session() as session:
        cam = await _get_camera(session, env_id, cam_id)
        if body.fps is not None:
            cam.fps = body.fps
        if body.source is not None:
            cam.source_encrypted = state.cipher.encrypt(body.source)
        if matrix is not None:
            cam.homography, cam.reprojection_rms_m = matrix, rms
        record_audit(session, actor=user.username, action="camera.update", target=f"camera:{cam_id}",
                     client_ip=user.client_ip)  # fmt: skip
        await session.commit()
        return _camera_out(cam)


@router.post("/{env_id}/cameras/{cam_id}/calibration", response_model=CameraOut)
async def calibrate_camera(env_id: DbId, cam_id: DbId, body: CalibrationIn, user: Operator, state: State) -> CameraOut:
    """Fit image -> floor from point pairs; refused (422) when the reprojection error is too high."""
    matrix, rms = _homography(None, body)
    async with state.db.session() as session:
        cam = await _get_camera(session, env_id, cam_id)
        cam.homography, cam.reprojection_rms_m = matrix, rms
        record_audit(session, actor=user.username, action="camera.calibrate", target=f"camera:{cam_id}",
                     details={"rms_m": rms}, client_ip=user.client_ip)  # fmt: skip
        await session.commit()
        return _camera_out(cam)


@router.delete("/{env_id}/cameras/{cam_id}", status_code=204)
async def delete_camera(env_id: DbId, cam_id: DbId, user: Operator, state: State) -> Response:
    async with state.db.session() as session:
        cam = await _get_camera(session, env_id, cam_id)
        await session.delete(cam)
        record_audit(session, actor=user.username, action="camera.delete", target=f"camera:{cam_id}",
                     client_ip=user.client_ip)  # fmt: skip
        await session.commit()
    return Response(status_code=204)
