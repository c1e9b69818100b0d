"""The one write path of the ticket core: open, post, transition, assign, change.

Every function locks what it changes, records an event and sends side effects only
after commit. Views, admin, webhooks and tasks call these and never save models.
"""

from complaints.services.citizens import (
    Sender,
    api_token_for,
    identify_citizen,
    identify_citizens,
    register_citizen,
)
from complaints.services.handover import write_handover_note
from complaints.services.lifecycle import (
    assign_ticket,
    change_ticket_details,
    close_resolved_tickets,
    transition_ticket,
)
from complaints.services.messages import (
    NewAttachment,
    NewTicket,
    add_attachments,
    open_conversations,
    open_ticket,
    open_ticket_once,
    open_tickets,
    post_message,
    post_replies,
)
from complaints.services.ratings import rate_ticket, record_rating
from complaints.services.replies import fill, placeholders_in, reply, reply_is_public, status_block

__all__ = [
    "NewAttachment",
    "NewTicket",
    "Sender",
    "add_attachments",
    "api_token_for",
    "assign_ticket",
    "change_ticket_details",
    "close_resolved_tickets",
    "fill",
    "identify_citizen",
    "identify_citizens",
    "open_conversations",
    "open_ticket",
    "open_ticket_once",
    "open_tickets",
    "placeholders_in",
    "post_message",
    "post_replies",
    "rate_ticket",
    "record_rating",
    "register_citizen",
    "reply",
    "reply_is_public",
    "status_block",
    "transition_ticket",
    "write_handover_note",
]
