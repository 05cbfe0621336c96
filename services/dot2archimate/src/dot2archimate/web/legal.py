"""The operator's imprint and privacy texts (legal_settings.yaml), shown as plain escaped text."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Dot2ArchimateError

__all__ = ["LegalPage", "LegalSettings", "LegalSettingsError", "load_legal_settings"]


class LegalSettingsError(Dot2ArchimateError):
    """legal_settings.yaml is unreadable or malformed (raised at start-up, never per request)."""


class LegalPage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(max_length=200)
    text: str = Field(default="", max_length=100_000)

    def paragraphs(self) -> list[list[str]]:
        """Blank-line separated paragraphs, each a list of lines (the template escapes them)."""
        blocks = [b for b in self.text.replace("\r\n", "\n").split("\n\n") if b.strip()]
        return [[line for line in b.strip().split("\n")] for b in blocks]


class LegalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    operator: str = Field(default="", max_length=300)
    contact_email: str = Field(default="", max_length=300)
    footer: str = Field(default="", max_length=1000)
    imprint: LegalPage = LegalPage(title="Imprint", text="The operator has not published an imprint yet.")
    privacy: LegalPage = LegalPage(title="Privacy", text="The operator has not published a privacy notice yet.")


def load_legal_settings(path: Path | None) -> LegalSettings:
    if path is None:
        return LegalSettings()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise LegalSettingsError(f"LEGAL_SETTINGS_FILE {str(path)!r} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise LegalSettingsError(f"LEGAL_SETTINGS_FILE {str(path)!r} is not valid YAML: {exc}") from None
    try:
        return LegalSettings.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LegalSettingsError(f"LEGAL_SETTINGS_FILE {Path(path).name}: {where}: {first['msg']}") from None
