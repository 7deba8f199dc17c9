"""Course covers as the API answers them (README, "Configuration": LUFFY_MEDIA_URL): the absolute
URL of a stored file name under the media base. Written here from the README's rule, not from the
service's code, for the tests that compare answers with the database."""

import re
from urllib.parse import quote

from conftest import SETTINGS

MEDIA_URL = SETTINGS.get("LUFFY_MEDIA_URL", "")


def cover_url(stored, base=None):
    """NULL stays null, empty stays empty, an http(s) URL stays as it is; otherwise the base plus the
    name's segments, each percent-encoded but for RFC 3986's unreserved characters, without empty,
    `.` and `..` segments."""
    if stored is None or stored == "":
        return stored
    if re.match(r"(?i)https?://", stored):
        return stored
    segments = [quote(s, safe="") for s in stored.split("/") if s not in ("", ".", "..")]
    return (base or MEDIA_URL) + "/".join(segments) if segments else ""
