"""Exports as async jobs: create, poll, download before expiry."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from spoton.api.deps import Operator, State, TaskId, Viewer
from spoton.api.schemas import ExportIn, ExportOut
from spoton.db import ExportJob, record_audit

__all__ = ["router"]

router = APIRouter(prefix="/exports", tags=["exports"])

MEDIA_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "mot": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "mp4": "video/mp4",
}


def _out(job: ExportJob, prefix: str) -> ExportOut:
    return ExportOut(
        id=job.id, task_id=job.task_id, format=job.format, status=job.status, size_bytes=job.size_bytes,
        error=job.error, created_at=job.created_at, expires_at=job.expires_at,
        download_url=f"{prefix}/exports/{job.id}/download" if job.status == "ready" else None,
    )  # fmt: skip


@router.post("", response_model=ExportOut, status_code=202)
async def create_export(body: ExportIn, user: Operator, state: State) -> ExportOut:
    job = await state.exports.create(body.task_id, body.format, user.username)
    async with state.db.session() as session:
        record_audit(session, actor=user.username, action="export.create", target=f"task:{body.task_id}",
                     details={"export_id": job.id, "format": body.format}, client_ip=user.client_ip)  # fmt: skip
        await session.commit()
    return _out(job, state.settings.API_V1_PREFIX)


@router.get("/{export_id}", response_model=ExportOut)
async def get_export(export_id: TaskId, user: Viewer, state: State) -> ExportOut:
    return _out(await state.exports.get(export_id), state.settings.API_V1_PREFIX)


@router.get("/{export_id}/download")
async def download_export(export_id: TaskId, user: Viewer, state: State) -> FileResponse:
    job, path = await state.exports.file_for_download(export_id)
    async with state.db.session() as session:
        record_audit(session, actor=user.username, action="export.download", target=f"export:{export_id}",
                     client_ip=user.client_ip)  # fmt: skip
        await session.commit()
    return FileResponse(path, media_type=MEDIA_TYPES[job.format], filename=f"spoton-{job.task_id}{path.suffix}")
