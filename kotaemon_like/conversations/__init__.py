"""The customer-service layer above a chat turn: owned conversations, the hand-off to people, tickets,
ratings and staff accounts, behind the `ConversationStore` contract (SQLite embedded, PostgreSQL in the stack)."""

from .models import DEFAULT_TENANT
from .records import AGENT, BOT, CLOSED, WAITING, ChatMessage, Conversation, QueueEntry, Rating, StaffUser, Ticket, TicketEntry
from .store import ConversationNotFound, ConversationStore, StateConflict

__all__ = [
    "AGENT", "BOT", "CLOSED", "DEFAULT_TENANT", "WAITING", "ChatMessage", "Conversation", "ConversationNotFound",
    "ConversationStore", "QueueEntry", "Rating", "StaffUser", "StateConflict", "Ticket", "TicketEntry",
]
