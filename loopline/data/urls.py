"""Source URLs as they may be shown and stored: without passwords."""

from __future__ import annotations

import re
import urllib.parse

# Query-string keys that carry secrets in database and storage URLs (`?password=...`).
_SECRET_KEYS = {"password", "passwd", "pwd", "secret", "token", "access_key", "secret_key", "sas_token"}
_AUTHORITY = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<authority>[^/?#]*)(?P<rest>.*)$", re.DOTALL
)


def redact_url(url: str) -> str:
    """`url` without its password (`user:secret@host` keeps `user@host`) and without secret
    query parameters (`?password=...`), for records and messages."""
    match = _AUTHORITY.match(url)
    if match is None:
        return url
    authority, rest = match["authority"], match["rest"]
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        user = userinfo.partition(":")[0]
        authority = f"{user}@{host}" if user else host
    path, mark, query = rest.partition("?")
    if mark:
        query, hash_mark, fragment = query.partition("#")
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        kept = [(key, value) for key, value in pairs if key.lower() not in _SECRET_KEYS]
        if len(kept) != len(pairs):
            query = urllib.parse.urlencode(kept, safe="/:")
        rest = path + (f"?{query}" if query else "") + hash_mark + fragment
    return match["scheme"] + authority + rest
