"""`spoton`: serve, check --deploy (from servicekit), plus eval, db upgrade and users create."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click
from servicekit.cli import service_cli
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from spoton.config import DEPLOY_CHECKS, Settings
from spoton.errors import SpotOnError

__all__ = ["main"]

main = service_cli(
    "spoton",
    settings_factory=Settings,
    app_factory_path="spoton.app:asgi",
    extra_checks=DEPLOY_CHECKS,
    help_text="SpotOn: multi-camera person tracking service.",
)


@main.command("eval", help="Score a tracker's MOT file (HYP) against ground truth (GT): HOTA, MOTA, IDF1.")
@click.argument("gt", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("hyp", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--iou", default=0.5, show_default=True, type=click.FloatRange(0.05, 0.95), help="CLEAR/ID IoU.")
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON.")
def eval_command(gt: Path, hyp: Path, iou: float, as_json: bool) -> None:
    from spoton.evaluation import evaluate_sequence, read_mot

    try:
        scores = evaluate_sequence(read_mot(gt), read_mot(hyp), iou_threshold=iou).summary()
    except SpotOnError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(scores, indent=2))
        return
    for key in ("HOTA", "MOTA", "IDF1"):
        click.echo(f"{key:<5} {100 * scores[key]:6.2f}")
    click.echo(f"IDSW {scores['IDSW']}  FP {scores['FP']}  FN {scores['FN']}  GT_IDs {scores['GT_IDs']}")


@main.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply the Alembic migrations up to head.")
def db_upgrade() -> None:
    from spoton.db import Database

    async def run() -> None:
        db = Database(Settings().database_url)
        try:
            await db.migrate()
        finally:
            await db.dispose()

    asyncio.run(run())
    click.echo("spoton: database at the latest schema.")


@main.command("worker", help="Run processing jobs from the Dramatiq queue (JOB_BACKEND=dramatiq) until SIGTERM.")
@click.option("--concurrency", type=click.IntRange(1, 32), default=None, help="Jobs at once [MAX_CONCURRENT_TASKS].")
def worker_command(concurrency: int | None) -> None:
    from spoton.pipeline.backends import run_worker

    settings = Settings()
    try:
        run_worker(settings, concurrency=concurrency, ready=lambda: click.echo("spoton worker: ready", err=True))
    except SpotOnError as error:
        raise click.ClickException(str(error)) from None


@main.group("users", help="User accounts (the first admin is created here; there are no default users).")
def users_group() -> None:
    pass


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "operator", "viewer"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
def users_create(username: str, role: str, password_stdin: bool) -> None:
    """Create USERNAME; the password comes from a hidden prompt or stdin, never from the command line."""
    from spoton.db import Database, User, record_audit
    from spoton.security import PasswordHasher, validate_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        validate_password(password)
    except SpotOnError as error:
        raise click.ClickException(str(error)) from None
    password_hash = PasswordHasher().hash(password)

    async def run() -> None:
        db = Database(Settings().database_url)
        try:
            await db.migrate()
            async with db.session() as session:
                if (await session.execute(select(User).where(User.username == username))).scalar_one_or_none():
                    raise click.ClickException(f"user {username!r} already exists")
                session.add(User(username=username, password_hash=password_hash, role=role))
                record_audit(session, actor="cli", action="user.create", target=f"user:{username}",
                             details={"role": role})  # fmt: skip
                try:
                    await session.commit()
                except IntegrityError:
                    raise click.ClickException(f"user {username!r} already exists") from None
        finally:
            await db.dispose()

    asyncio.run(run())
    click.echo(f"spoton: created {role} {username!r}.")


if __name__ == "__main__":
    main()
