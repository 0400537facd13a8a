"""Hands the conversation to a human agent: queues it and tells the customer their place, or offers a ticket."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from kotaemon_like.tools import ToolContext, ToolError, ToolPlugin


# who a customer asks for
_PEOPLE = (r"(?:humans?|person|people|someone|somebody|anyone|anybody|agent|representative|rep|operator|manager|supervisor|staff"
           r"|employee|customer\s+service|support\s+team|colleague|team\s+member|staff\s+member|member\s+of\s+(?:staff|your\s+team)"
           r"|advis[oe]r|consultant|specialist|whoever|(?:your|the)\s+team)")


class HandoffToHuman(ToolPlugin):
    name = "handoff_to_human"
    description = "Transfer the conversation to a human support agent when the customer asks for one or the assistant cannot help."
    label = "transfer to a human agent"
    examples = (
        "I want to talk to a human",
        "can I speak to a real person",
        "connect me to an agent",
        "let me talk to customer service",
        "I need a human, not a bot",
        "this is useless, let me talk to someone",
        "you are not helping, get me a person",
        "transfer me to a representative",
        "connect me with someone from support",
        "转人工",
        "我要人工客服",
        "帮我转接人工",
        "我想找真人客服",
        "我想和真人聊",
        "给我找个真人",
    )
    counter_examples = (  # questions that mention people or agents but ask for information
        "who is the person responsible for this",
        "who maintains this package",
        "what does the agent program do",
        "谁负责维护这个软件",
    )

    # request forms (see ToolPlugin.intents): asking for a person, naming one, or refusing the bot
    intents = (
        rf"\b(?:talk|speak|chat|connect|transfer|put\s+me\s+(?:through|in\s+touch)|pass\s+me|get\s+me|give\s+me|switch\s+me"
        rf"|hand\s+me|escalate|deal|have\s+a\s+(?:word|chat)|connected|transferred|put\s+through|get\s+hold\s+of|put\s+in\s+touch)\b.{{0,25}}\b{_PEOPLE}s?\b"
        r"|\b(?:put\s+me\s+through|connect\s+me|transfer\s+me)\b",
        # wanting a person is wanting one as such: "I need a human", not "I need a package that lets people share files"
        rf"\b(?:need|want|require|prefer|like)\s+(?:help\s+from\s+|to\s+(?:talk|speak|chat)\s+(?:to|with)\s+)?"
        rf"(?:(?:an?|the|some|one|real|actual|live|proper|your)\s+)*{_PEOPLE}\b",
        # naming who they want, and nothing else: "operator", "a real human, please", "agent agent agent"
        rf"^\W*(?:(?:an?|the|real|live|your)\s+)*(?:{_PEOPLE}|human\s+being|boss|customer\s+support|live\s+(?:chat|support))s?(?:\s+real)?"
        rf"(?:\W+(?:{_PEOPLE}s?|please|pls|plz|now|asap))*\W*$",
        r"\b(?:real|live|actual)\s+(?:human|person|agent|people|one)\b",
        # "I'd rather explain this to a human being"
        rf"\b(?:rather|prefer\s+to)\b.{{0,30}}\b(?:to|with)\s+(?:an?\s+|the\s+)?(?:real\s+|actual\s+|live\s+)?{_PEOPLE}\b",
        r"\b(?:humans?|person|agent|someone|somebody|anyone|anybody|operator|representative|manager)\b.{0,20}\b(?:i|we)\s+(?:can|could)"
        r"\s+(?:talk|speak|chat)",
        rf"\b(?:get|have|see|reach|find|bring|fetch)\s+(?:me\s+|us\s+)?(?:(?:an?|the|your|some|real|live|actual)\s+)+{_PEOPLE}\b",
        r"\b(?:not|no|don't\s+want|done\s+with|hate|stop)\b.{0,15}\b(?:bot|chatbot|robot|machine)\b",
        # asking whether someone is there: "is anyone from your team available to chat?", "anyone there?"
        r"\b(?:is|are)\s+(?:there\s+)?(?:anyone|anybody|someone|somebody|any\s+(?:humans?|people|agents?|staff|one)"
        r"|any\s+of\s+(?:your|the)\s+(?:staff|team|agents|people|humans|employees)"
        r"|an?\s+(?:human|person|agent|real\s+person|live\s+agent))\b.{0,30}\b(?:available|free|around|online|there|here|other\s+end|on\s+the\s+line"
        r"|(?:i|we)\s+(?:can|could)\s+(?:talk|speak|chat)|(?:who|that)\s+(?:can|could)\s+(?:talk|speak|chat|help))\b",
        r"^\W*(?:(?:hi|hello|hey)\W+)?(?:is\s+|are\s+)?(?:there\s+)?(?:anyone|anybody|someone|somebody|any\s+(?:humans?|people|agents?|staff))"
        r"\s+(?:there|here|around|home|awake|alive|online|available)\b",
        # asking someone to talk: "can someone from your team chat with me?", "would somebody please talk to me"
        r"\b(?:can|could|would|will)\s+(?:someone|somebody|anyone|anybody|a\s+(?:human|person|real\s+person|agent)|one\s+of\s+your\s+\w+)"
        r"(?:\s+(?:from|at|in|on)(?:\s+[\w-]+){1,3}?)?\s+(?:please\s+)?(?:be\s+able\s+to\s+)?(?:talk|speak|chat|get\s+in\s+touch)"
        r"\s+(?:to|with)\s+(?:me|us)\b",
        # a person named as who should act: "can a human look at this?"
        r"\b(?:can|could|would|will)\s+(?:a\s+(?:human|person|real\s+(?:person|human)|live\s+agent|(?:real\s+)?member\s+of\s+(?:staff|your\s+team))"
        r"|an\s+(?:agent|actual\s+(?:person|human)|employee|operator))\s+(?:please\s+)?(?:look|check|review|handle|take|help|deal|talk|speak"
        r"|chat|call|contact|get\s+back|see\s+to)\b",
        # giving up on the assistant: "this bot is useless", "you are not helping"
        r"\b(?:you|you're|bot|chatbot|robot|this\s+(?:chat|thing)|assistant)\b.{0,10}\b(?:useless|stupid|dumb|pointless|not\s+helping"
        r"|no\s+help|not\s+helpful|unhelpful|(?:does|do)\s*n[o']?t\s+(?:help|understand)|waste\s+of\s+time)\b",
        r"(?:你|机器人|智能客服).{0,4}(?:没用|太笨|听不懂|答非所问|不行)",
        r"^\W*有(?:没有)?(?:真人|人工|活人|客服)(?:客服)?[吗么嘛呢]?\W*$|找(?:得到|到)(?:人|真人|人工|客服)",
        r"^\W*(?:人工|真人|客服|人工客服|有人|工作人员)(?:客服)?在(?:吗|么|嘛|不在|没|不)|找(?:个|一个)?(?:人|真人|客服|人工)(?:聊|谈|说|沟通)",
        r"转.{0,3}(?:人工|客服|真人|人)|转给.{0,6}(?:人工|客服|工作人员|同事)|^\W*(?:(?:人工|真人|经理|主管|客服|活人|负责人)(?:客服|服务)?[呢吧啊呀]*\W*)+$",
        r"有没有(?:人工|真人|客服|活人)(?:客服)?(?:[呢吗啊在]|\W*$)",
        # "有人可以跟我聊一下吗", "现在有客服在线吗", "有没有工作人员能帮我看一下"
        r"(?:有没有|有)(?:人|真人|客服|人工|工作人员|专人|同事)(?:客服)?(?:可以|能|能够|在)?(?:跟|和|与|同)我.{0,4}(?:聊|谈|说|沟通|对话|讲)"
        r"|(?:有没有|有)(?:人|真人|客服|人工|工作人员|专人)(?:客服)?(?:在线|在)(?:吗|么|嘛|呢|\W*$)"
        r"|有没有(?:人|真人|客服|人工|工作人员|专人)(?:客服)?(?:可以|能|能够)?(?:帮帮?我|帮忙)",
        r"(?:要|找|叫|让|换|需要|联系|接|安排|派).{0,4}(?:人工|真人|客服|经理|主管|负责人|组长|领导|店长|活人|工作人员|专员|同事)|找(?:个|一个)(?:人|真人)"
        r"|换(?:成|个|一个)人(?:来|跟|和|回|聊|处理|服务)",
        # the person named first, then sent for: "把你们客服组长叫出来", "让你们经理过来"
        r"(?:把|让|请(?!问))[^，。！？,.!?]{0,6}(?:人工|真人|客服|经理|主管|负责人|组长|领导|店长|工作人员)[^，。！？,.!?]{0,2}(?:叫|喊|找|请)?(?:出来|过来|来一下"
        r"|来(?:回复|回答|处理|跟进|对接|接待)(?:我|一下))",
        r"(?:和|跟|与|同).{0,4}(?:客服|真人|人工|人).{0,6}(?:说|聊|谈|沟通|对话|讲)",
        # the person named first: "请安排一位客服和我沟通一下"
        r"(?:客服|真人|人工|工作人员|专员|同事|经理|主管)(?:人员)?.{0,3}(?:和|跟|与|同)我.{0,4}(?:说|聊|谈|沟通|对话|讲|联系)",
    )

    def run(
        self,
        reason: Annotated[str, Field(description="why the customer needs a human, in a few words")] = "",
        *,
        context: ToolContext,
    ) -> str:
        if context.conversations is None:
            raise ToolError("no conversation store is connected, so no agent can be reached")
        # the queue, agents online and business hours live in the conversation layer (conversations/desk.py)
        return context.conversations.handoff(context.session_id, reason, context.history)

    @classmethod
    def extract(cls, message: str) -> dict[str, Any]:
        return {"reason": message[:200]}
