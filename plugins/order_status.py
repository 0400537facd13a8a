"""Order lookup: status, items, carrier, tracking and delivery estimate from the shop's orders API."""

from __future__ import annotations

import os
from typing import Annotated, Any

import httpx
from pydantic import Field

from kotaemon_like.tools import ToolPlugin

# what a customer calls the order they ask after
_THINGS = r"(?:orders?|packages?|parcels?|shipments?|deliver(?:y|ies)|purchases?|stuff|items?)"
# goods named by the customer's own purchase: "the espresso machine I ordered", "that lamp we bought"
_BOUGHT = r"(?:the|that|this|those|these|my|our)\s+(?:[\w-]+\s+){0,3}?(?:i|we)\s+(?:ordered|bought|purchased|paid\s+for)\b"
# what an order does on its way: "has it shipped", "left the warehouse", "get here"
_MOVES = (r"(?:ship\w*|dispatch\w*|sen[dt]|left|leave|arriv\w*|deliver\w*|come|coming|came|go\s+out|went\s+out|get(?:ting)?\s+here"
          r"|be\s+here|here|show\s+up|shown\s+up|turn(?:ed)?\s+up|reach\w*|on\s+(?:its|their)\s+way|out\s+for\s+delivery)")
# the customer's own goods, however named: "my new mattress", "the coffee grinder I ordered"
_MINE = rf"(?:(?:my|our)\s+(?:[\w'-]+\s+){{0,2}}?[\w'-]+|{_BOUGHT})"
# what a customer's own things may be that is no order: "when will my refund arrive?" is no order lookup
_NOT_GOODS = r"(?:refund|money|credit|invoice|receipt|e-?mail|code|password|key|account|card|payment|subscription|warranty|reply|answer)s?\b"
# a message speaking of the customer's own purchase ("my", "I ordered", "bought it on the 8th")...
_OWN = (r"(?:\b(?:my|our)\b|^\W*(?:the\s+)?order\s+(?:for|of|with)\b|\b(?:i|we)\s+(?:ordered|bought|purchased|paid\s+for|placed)\b"
        r"|^\W*(?:(?:hi|hello|hey)\W+)?(?:ordered|bought|purchased|(?:placed|made)\s+(?:an?|my|the)\s+order)\b"
        r"|\b(?:ordered|bought|purchased)\s+(?:it|them|this|that|one)\b)")
# ...and asking where it is or how far it got ("has it been posted?", "still in the warehouse", "what's the ETA")
_PROGRESS = (r"\b(?:where(?:'s|s|\s+is|\s+are)|where\s+(?:on\s+earth|in\s+the\s+world|the\s+(?:hell|heck))\s+(?:is|are)|where\s*abouts"
             r"|how(?:'s|s|\s+is|\s+are)\b.{0,30}\b(?:going|coming\s+along|getting\s+on)"
             r"|arrived?|arrives|arriving|coming|shipped|dispatched|posted|sent\s+out|gone\s+out|go\s+out|went\s+out"
             # nothing came of it yet: "ordered a mat a week ago, nothing yet", "hasn't shown"
             r"|nothing\s+(?:yet|so\s+far|since|has\s+(?:come|arrived|shown\s+up|turned\s+up))|still\s+nothing|no\s+sign"
             r"|(?:has|have)\s*n[o']?t\s+(?:yet\s+)?(?:shown|come|arrived|turned\s+up)"
             # what the shipment is asked after by: "the carrier and tracking code for the stand I ordered"
             r"|carrier|courier\s+(?:name|details)|delivery\s+date|(?:has|did)\s+anything\s+happen(?:ed)?"
             r"|left\s+(?:the|your)|warehouse|depot|on\s+(?:its|their|the)\s+way|out\s+for\s+delivery|eta|status|(?:any|an|no)\s+(?:updates?|news)"
             r"|update\s+on|(?:any|no)\s+(?:movement|progress|info(?:rmation)?)|delayed|postponed|pushed\s+back|rescheduled|late"
             r"|still\s+processing|in\s+transit|stuck|nowhere|tracking|(?:is|was|were|are)\s+due|expecting"
             r"|taking\s+(?:forever|ages|so\s+long|too\s+long|a\s+long\s+time)"
             r"|heard\s+(?:anything|nothing)|what\s+happened\s+to|turned\s+up|shown\s+up|get(?:ting)?\s+here|be\s+here|(?:not|n't)\s+here"
             # "can you check where they are", "no shipping email yet"
             r"|where\s+(?:it|they)\s+(?:is|are|has\s+got(?:ten)?\s+to)|(?:shipping|dispatch|tracking)\s+(?:e-?mail|confirmation|notification|notice)s?"
             r"|been\s+(?:sent|posted|shipped|dispatched))\b")
# the same in Chinese: the customer's own purchase ("我的", "我那件", "买的", "拍的", "下的单")...
_OWN_ZH = r"(?:我(?:们)?(?:的|那|这)|(?:买|订|下单|购买|网购|拍|抢)的|下的单)"
# ...and how far it got, or that nothing came of it ("发了没", "到现在没影", "没消息", "催一下")
_PROGRESS_ZH = (r"(?:发货|发出|发了|寄出|出库|到哪|在哪|到了[吗没]|送到|送来|物流|到货|动静|进度|没到|没收到|还没到|没更新|不更新|没动|卡住"
                r"|延迟|迟迟|没影|(?:有|没|没有)(?:消息|动静|进展)|没信儿|催|待发货)")
# ...unless it reports a problem with it (a ticket) or speaks of something no order is (a refund, a file, the package manager)
_NOT_PROGRESS = (r"\b(?:damag\w*|insur\w*|broken|cracked|smashed|shattered|faulty|defective|missing|wrong|complain\w*|ruined|torn|dented|leak\w*"
                 r"|refund\w*|password|account|invoice|warranty|bug|install\w*|upgrad\w*|apt|dpkg|aptitude|repositor\w*|kernel|mirror"
                 r"|files?|folders?|director(?:y|ies)|config\w*|settings?|logs?|stored|kept|located|saved|cache"
                 r"|(?<!shipping\s)(?<!dispatch\s)(?<!tracking\s)(?:e-?mails?|confirmation)|(?<!tracking\s)codes?|payments?|cards?|charges?)\b")

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
    examples = (  # the customer's own order, asked after in many ways
        "where is my order",
        "where is my package",
        "track my order",
        "has my order shipped yet",
        "what is the status of my order",
        "when will my order arrive",
        "my parcel has not arrived",
        "tracking number for my order",
        "I have not received my delivery yet",
        "my order still hasn't arrived",
        "check order 12345",
        "我的订单到哪了",
        "查一下我的订单",
        "我的包裹什么时候到",
        "我的快递还没到",
        "订单发货了吗",
        "查询订单物流",
        "我买的东西还没发货",
    )
    counter_examples = (  # general questions the knowledge base answers, though they mention orders and packages
        "how long does shipping take",
        "how much does delivery cost",
        "do you ship internationally",
        "how do I cancel an order",
        "what is your return policy",
        "how do I install a package",
        "how do I hold back a package from being upgraded",
        "how do I remove a package",
        "what is a package",
        "which package contains this file",
        "in what order are the scripts run",
        "how do I check the status of a package",
        "如何安装软件包",
        "怎么删除软件包",
        "什么是软件包",
        "发货需要几天",
        "运费怎么算",
        "订单取消后怎么退款",
        "订单可以取消吗",
    )
    # request forms (see ToolPlugin.intents): the customer's own order asked after; a question for general
    # information ("how do I track a package?", "怎么查看订单状态") never counts
    intents = (
        # the customer's own purchase and how far it got, in any words: "ordered headphones on Friday, haven't heard anything since"
        rf"^(?!.*{_NOT_PROGRESS})(?=.*{_OWN}).*{_PROGRESS}",
        # waiting for it is the customer's own order too: "still haven't received the rice cooker"
        rf"^(?!.*{_NOT_PROGRESS}).*(?:n't|\bnot|\bnever|\byet\s+to)\s+(?:received|receive|gotten|got)\s+(?:the|my|our|it|them|a|an|any)\b",
        # the same in Chinese: the customer's own purchase ("我的", "买的", "下的单") and how far it got ("发货没有", "到哪了")
        r"^(?!.*(?:退款|退货|坏|碎|裂|投诉|错|少了|破|漏|怎么办|软件|安装|升级|什么(?!时候)|是否|哪家|哪个|(?:能|会).{0,10}吗))"
        rf"(?=.*{_OWN_ZH})"
        rf".*{_PROGRESS_ZH}",
        rf"\bwhere(?:\s+the\s+(?:hell|heck|fuck))?(?:'s|s|\s+is|\s+are|\s+has)?\s+(?:my|our)\s+(?:(?:\w+\s+){{0,2}}{_THINGS}|\w+\W*$)",
        # "where's the stuff I ordered", "when does what we bought arrive": the customer's own purchase
        # ("the website said 69.99 when i bought it": "when I bought" says when, it asks nothing)
        r"\b(?:where(?:'s|s)?|when(?!\s+(?:i|we)\b))\b.{0,30}\b(?:i|we)\s+(?:ordered|bought|purchased|paid\s+for)\b",
        # "where's my blender, ordered it a week ago", "ordered a rug two weeks ago, where is it?"
        r"\bwhere(?:'s|s|\s+is|\s+are)\s+(?:my|our)\s+[\w-]+(?:\s+[\w-]+)?\W+(?:(?:i|we)\s+)?(?:ordered|bought|purchased|paid\s+for)\b"
        r"|\b(?:ordered|bought|purchased|paid\s+for)\b.{0,40}\bwhere(?:'s|s|\s+is|\s+are)\s+(?:it|they|them|this|that)\b"
        r"(?!\s+(?:stored|kept|saved|installed|located|configured|shown|listed))",
        # the goods named by their purchase: "has the espresso machine I ordered on the 3rd left the warehouse?"
        rf"\b(?:has|have|did|is|was|are|were)\b.{{0,6}}\b{_BOUGHT}.{{0,40}}\b{_MOVES}\b",
        rf"\b(?:when|how\s+(?:long|soon)|what\s+(?:time|day))\b.{{0,25}}\b{_BOUGHT}.{{0,30}}\b{_MOVES}\b",
        rf"\b(?:status|update|news|eta|word|whereabouts)\b.{{0,20}}\b{_BOUGHT}|\bwhere(?:'s|s|\s+is|\s+are)\s+{_BOUGHT}",
        rf"\b{_BOUGHT}.{{0,40}}(?:\bnot|\bnever|n't|\bstill|\byet|\b(?:meant|supposed|due)\s+to|\bshould\s+have)\b.{{0,20}}\b{_MOVES}\b",
        # the tracking of the customer's own order shows nothing: "the DHL link for my delivery shows nothing"
        r"^(?=.*\b(?:my|our)\b).*\b(?:tracking|link|status|page|app)\b.{0,30}\b(?:says|shows|showing|gives|displays|say|show)\s+"
        r"(?:nothing|no\s+(?:info\w*|update\w*|details?|results?|movement)|(?:an?\s+)?error|not\s+found)\b"
        r"|\btracking\b.{0,25}\b(?:hasn'?t|has\s+not|not|hasnt|never)\s+(?:been\s+)?(?:updated|moved|changed)\b",
        r"\b(?:still\s+waiting|waiting\b.{0,20}\b(?:for|on)\s+(?:my|our))\b",
        r"\b(?:ordered|bought|purchased|paid)\b.{0,40}\b(?:nothing\s+yet|still\s+nothing|no\s+sign\s+of\s+it|nothing\s+so\s+far)\b",
        # "wondering where my new laptop is": the whereabouts of anything of the customer's (not where it is stored)
        r"\bwhere\s+(?:my|our)\s+(?:[\w-]+\s+){0,2}[\w-]+\s+(?:is|are)\b(?!\s+(?:stored|kept|saved|installed|located|configured))",
        rf"\b(?:track|trace|check|find|locate|look\s?up|follow|look\s+into|see\s+about|chase(?:\s+up)?)\b.{{0,20}}\b(?:my|our)\b.{{0,12}}\b{_THINGS}",
        rf"^\W*(?:track|trace|check)\s+(?:an?\s+|the\s+)?{_THINGS}\W*$",
        rf"\b(?:status|update|news|eta|tracking|whereabouts)\b.{{0,25}}\b(?:my|our)\b.{{0,12}}\b{_THINGS}",
        rf"\b(?:status|update|news|eta|whereabouts)\b(?=.{{0,40}}\b(?:my|our)\b).{{0,25}}\b{_THINGS}",
        r"(?:\b(?:my|our)\b|\b(?:i\s+)?(?:ordered|bought|purchased)\b).{0,40}(?:\bnot|\bnever|n't|\bstill|\byet)\b.{0,15}"
        r"\b(?:shipped|dispatched|sent|left|arrived?|come|came|delivered|received|shown\s+up|show\s+up|turned\s+up|turn\s+up|here)\b",
        r"(?:\bnot|\bnever|n't)\b.{0,15}\b(?:received|gotten|got)\b.{0,10}\b(?:my|our)\b",
        # "package still not here": the thing itself, named without an article, is the customer's own
        rf"(?:^|\bthe\s+){_THINGS}\b.{{0,15}}(?:\bnot|\bnever|n't|\bnt)\b.{{0,12}}\b(?:here|arrived?|come|came|delivered|received"
        r"|sh[oe]wn?\s+up|show(?:ed)?\s+up|turn(?:ed)?\s+up|shipped)\b",
        # when / how soon / how far is the customer's own order: a question about it, not about orders in general
        rf"\b(?:when|how\s+(?:long|soon)|what\s+(?:time|day))\b.{{0,25}}\b(?:my|our)\s+(?:\w+\s+){{0,2}}{_THINGS}\b.{{0,25}}"
        r"\b(?:arriv\w*|come|coming|get\s+here|be\s+here|deliver\w*|ship\w*|dispatch\w*|sent|show\s+up|reach\w*|turn\s+up)",
        rf"\b(?:how\s+far(?:\s+away)?|what(?:'s|s|\s+is)\s+(?:happening|going\s+on|up|the\s+hold\s?up|the\s+delay))\b.{{0,20}}"
        rf"(?:\b(?:my|our)\s+(?:\w+\s+){{0,2}}{_THINGS}\b|\b{_BOUGHT})",
        r"\b(?:has|have|did|is|was)\b.{0,6}\b(?:my|our)\b.{0,20}\b(?:ship(?:ped)?|dispatch(?:ed)?|sen[dt]|left|leave|arrived?"
        r"|deliver(?:ed)?|come|came|go\s+out|went\s+out|out\s+for\s+delivery|on\s+(?:its|their)\s+way|get\s+here|turned\s+up)\b",
        # whether the customer's own goods have moved: "can you tell me if the grinder I ordered is out for delivery?"
        rf"\b(?:whether|if)\s+{_MINE}\s+(?:[\w'-]+\s+){{0,2}}?(?:has|have|is|are|was|were|had)\s+(?:been\s+|already\s+|now\s+|yet\s+)?{_MOVES}\b",
        # "when's my laptop coming?", "how soon will my new sofa get here?"
        rf"\b(?:when|how\s+soon)(?:'s|s|\s+(?:will|is|does|do|should|would|are|can|'ll))?\s+(?:my|our)\s+(?!{_NOT_GOODS})"
        rf"(?:[\w'-]+\s+){{1,3}}?(?:be\s+)?{_MOVES}\b",
        # "still no sign of the chairs I bought", "any news on my kettle?", "ordered a toaster on the 1st, any updates?"
        rf"\b(?:no|any)\s+(?:sign|news|word|update|trace)s?\s+(?:yet\s+)?(?:of|on|about|from|regarding)\s+(?:(?:my|our)\s+(?!{_NOT_GOODS})|{_BOUGHT})"
        r"|\b(?:ordered|bought|purchased|paid\s+for)\b.{0,50}\b(?:any|no)\s+(?:news|updates?|word|idea|eta|info)\b"
        r"|^\W*(?:my\s+|the\s+|an?\s+)?order\s+(?:(?:i|we)\s+)?(?:placed|made)\b.{0,40}\b(?:status|update|news|eta|where)\b",
        # "the blender still hasn't arrived": a thing the customer waits for, named at the start
        r"^\W*(?:the|my|our)\s+(?:[\w'-]+\s+){1,2}?(?:still\s+)?(?:has\s*n[o']?t|have\s*n[o']?t|hasnt|havent|is\s*n[o']?t|isnt|not|never)"
        r"\s+(?:yet\s+)?(?:been\s+)?(?:arrived|come|shipped|dispatched|delivered|turned\s+up|shown\s+up|here)\b",
        # "it's been 10 days and nothing has arrived": nothing came of what the customer ordered
        r"\b(?:nothing|none\s+of\s+it)\b.{0,12}\b(?:arrived|come|came|here|shown\s+up|turned\s+up|been\s+delivered|been\s+shipped)\b"
        r"|\b(?:says|shows|showing|marked|tracking)\s+(?:as\s+|it\s+was\s+)?delivered\b.{0,10}\b(?:but|yet|though)\b"
        r"|(?:\bnot|\bnever|n't)\b.{0,10}\b(?:received|gotten|got)\s+(?:anything|a\s+thing)\b",
        rf"\b(?:my|our)\s+{_THINGS}\s+(?:has|have|was|is)\s+(?:been\s+|already\s+)?(?:shipped|dispatched|sent|left)\b",
        r"\b(?:has|have|did)\s+(?:you|it|they)(?:\s+(?:guys|people|all))?\s+(?:been\s+)?(?:ship|send|dispatch|post|shipped|sent|dispatched|posted)\b",
        # the order itself lost or late; "half the items in my order are missing" is a problem with its contents (a ticket)
        rf"(?<!\bin\s)(?<!\bfrom\s)(?<!\bof\s)(?<!\bhalf\s)\b(?:my|our)\b.{{0,20}}\b{_THINGS}\b.{{0,20}}\b(?:late|delayed|lost|missing|stuck)\b",
        r"^\W*(?:(?:i\s+)?need\s+(?:the\s+|my\s+|a\s+)?|my\s+)?(?:tracking(?:\s+(?:number|info|code|link))?"
        r"|(?:order|delivery|shipping|parcel|package)\s+(?:status|tracking|update))(?:\s+(?:please|pls|plz))?\W*$",
        r"(?:查|跟踪|追踪|看看|看下|看一下).{0,6}(?:订单|包裹|快递|物流|单号)|(?:查|看|跟踪|追踪)(?:一下|一查|下)?.{0,8}(?:买|订|下单|购买)的",
        # "我的吸尘器怎么还没发货"
        r"我(?:们)?的.{1,8}?(?:怎么|咋|为什么|为啥)?(?:还没|还不|一直没|迟迟没|没)有?(?:到|发货|发出|寄|送到|送来|收到|动静|消息)",
        r"(?:下单|下的单|买了|订了|付款|付了款|付了钱).{0,12}(?:还没|没到|没收到|没发货|未到|未收到|没动静)",
        r"我(?:们)?.{0,4}(?:买|订|购买|下单|网购)的.{0,10}(?:到哪|在哪|哪儿|还没|没到|没收到|什么时候到|何时到|发货|寄出|发出|发了|出库|送到|到了[吗没])",
        # the goods named by when they were bought: "前天订的耳机怎么还没到", "上个月下单的沙发还没消息"
        r"(?:昨天|前天|大前天|前[一二两三四五六七八九十几]+天|几天前|这几天|上周|上个?月|上个?星期|上礼拜|\d+\s*[号日]|[一二两三四五六七八九十\d]+\s*(?:天|周|个星期|个月)(?:以?前|之前))"
        r"(?:买|订|购买|下单|网购|下)的.{0,10}(?:到哪|在哪|哪儿|还没|没到|没收到|什么时候(?:能|会|可以)?(?:到|送到|送来|发货)|何时到|发货|发出|寄出|出库|送到|到了[吗没]|没消息|没动静)",
        # (what is in it not received, "订单 64172 里的充电线没收到", is a short delivery: a ticket; where the orders are in
        # the app, "历史订单在哪个菜单下面", is a question about the app)
        r"(?:订单|包裹|快递|物流|东西|(?<![退发到进订交换提收])货|单子)(?![^，。！？,.!?]{0,10}?[里中](?:面)?的[^，。！？,.!?]{0,8}?没收到).{0,14}(?:到哪|在哪(?!个?(?:菜单|页面|页|栏|入口|按钮|选项|界面|板块|模块|标签|设置))|哪儿|哪里|还没|没到|没收到|什么时候(?:能|会|可以)?到|何时到|发货了吗|发了吗|发货了没|寄出|状态|进度|查"
        r"|没动|不动了|没更新|卡住|丢了|怎么样了|咋样了|什么情况|啥情况|有消息吗|有进展吗)",
        r"我(?:们)?的(?:订单|包裹|快递|货|东西|单子)呢",
    )
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
