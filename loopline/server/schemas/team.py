"""Bodies of team mode's routes: who you are, users, keys (the key itself only once), audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from loopline.server.schemas.common import RecordOut, StrictIn
from loopline.team.admin import NAME as USER_NAME


class HealthOut(RecordOut):
    status: str = "ok"
    version: str
    auth: bool = Field(description="whether every request must carry a user")


class WhoamiOut(RecordOut):
    name: str
    role: str
    via: str = Field(description="key, session, header (a trusted proxy) or local (auth off)")


class UserOut(RecordOut):
    name: str
    role: str
    created_at: dt.datetime
    created_by: str
    has_password: bool
    disabled: bool


class UserIn(StrictIn):
    name: str = Field(
        pattern=USER_NAME.pattern,
        description="letters, digits and . _ @ + - (up to 128), a letter or digit first",
    )
    role: str = Field(pattern="^(viewer|labeler|editor|admin)$")
    password: str | None = Field(default=None, min_length=12, max_length=1024)


class UserChangeIn(StrictIn):
    role: str | None = Field(default=None, pattern="^(viewer|labeler|editor|admin)$")
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=1024)


class KeyOut(RecordOut):
    id: str
    user: str
    role: str | None
    label: str
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class KeyIn(StrictIn):
    user: str = Field(min_length=1, max_length=128)
    role: str | None = Field(default=None, pattern="^(viewer|labeler|editor|admin)$")
    label: str = Field(default="", max_length=256)
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)


class NewKeyOut(RecordOut):
    key: str = Field(description="the key itself: shown this once, stored only as a hash")
    record: KeyOut


class AuditEventOut(RecordOut):
    id: int
    at: dt.datetime
    actor: str
    role: str
    origin: str
    action: str
    target: str
    detail: dict[str, Any]
