"""My messages (`/mp/v1/messages`): the inbox, unread count, marking read; my message preferences and
WeChat subscriptions."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.inputs import Id
from app.core.pagination import Page, PageParams, page_params, paginate
from loyalty import members, messages
from loyalty.schemas import (
    MessageOut,
    MessagePreferenceOut,
    MessagePreferencesIn,
    MessagePreferencesOut,
    SubscriptionsIn,
    SubscriptionsOut,
    UnreadOut,
)

router = APIRouter(tags=["Mini-program: messages"])


@router.get("/messages", response_model=Page[MessageOut], summary="My messages")
async def my_messages(
    member: Principal = Depends(current_member), page: PageParams = Depends(page_params)
) -> Page[MessageOut]:
    """Every message sent to me, whatever the channel, newest first."""
    rows, cursor = await paginate(messages.messages_of(member.id), page)
    return Page(items=[MessageOut.of(row) for row in rows], next_cursor=cursor)


@router.get("/messages/unread-count", response_model=UnreadOut, summary="My unread messages")
async def unread(member: Principal = Depends(current_member)) -> UnreadOut:
    """How many of my messages I have not read."""
    return UnreadOut(unread=await messages.unread_count(member.id))


@router.post("/messages/read-all", response_model=UnreadOut, summary="Mark all my messages read")
async def read_all(member: Principal = Depends(current_member)) -> UnreadOut:
    """Mark every message read; the unread count afterwards (0)."""
    await messages.mark_all_read(member.id)
    return UnreadOut(unread=await messages.unread_count(member.id))


@router.get(
    "/messages/{message_id}",
    response_model=MessageOut,
    summary="One of my messages",
    responses=problem_responses((404, "message.not_found", "no such message of yours")),
)
async def my_message(message_id: Id, member: Principal = Depends(current_member)) -> MessageOut:
    """A message of mine."""
    return MessageOut.of(await messages.message_of(member.id, message_id))


@router.post(
    "/messages/{message_id}/read",
    response_model=MessageOut,
    summary="Mark one of my messages read",
    responses=problem_responses((404, "message.not_found", "no such message of yours")),
)
async def read(message_id: Id, member: Principal = Depends(current_member)) -> MessageOut:
    """Mark a message read (the first read time stays)."""
    return MessageOut.of(await messages.mark_read(member.id, message_id))


async def _preferences(member_id: int) -> MessagePreferencesOut:
    refused = await messages.opted_out(member_id)
    profile = await members.get_member(member_id)
    return MessagePreferencesOut(
        marketing=profile.marketing,
        kinds=[
            MessagePreferenceOut(
                kind=kind, category=messages.category_of(kind).value, enabled=kind not in refused
            )
            for kind in messages.optional_kinds()
        ],
    )


@router.get("/me/message-preferences", response_model=MessagePreferencesOut, summary="My message preferences")
async def preferences(member: Principal = Depends(current_member)) -> MessagePreferencesOut:
    """The kinds of message I may refuse, and whether I get each."""
    return await _preferences(member.id)


@router.put(
    "/me/message-preferences",
    response_model=MessagePreferencesOut,
    summary="Refuse kinds of message",
    responses=problem_responses((422, "validation_error", "a service kind cannot be refused")),
)
async def set_preferences(
    body: MessagePreferencesIn, member: Principal = Depends(current_member)
) -> MessagePreferencesOut:
    """Set the kinds I refuse; applies to every message not yet sent, including those waiting."""
    await messages.set_opted_out(member.id, body.opted_out)
    return await _preferences(member.id)


@router.post(
    "/messages/wechat-subscriptions",
    response_model=SubscriptionsOut,
    summary="Record my WeChat subscriptions",
)
async def subscriptions(
    body: SubscriptionsIn, member: Principal = Depends(current_member)
) -> SubscriptionsOut:
    """Record the templates I accepted in `requestSubscribeMessage`: each lets one message reach WeChat."""
    return SubscriptionsOut(recorded=await messages.record_subscriptions(member.id, body.results))
