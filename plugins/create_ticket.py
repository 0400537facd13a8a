"""Opens a support ticket in the conversation store and tells the customer its number."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field

from kotaemon_like.tools import ToolContext, ToolError, ToolPlugin

# a faulty item, as a customer describes it
_FAULT = (r"\b(?:broken|broke|damaged|defective|faulty|cracked|smashed|shattered|crushed|dented|bent|chipped|scratched|torn|ripped|leaks|leaking|dead|melted|stopped\s+working|snapped|(?:came|fell|broke)\s+(?:off|apart)|stops\s+(?:working|after|every)|keeps\s+(?:stopping|turning\s+off|cutting\s+out)|cuts\s+out|overheat(?:s|ing)?|smells?\s+(?:of\s+|like\s+)?(?:[\w-]+\s+)?(?:burn(?:ing|t)|smoke|gas)"
          r"|sparks|sparking|smokes|smoking|rattles|rattling|mak(?:es|ing)\s+(?:an?\s+)?(?:[\w-]+\s+){0,2}(?:noises?|sounds?)|buzz(?:es|ing)|beep(?:s|ing)|shows?\s+(?:an?\s+)?error"
          r"|crackl\w+|hiss(?:es|ing)|flicker\w*|caught\s+fire|on\s+fire|burn(?:t|ed)\s+out|exploded|blew\s+up|short[- ]?circuited|fell\s+apart"
          r"|(?:does\s*n[o']?t|doesnt|do\s*n[o']?t|dont|won'?t|not)\s+(?:work|working|turn\s+on|start|charge|cool|cooling|heat|heating|charging"
          r"|spin|spinning|drain|draining|print|printing|switch\s+on|power\s+on|turning\s+on|pair|connect|close|open|lock|fit|boil|cook"
          r"|play|load|sync|respond|light\s+up|stay\s+on|hold\s+a\s+charge)"
          r"|(?:stopped|stops|quit)\s+[a-z]+ing|no\s+longer\s+[a-z]+s?)\b")
_FAULT_ZH = (r"(?:坏了|碎了|摔坏|摔碎|摔裂|压坏|压碎|压扁|断了|烧坏|着火|起火|少了|缺了|少发|漏发|歪了|是歪的|变形|刮花|刮坏|弄坏|弄脏"
             r"|弄丢|有(?:个|一个|好几个|几个)?(?:洞|破洞|裂缝|裂痕|污渍|划痕)|破了|开线|掉色|褪色|生锈|发霉|重复扣款|扣了两次|多扣"
             r"|有问题|出问题|出了问题|划痕|划伤|凹陷|是碎的|是坏的|是破的|是裂的|裂了|裂开|烧了|冒烟|漏水|漏电|漏了|故障|质量问题"
             r"|不能用|用不了|不工作|开不了机|打不开|发错(?:货|了|东西)?|破损|损坏|坏掉|没声音|没反应|不亮|失灵|死机"
             r"|充不(?:了|进)电|不能充电|不制冷|不加热|不出水|跳闸|短路|(?:扣|收)了?我?(?:两|二|2)次(?:款|钱|费)?|少件|缺件|少寄|漏寄|发少了"
             # a function lost or a fit wrong: "不保温", "套不上", "尺寸不对"
             r"|不(?:保温|制冷|制热|出风|转|响|启动|开机|合身|合适)|(?:套|装|穿|关|扣|插)不上|尺[码寸](?:不对|不合|错了|偏大|偏小))")
# damage done in delivery, or an item as it arrived: "the lamp is smashed", "the vase arrived in pieces"
_DAMAGED = (r"(?:cracked|smashed|shattered|dented|crushed|chipped|ruined|soaked|soaking(?:\s+wet)?|drenched|water[- ]damaged|soggy|melted"
            r"|in\s+pieces|snapped\s+in\s+(?:half|two))")
# the customer's own item, as a report speaks of it ("my", "I got", "you sent", "the ... I ordered", a statement opening
# with "the ...") and what is physically wrong with it: no software is cracked, torn or sent instead of another
_OWN_ITEM = (r"(?:\b(?:my|our)\b|\b(?:i|we)\s+(?:got|received|bought|ordered|purchased)\b|\byou\s+(?:sent|delivered|gave|shipped)\b"
             r"|^\W*the\b)")
_PHYSICAL = (r"\b(?:cracked|smashed|shattered|dented|crushed|chipped|scratched|torn|ripped|ruined|soaked|soaking\s+wet|drenched|water[- ]damaged"
             r"|snapped|bent|stained|mouldy|moldy"
             r"|(?:came|coming|come|comes)\s+(?:off|apart|loose|open|undone)|(?:fell|falling|fall|falls)\s+(?:off|apart|out)|in\s+pieces"
             r"|faded|shr[au]nk|discolou?red|peel(?:ed|ing)|fray(?:ed|ing)|rust(?:ed|y)|an?\s+(?:big\s+|huge\s+|small\s+)?(?:tear|hole|crack|dent|scratch|stain)"
             r"|sparks?|caught\s+fire|jamm(?:ing|ed|s)|wobbl\w+|instead\s+of|wrong\s+(?:size|colou?r|item|model|one|thing|product)"
             r"|(?:are|is|were|was)\s+missing)\b")
# who handled the customer's delivery or call
_STAFF = (r"(?:staff|driver|courier|agent|employee|rep|representative|delivery\s+(?:guy|man|driver|person|people|company|team)"
          r"|postman|postie|call\s+cent(?:re|er)|support(?:\s+team)?|team|manager|cashier)")
# how many came of how many were ordered: "only 2 of the 4 chairs came"
_COUNT = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|half)"
# what came is short, someone else's, or billed wrong: a problem with the customer's order, not a question where it is, so
# an order number in the message ("order 22950") does not make it an order lookup (a request form beats a named case)
_SHORT = (rf"\bonly\s+(?:got\s+|received\s+)?{_COUNT}\s+(?:of|out\s+of)\s+(?:the\s+|my\s+|our\s+)?{_COUNT}\b"
          r"|\b(?:came|arrived|was\s+delivered|were\s+delivered|turned\s+up)\s+(?:without|missing)\s+(?:an?|the|its|their|one|two|any|some|\d+)\b"
          r"|\b(?:half|part|some|most|one|two|three)\s+(?:of\s+)?(?:my|our|the)\s+(?:[\w-]+\s+)?(?:order|parcel|package|delivery|shipment|box)"
          r"\s+(?:is|are|was|were|went)\s+missing\b")
_NOT_MINE = (r"\b(?:is\s*n[o']?t|isnt|is\s+not|was\s*n[o']?t|wasnt|was\s+not|are\s*n[o']?t|are\s+not|not)\s+(?:mine|ours|for\s+(?:me|us))\b"
             r"|\bnot\s+what\s+(?:i|we)\s+(?:ordered|bought|paid\s+for|asked\s+for|chose)\b"
             r"|\b(?:someone|somebody)\s+else'?s\s+(?:name|address|order|parcel|package|stuff|things?|items?|shopping)\b"
             r"|\baddressed\s+to\s+(?:someone|somebody)\s+else\b")
_BILLED_WRONG = (r"\b(?:invoices?|receipts?|bills?|billing)\b.{0,40}\b(?:wrong|incorrect|mistakes?|errors?|misspel(?:t|led))\b"
                 r"|\b(?:wrong|incorrect)\b.{0,30}\b(?:on|in)\s+(?:my|the|our|this)\s+(?:invoice|receipt|bill)\b"
                 r"|\b(?:charged|billed)\s+(?:me\s+|us\s+)?(?:the\s+)?(?:wrong|incorrect)\b")
URGENT = re.compile(r"\b(urgent|asap|immediately|emergency)\b", re.IGNORECASE)


class CreateTicket(ToolPlugin):
    name = "create_ticket"
    description = "Open a support ticket for a problem the assistant cannot solve, a complaint, or a request for a call back."
    label = "ticket system"
    examples = (
        "I want to file a complaint",
        "I want to make a complaint",
        "please open a support ticket",
        "I need to report a problem with my product",
        "the item I received is broken",
        "I want someone to call me back",
        "please create a ticket for this issue",
        "log a ticket for me",
        "I want to escalate this",
        "my product arrived damaged",
        "我要投诉",
        "请帮我提交一个工单",
        "帮我建一个工单",
        "我收到的商品坏了",
        "请让客服给我回电话",
        "东西坏了",
        "我要申请售后",
    )
    counter_examples = (  # questions about tickets and bug reports, not a request to open one
        "what is your refund policy",
        "how do I return an item",
        "how do I report a bug",
        "what is a bug ticket",
        "how does the bug tracking system work",
        "如何报告错误",
        "退款政策是什么",
    )
    # request forms (see ToolPlugin.intents): asking for a ticket, a complaint, a call back, or reporting the
    # customer's own faulty item; "how do I report a bug?" asks for information and never counts
    intents = (
        r"\b(?:open|raise|file|log|create|submit|make|start|lodge|register|put\s+in)\b.{0,20}\b(?:ticket|case|complaint|claim|report|concern)\b",
        # the customer's own item physically wrong: "the sofa you delivered has a big tear in it", "the handle came off"
        rf"^(?=.*{_OWN_ITEM}).*{_PHYSICAL}",
        r"\b(?:open|raise|file|log|create|submit|lodge|register|report)\b.{0,12}\b(?:issue|problem|fault|defect)\b",
        r"\b(?:need|want|get)\b.{0,10}\bticket\b",
        # the record asked for, then the verb: "need a case opened", "I want a complaint filed about this"
        r"\b(?:ticket|case|complaint|claim|report)\s+(?:opened|raised|filed|logged|lodged|created|started|registered|submitted)\b",
        # what the customer wants the matter to become: "can you chase it up as a ticket", "I want this on record as a
        # complaint" (not "is this treated as a complaint?")
        r"\b(?:want|like|need|please|pls|can\s+you|could\s+you)\b.{0,25}\b(?:it|this|that)\b.{0,15}\bas\s+an?\s+(?:ticket|case"
        r"|complaint|formal\s+complaint)\b",
        r"^\W*(?:an?\s+|the\s+)?(?:support\s+)?(?:ticket|complaint)(?:\s+(?:please|pls|plz|now))?\W*$",
        # a complaint as a headline: "complaint about late delivery"
        r"^\W*(?:an?\s+|my\s+)?(?:formal\s+|official\s+)?complaint(?:\s*[:\u2013\u2014-]|\s+(?:about|regarding|re|against|on|for|over)\b)",
        # how the customer was treated: "I was treated very badly by your staff", "your driver was rude"
        r"\b(?:i|we)\s+(?:was|were|have\s+been|got|felt)\s+(?:\w+\s+){0,2}?(?:treated|spoken\s+to|talked\s+to|insulted|ignored|shouted\s+at"
        r"|hung\s+up\s+on|lied\s+to|mistreated|overcharged|scammed|ripped\s+off|threatened|harassed)\b",
        rf"\b(?:unhappy|not\s+happy|disappointed|upset|angry|furious|disgusted|appalled|dissatisfied|fed\s+up|shocked)\s+(?:with|about|by|at)"
        rf"\s+(?:how|the\s+way|the\s+(?:service|treatment)|(?:your|the)\s+(?:\w+\s+)?{_STAFF})"
        rf"|\b(?:how|the\s+way)\s+(?:your|the)\s+(?:\w+\s+)?{_STAFF}\s+(?:handled|treated|spoke|talked|dealt|behaved|responded|acted)\b",
        # a wrong, missing or double-charged order: "I received the wrong item", "I was charged twice"
        r"\b(?:received|got|sent\s+(?:me|us)|delivered|arrived\s+with)\s+(?:the\s+|a\s+)?wrong\b|\b(?:received|got|sent\s+me)\s+(?:someone|somebody)\s+else'?s\b",
        # being ignored: "your team keeps ignoring my emails"
        r"\b(?:ignor(?:ed|ing|es)|not\s+answer(?:ed|ing)|never\s+(?:answer|repl)\w*)\s+(?:my|me|us|our)\b",
        # a visit or a call that never came: "nobody showed up for my repair appointment", "no one called back"
        r"\b(?:nobody|no\s+one|no-one)\s+(?:ever\s+)?(?:called(?:\s+(?:me\s+)?back)?|answered|replied|got\s+back)\b"
        r"|^(?=.*\b(?:appointment|visit|repair|engineer|technician|install\w*|fitting)\b).*\b(?:nobody|no\s+one|no-one)\s+(?:showed\s+up|came|turned\s+up)\b"
        r"|\bwrong\s+(?:item|size|colou?r|product|model|thing|parcel|order)\s+(?:was\s+)?(?:sent|delivered|arrived|came|in\s+my)\b"
        r"|\b(?:i|we)\s+(?:was|were|have\s+been|got)\s+(?:double[- ]?|over)?charged\b|\bcharged\b.{0,20}\b(?:twice|two\s+times|double)\b"
        r"|\b(?:parts?|pieces?|items?|screws?|cables?|chargers?|lids?)\s+(?:is|are|was|were)\s+missing\s+from\s+(?:my|the|our)\b",
        r"(?:快递员|快递小哥|送货员|配送员|司机|师傅|客服|店员|工作人员|售后).{0,8}(?:(?:态度|服务).{0,4}(?:差|不好|恶劣|粗鲁|冷漠)"
        r"|没礼貌|不礼貌|粗鲁|很凶|骂人|不耐烦)|(?:骂|凶|吼)了?我",
        rf"\b(?:your|the|this|that)\s+(?:\w+\s+)?{_STAFF}\s+(?:was|were|is|are|has\s+been|have\s+been)\s+(?:\w+\s+)?(?:rude|unhelpful"
        r"|aggressive|abusive|dismissive|disrespectful|unprofessional|awful|horrible|terrible|impolite|condescending)\b",
        # damage done by the delivery: "your driver threw my parcel over the fence", "the courier dropped it in a puddle"
        r"\b(?:driver|courier|delivery\s+(?:guy|man|driver|person|people|company|team)|postman|postie|carrier|engineer|technician|fitter"
        r"|installer|plumber|electrician)\b.{0,15}\b(?:threw|thrown"
        r"|tossed|dropped|kicked|damaged|broke|smashed|crushed|dented|ruined|soaked|left\s+(?:it|them|my|the|our)\b)",
        # the customer's item as it is now: "the glass table top is cracked", "the vase arrived in pieces"
        rf"\b(?:the|my|our|its|this|that|it|they)\b(?:\s+[\w-]+){{0,3}}?\s+(?:is|are|was|were|arrived|came|got|has\s+been|have\s+been)"
        rf"\s+(?:\w+\s+)?{_DAMAGED}\b",
        # asking that it be reported: "can you report it for me", "please log this", "I want it on record"
        r"\b(?:(?:can|could|would|will)\s+(?:you|u)|please|pls|plz)\s+(?:please\s+)?(?:report|log|file|raise|escalate|record|register"
        r"|flag|pass\s+on)\s+(?:it|this|that|them)\b|\b(?:want|need|like)\b.{0,12}\bon\s+(?:the\s+)?record\b",
        # a fault, then a plea for help: "speaker is making a buzzing noise, can you help"
        rf"{_FAULT}.{{0,30}}\b(?:can|could|would)\s+(?:you|u|someone|somebody|anyone)\s+(?:please\s+)?(?:help|sort|fix|look|check"
        r"|do\s+something|deal)\b",
        r"\b(?:i|we)\b.{0,20}\b(?:complain|complaint|escalate)",
        r"\breport\b.{0,25}\b(?:damage|broken|defective|faulty)",
        r"\b(?:call|ring|phone)\s+(?:me|us)\b|\bcall\s*back\b|\bcallback\b",
        r"\b(?:this|it)\b.{0,6}\b(?:logged|reported|escalated|recorded|filed)\b",
        # a fault a few words from the customer's own thing: "my phone charger doesn't work", not "my package manager says a
        # dependency is broken"
        rf"(?:\b(?:my|our|i|i've|we|you|your)\b|\barrived\b|\bcame\b)(?:\s+[\w'-]+){{0,4}}?\s+{_FAULT}",
        rf"\b(?:i|we)\s+(?:bought|got|received|ordered|purchased)\b.{{0,40}}{_FAULT}",
        r"投诉|报修|反映|(?:帮|给)我.{0,2}(?:记录|登记|备案)|(?:开|建|提|提交|创建|登记|报|申请).{0,4}(?:工单|问题|故障|保修|售后)|(?:帮|给)我.{0,4}(?:修|维修|换(?!(?:成|个|一个)?(?:人|真人|活人|人工|客服)))|回(?:个)?电(?:话)?|打电话给我|给我打电话",
        # "电器跳闸是不是质量问题" asks whether it counts as a fault
        rf"(?:我|收到|买的|你们|送来|寄来|到的|发来|送到).{{0,20}}{_FAULT_ZH}|^.{{0,8}}(?<!是不是)(?<!算不算)(?<!是否){_FAULT_ZH}(?:了|啦|的)?\W*$",
        # a faulty item the customer wants repaired or replaced ("I want this fixed", "please repair it")
        r"\b(?:want|need|get|have)\s+(?:this|it|them|that|one)\s+(?:fixed|repaired|replaced|sorted(?:\s+out)?|looked\s+at)\b"
        r"|\b(?:please|pls|plz|can\s+you|could\s+you)\s+(?:\w+\s+)?(?:fix|repair|replace)\b",
        rf"{_FAULT}.{{0,40}}\b(?:need|want|please|pls|plz|can\s+you|could\s+you)\b.{{0,15}}\b(?:fix|repair|replace|replacement|exchange|sort"
        r"|deal\s+with|handle|look\s+into)",
        rf"{_FAULT_ZH}.{{0,12}}(?:处理|修|换|解决|退)",
        # a fault, then what it needs: "the vacuum smells like burning plastic, this needs looking at"
        rf"{_FAULT}.{{0,60}}\b(?:needs?|wants?)\s+(?:looking\s+at|attention|(?:to\s+be\s+)?(?:fixed|fixing|repaired|checked|checking|sorted"
        r"|replaced|replacing|looked\s+at))\b",
        # "log this: the strap snapped": asking that what follows be put on record
        r"^\W*(?:please\s+)?(?:log|report|record|file|register|escalate|note)\s+(?:this|it|that)(?:\s+(?:please|pls|plz))?\s*[:\-\u2013\u2014]",
        # what came is not what the customer bought: "I received a blue kettle but paid for the red one", "我买的是黑色椅子，寄来的是白色凳子"
        r"\b(?:received|got|sent\s+(?:me|us)|delivered|came\s+with)\b.{0,40}\bbut\s+(?:i|we)\s+(?:ordered|paid\s+for|bought|asked\s+for|chose)\b",
        r"(?:买|订|要|下单|选)的(?:是|明明是).{1,15}?(?:寄来|送来|收到|发来|到手|给我发|发过来)的(?:是|却是|成了|变成)",
        # short, someone else's, or billed wrong: "only 2 of the 4 chairs came. order 22950", "got a parcel that isn't mine",
        # "my invoice for order 57709 has the wrong company name"
        _SHORT, _NOT_MINE, _BILLED_WRONG,
        r"(?:少发|漏发|少寄|漏寄|发少了|少件|缺件|(?:少|缺)了[一两二三四五几\d]+[件个条双样份箱包盒套只台]"
        r"|只(?:收到|到了|来了|发了)了?[一两二三四五几\d]+[件个条双样份箱包盒套只台](?!.{0,8}(?:吗|么|正常))"
        r"|(?:包裹|快递|东西|货|这件|这个)(?:根本)?(?:不是我的|是别人的)|(?:收到|送来|寄来)了?别人的|发票.{0,12}(?:错了|不对|有误)|开错(?:了)?发票)",
        # a demand about what went wrong: "what are you going to do about it", "这个问题必须给我解决", "给我个说法"
        r"\bwhat\s+(?:are|r)\s+(?:you|u|ya)\s+(?:going\s+to|gonna)\s+do\s+about\s+(?:it|this|that)\b"
        r"|\bwhat\s+will\s+you\s+do\s+about\s+(?:it|this|that)\b",
        r"(?:必须|一定要|赶紧|马上|立刻|立即|尽快)(?:给我|帮我|给)?(?:解决|处理|补发|补寄|退款|退钱|赔偿|赔钱|给个说法)|给(?:我)?(?:个|一个)说法",
    )
    # Linear on any input: a match may only start where a run of its characters starts (the
    # lookbehinds), and every repeat is bounded, so a long run of letters is scanned once, not once per letter.
    patterns = {
        "contact": r"((?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}|(?<![\w+])\+?\d[\d ()-]{6,30}\d)"
    }
    questions = {"contact": "Which email address or phone number should our support team use to reach you?"}

    def run(
        self,
        title: Annotated[str, Field(description="a one-line summary of the problem", max_length=120)],
        description: Annotated[str, Field(description="what happened, in the customer's words")],
        contact: Annotated[str, Field(description="the customer's email address or phone number", min_length=5)],
        priority: Literal["low", "normal", "high", "urgent"] = "normal",
        *,
        context: ToolContext,
    ) -> str:
        if context.conversations is None:
            raise ToolError("no conversation store is connected, so the ticket cannot be saved")
        ticket = context.conversations.open_ticket(title, description, priority, contact, context.session_id, context.history)
        return f"I have opened ticket {ticket.number} for you. Our support team will contact you at {contact}."

    @classmethod
    def extract(cls, message: str) -> dict[str, Any]:
        found = cls.match_patterns(message)
        first_sentence = re.split(r"(?<=[.!?])\s", message, maxsplit=1)[0]
        found.update(title=first_sentence[:120], description=message)
        if URGENT.search(message):
            found["priority"] = "urgent"
        return found
