"""Access templates (named level + optional role) as the app edits them (UI-free).

A change is one API write, sent at once when online and queued in the outbox otherwise —
like every other write. Edits and deletes carry the version the user saw
(``expected_version``), so someone else's newer edit is never overwritten.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from partner_api.wire import AccessTemplateIn
from partner_tui.core.safe_text import clean

__all__ = ["Template", "TemplateChange", "create", "delete", "load_templates", "update"]


@dataclass(frozen=True, slots=True)
class Template:
    id: int
    version: int
    name: str
    access_level: str
    role: str | None


@dataclass(frozen=True, slots=True)
class TemplateChange:
    method: str
    path: str
    body: dict[str, Any] | None
    summary: str

    def send(self, api: Any) -> Any:
        """Send it now (``api`` is an ``ApiClient``); raises ApiUnreachable / ApiError."""
        response = api.request(
            self.method, self.path, json=self.body, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        return response.json() if response.content else None


def load_templates(conn: sqlite3.Connection) -> list[Template]:
    return [
        Template(int(i), int(v), clean(n), str(lv), ro)
        for i, v, n, lv, ro in conn.execute(
            "SELECT id, version, name, access_level, role FROM access_template "
            "ORDER BY name COLLATE NB"
        )
    ]


def _body(name: str, level: str, role: str | None, version: int | None = None) -> dict[str, Any]:
    # Validated here, so a bad value is refused before it is sent or queued.
    template = AccessTemplateIn(
        name=name.strip(),
        access_level=level,  # type: ignore[arg-type]
        role=role,  # type: ignore[arg-type]
        expected_version=version,
    )
    return template.model_dump(mode="json", exclude_none=True) | {"role": role}


def create(name: str, level: str, role: str | None) -> TemplateChange:
    body = _body(name, level, role)
    return TemplateChange("POST", "/v1/access-templates", body, f"Ny mal: {body['name']}")


def update(template: Template, name: str, level: str, role: str | None) -> TemplateChange:
    body = _body(name, level, role, template.version)
    return TemplateChange(
        "PUT", f"/v1/access-templates/{template.id}", body, f"Endre mal: {template.name}"
    )


def delete(template: Template) -> TemplateChange:
    return TemplateChange(
        "DELETE",
        f"/v1/access-templates/{template.id}?expected_version={template.version}",
        None,
        f"Slett mal: {template.name}",
    )
