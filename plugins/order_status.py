"""Order lookup: status, items, carrier, tracking and delivery estimate from the shop's orders API."""

from __future__ import annotations

import os
from typing import Annotated, Any

import httpx
from pydantic import Field

from kotaemon_like.tools import ToolPlugin

STATUS_TEXT = {
    "processing": "is being prepared and has not shipped yet",
    "shipped": "has shipped",
    "in_transit": "is on its way",
    "out_for_delivery": "is out for delivery today",
    "delivered": "was delivered",
    "delayed": "is delayed",
    "cancelled": "was cancelled",
    "returned": "was returned",
}


class OrderStatus(ToolPlugin):
    name = "order_status"
    description = "Look up an order by its 5-digit order number: status, items, carrier, tracking number and expected delivery date."
    label = "order lookup"
    examples = (
        "where is my order",
        "where is my package",
        "track my order",
        "has my order shipped yet",
        "what is the status of my order",
        "when will my order arrive",
        "my parcel has not arrived",
        "tracking number for my order",
    )
    counter_examples = (  # general questions the knowledge base answers
        "how long does shipping take",
        "how much does delivery cost",
        "do you ship internationally",
        "how do I cancel an order",
        "what is your return policy",
    )
    keywords = ("order", "package", "parcel", "tracking", "shipped", "delivery")
    patterns = {"order_id": r"(?<!\d)#?(\d{5})(?!\d)"}
    questions = {"order_id": "What is your order number? It is the 5-digit number in your order confirmation email."}

    class Settings(ToolPlugin.Settings):
        base_url: str = Field(default_factory=lambda: os.environ.get("ORDERS_URL", "http://127.0.0.1:8081"))

    async def run(
        self, order_id: Annotated[str, Field(description="the 5-digit order number, e.g. 12345", pattern=r"^\d{5}$")]
    ) -> str:
        # no client-side timeout of our own: the runner's per-call timeout cancels this coroutine
        async with httpx.AsyncClient(base_url=self.settings.base_url, timeout=None) as client:
            response = await client.get(f"/orders/{order_id}")
        if response.status_code == 404:
            return f"I could not find an order with the number {order_id}. Please check the number in your confirmation email."
        response.raise_for_status()  # a 5xx is the service failing: it counts against the breaker
        return describe_order(response.json())


def describe_order(order: dict[str, Any]) -> str:
    items = ", ".join(f"{i['quantity']} x {i['name']}" if i["quantity"] > 1 else i["name"] for i in order["items"])
    status = order["status"]
    text = f"Order {order['id']} ({items}) {STATUS_TEXT.get(status, f'has status {status}')}"
    if status == "delivered" and order.get("delivered_at"):
        text += f" on {order['delivered_at']}"
    elif order.get("eta") and status not in ("cancelled", "returned"):
        text += f"; expected delivery: {order['eta']}"
    if order.get("carrier") and order.get("tracking") and status not in ("cancelled", "processing"):
        text += f". Carrier: {order['carrier']}, tracking number {order['tracking']}"
    return text + "."
