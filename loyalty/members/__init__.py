"""The shared member pool: what other domains call (login identities, joining, profile, segments)."""

from loyalty.members.pool import (
    bind_phone,
    get_member,
    join,
    joined_member,
    member_for_identity,
    note_store_scan,
    set_consents,
    set_home_grid,
    update_profile,
)
from loyalty.members.segments import (
    Segments,
    import_tags,
    member_segments,
    members_in_segment,
    remove_tag,
    tag_counts,
)

__all__ = [
    "Segments",
    "bind_phone",
    "get_member",
    "import_tags",
    "join",
    "joined_member",
    "member_for_identity",
    "member_segments",
    "members_in_segment",
    "note_store_scan",
    "remove_tag",
    "set_consents",
    "set_home_grid",
    "tag_counts",
    "update_profile",
]
