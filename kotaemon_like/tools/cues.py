"""How a customer message reads: a question asking for information, or the customer's own request.

The router weighs these readings with the similarity to a plugin's examples: a plugin's declared request
form ("talk to a human", "open a ticket", "查一下订单") counts only when the message is not a question
for general information ("how do I ...", "what happens if ...", "can I ... if my order ...", "怎么 ..."),
which the knowledge base answers; a request cue ("my", "please", "帮我") counts only outside a question.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

# a person asked into the chat: "can one of your reps jump in here", "could someone join this conversation"
_JOIN_IN = r"(?:jump|step)\s+in|join\s+(?:(?:this|the|our)\s+(?:chat|conversation|call)|us|me)"
# asks how to do something, or about a case that may happen: whoever asks, the knowledge base answers, even
# with a "my" in it ("Where do I find my order number?", "What happens if my parcel arrives damaged?")
_HOW_TO = re.compile(
    r"\b(?:how|where|when|which|why|what|who|whom)\b(?:\s+[\w'-]+){0,3}?\s+(?:do|can|could|should|would|must|may|shall)\s+(?:i|we|one|you|they|he|she|someone|people|customers)\b"
    # "do you know when my curtains will be delivered?", "do you have an update on my order?" ask the service politely
    r"|^\W*(?:do|does|should|must|shall)\s+(?:i|we|one|you|they)\b(?!\s+(?:know|happen\s+to\s+know|have\s+(?:any\s+|an\s+)?(?:idea|updates?|news|info\w*|eta)\b))"
    # what a party does as a rule: "does the courier take damaged parcels back?", "does your warranty cover ..."
    r"|^\W*(?:do|does)\s+(?:the|your|a|an|this|that|these|those)\b"
    # what others may do is a rule, not the customer's request: "can customers talk to a human over the phone?"
    r"|^\W*(?:can|could|may|do|does|will|are|should|must)\s+(?:customers?|clients?|buyers?|users?|people|everyone|guests?"
    r"|(?:your\s+|the\s+)?(?:agents|staff|employees|representatives|operators|couriers|drivers))\b"
    # so is what anyone may do ("does someone check each parcel?", "is anyone able to see my card?"), unless they are
    # asked to be there or to talk with the customer ("is anyone available?", "can someone from support chat with me?")
    r"|^\W*(?:can|could|may|do|does|will|is|are|should|must)\s+(?:anyone|anybody|someone|somebody)\b(?!(?:\s+(?:real|actual|live|human))?(?:\s+else)?"
    r"(?:\s+(?:from|at|in|on)(?:\s+[\w-]+){1,3}?)?(?:\s+(?:please|pls|be\s+able\s+to))*\s+(?:available|around|free|online|there|here"
    r"|(?:talk|speak|chat|get\s+back)\s+(?:to|with)\s+(?:me|us)|(?:call|contact|help|ring|phone)\s+(?:me|us)|"
    rf"{_JOIN_IN})\b)"
    # a limit or charge the service sets: "is there a deadline for telling you that something arrived dented?"
    r"|^\W*(?:is|are)\s+there\s+(?:an?|any)\s+(?:deadline|time\s+limits?|limits?|cut-?off|window|fees?|charges?|minimum|maximum)\b"
    # when the service is there is a rule too: "can I talk to a person after hours?", "is there someone at weekends?"
    r"|^\W*(?:can|could|may|is|are|do|does|will)\b[^,;.!?]*\b(?:after\s+hours|at\s+night|overnight|on\s+(?:the\s+)?weekends?|at\s+weekends?"
    r"|on\s+(?:public\s+|bank\s+)?holidays|on\s+(?:mon|tues|wednes|thurs|fri|satur|sun)days?|24/7|around\s+the\s+clock"
    r"|outside\s+(?:of\s+)?(?:business|office|opening|working)\s+hours|in\s+the\s+evenings?)\b"
    # what happens after the customer does something: "will someone contact me after I file a complaint?"
    r"|^\W*(?:will|would|do|does|is|are|can|could|should)\b[^,;.!?]*\bafter\s+(?:i|we|you|they|customers?|someone)\s+(?!(?:ordered|bought|paid|purchased)\b)\w+"
    # a question about the usual case, a choice between two, or what the customer is told: "how many days does it usually
    # take for my order to arrive?", "will my order be shipped in one box or several?", "will I be told when it ships?"
    r"|^\W*(?:how|what|when|which|will|would|can|could|do|does|is|are|should)\b.*\b(?:usually|normally|typically|generally|on\s+average"
    r"|in\s+general)\b"
    r"|^\W*(?:will|would|can|could|do|does|should)\b[^.!?]*\bor\b(?!\s+not\b)[^.!]*\?"
    r"|\bhow\s+(?:will|would)\s+(?:i|we)\s+(?:know|find\s+out|be\s+told|hear|see|tell)\b"
    r"|^\W*(?:will|would|can|could)\s+(?:i|we)\s+be\s+(?:told|notified|informed|e-?mailed|sent|contacted|charged|asked|able)\b"
    # a question after a clause setting the case: "when my order has shipped, can I still change the address?"
    r"|[,;]\s*(?:can|could|should|do|will|may|must)\s+(?:i|we)\b|^\W*when\b[^,?]*,"
    # asking for contact details: "is there a phone number to reach a human?", "有人工客服的邮箱吗"
    r"|(?:电话|邮箱|邮件地址|地址|号码|联系方式|微信)号?(?:吗|么|呢)"
    r"|\b(?:phone\s+)?(?:number|e-?mail(?:\s+address)?|address|hours)\s+(?:to|for)\s+(?:reach|contact|call|e-?mail|talk\s+to|speak\s+to|get\s+hold\s+of)\b"
    r"|\bwhat\s+(?:if|happens|happen|to do)\b|\bwhat\s+(?:does|do|did|is|are)\b.{0,40}\bmean\b|\bmeaning\s+of\b|\b(?:in case|supposing)\b"
    # in Chinese: "周末有人工客服吗", "晚上有人在线吗"
    r"|(?:周末|周六|周日|星期[六日天]|礼拜[六日天]|晚上|夜里|夜间|半夜|凌晨|节假日|假期|节日|过年|非工作时间|下班后|24小时|全天)"
    r".{0,8}(?:有|在|上班|工作|营业|值班|人工|客服).{0,8}(?:吗|么|嘛|[?？]|$)"
    r"|如果|万一|假如|(?:在|去|从)?哪(?:里|儿)?(?:能|可以)?(?:找|看|查|买|下载|设置|修改|填写)"
    # what one can do in a case a clause sets, asked of no one in particular: "没有账号能查订单吗", "不用注册也能下单吗"
    r"|^(?!.*(?:帮|给我|请|麻烦))(?:没有|没|不用|不需要|无需)(?!事|关系)[^，。！？,.!?]{1,8}?也?(?:能|可以|能不能|能否|可不可以)[^，。！？,.!?]{1,12}(?:吗|么|嘛)"
    r"|^(?!.*(?:帮|给我|请|麻烦|(?:跟|和|与|同)我|让(?:人工|客服|真人|工作人员|经理|主管))).*(?:可以|能不能|能否|支持|允许|会).{0,12}吗",
    re.IGNORECASE,
)
# when a service may not be staffed, and who would be there: the words of an English question about its hours
_OFF_HOURS = r"(?:weekends?|saturdays?|sundays?|(?:bank|public)\s+holidays?|holidays?|christmas|easter|evenings?|nights?)"
_ON_DUTY = r"(?:any(?:one|body)|some(?:one|body)|staff|people|humans?|agents?)"
# a how-to, definition, why, when or how-long question asks for information; about the customer's own things
# ("what's the status of my order?") it may be a request, but only in a plugin's request form
_INFORMATION = re.compile(
    # "what are you going to do about it" demands, it does not ask
    r"\b(?:how\s+(?:do|does|can|could|should|would|to|is|are|long|much|many|often|soon|far)"
    r"|what\s+(?:is|are|does|do|time|day)(?!\s+(?:you|u|ya)\s+(?:going\s+to|gonna|planning\s+to)\s+do\s+about\b)"
    # "I'd rather explain this to someone" is the customer explaining, to a person they ask for
    r"|what's|why|explain(?!(?:\s+[\w'-]+){0,3}?\s+to\s+(?:an?\s+|the\s+|one\s+of\s+your\s+)?(?:real\s+|actual\s+|live\s+)?"
    r"(?:someone|somebody|human|person|agent|representative|manager|colleague)s?\b)"
    r"|difference between|during\s+(?:which|what)|which\s+(?:hours?|days?|times?)|when\s+(?:is|are|was|were|will|would|does|do|did)"
    # wanting to know is asking for information: "I'd like to know your refund policy", "tell me about delivery"
    r"|(?:want|like|need|wish)\s+to\s+(?:know|understand|find\s+out|learn)|i'?m\s+curious|i\s+wonder|tell\s+(?:me|us)\s+about"
    r"|figure\s+out|who\s+(?:pays|covers|bears|decides|is\s+responsible)"
    # an indirect question: "I can't find where apt stores downloaded packages", "I don't know which package ..."
    r"|(?:can'?t|cannot|can\s+not|don'?t|do\s+not)\s+(?:find|know|understand|see|remember|tell)\s+(?:out\s+)?(?:where|how|what|which|why|when|whether))\b"
    # "can I complain about a driver, and how?"
    r"|\b(?:and|but|so)\s+how\W*$"
    r"|(?:想|要)(?:知道|了解|问问|问一下|咨询)|什么(?!时候)|是哪|谁"
    # "帮我看看怎么处理" asks for help with the customer's case, not how things are done
    r"|(?<!帮我看看)(?<!帮我看下)(?<!帮我查查)怎么(?!(?:还|又|一直|老是|总是|迟迟)|样了)|如何|怎样|什么是|是什么|为什么|解释|什么意思|区别|哪些|哪几|哪种|有什么|多久|多少|(?<![好这前那])几天|多长时间"
    r"|(?<![好这前那])几个(?:工作日|小时|星期|礼拜)"
    # whether anyone works at a time ("春节那几天投诉有人受理吗", "周末有客服吗"): the service's hours
    r"|(?:春节|过年|国庆|节假日|假期|周末|晚上|夜里|凌晨|半夜|节日)[^，。！？,.!?]{0,10}?有(?:人|客服)"
    # and in English, a message opening with the time and ending in the question: "saturday and sunday — any live staff
    # then, or only the bot?" ("waited all weekend, is anyone going to help me?" asks for help, not for the hours)
    rf"|^\W*(?:(?:on|at|over|during|in)\s+)?(?:the\s+|a\s+)?(?:{_OFF_HOURS}|overnight|after\s+hours|out\s+of\s+hours)\b[^?]{{0,50}}"
    rf"\b(?:{_ON_DUTY}|any|persons?|live|available|working|on\s+duty)\b[^?]*\?\W*$"
    rf"|\b(?:{_ON_DUTY}|person)\b[^?]{{0,40}}\b(?:on|at|over|during|in\s+the)\s+(?:the\s+|a\s+)?{_OFF_HOURS}\b[^?]*\?\W*$"
    # "are real staff around on christmas day or is it bot only?": a choice between two, as "…还是…" is in Chinese
    # ("… or not?" offers none: "is anyone going to help me or not?" demands)
    r"|^\W*(?:is|are|do|does|will|was|were)\b[^?]*\bor\b(?!\s+not\b)[^?]*\?",
    re.IGNORECASE,
)
# a question about a case that may happen ("can I get a refund if my order arrives late?") asks for information,
# whoever asks; "check if", "know if", "see if" ask whether, and "if you could" is a polite request, not a condition
_WHETHER = re.compile(
    r"\b(?:check|see|know|tell\s+(?:me|us)|ask|wonder(?:ing)?|find\s+out|confirm|verify|sure|look|as)(?:\s+[\w'-]+){0,2}?\s+if\b"
    r"|\bif\s+(?:you|u|someone|somebody)\s+(?:could|can|would|might)\b", re.IGNORECASE)
# "can I be notified when my parcel is out for delivery?": the case a question sets is a condition too, but "can you
# tell me when my order is coming?" asks when it comes
_CONDITION = re.compile(
    r"\b(?:if|unless|once)\b|(?<!know\s)(?<!tell\sme\s)(?<!out\s)(?<!wondering\s)(?<!see\s)(?<!check\s)(?<!ask\s)(?<!idea\s)"
    r"\b(?:when|once|after|before)\s+(?:my|our|the|a|an)\s+(?:(?!(?:will|would|should|might)\b)[\w'-]+\s+){0,3}?"
    r"(?:is|are|was|were|has|have|gets?|arrives?|ships?)\b", re.IGNORECASE)
# a question, however it starts ("when is my card charged?", "is my data shared with the courier?", "can someone
# else collect my parcel?"): its "my" or "someone" is no request cue; "is my package out for delivery?" is a
# request only through the plugin's request form
_QUESTION = re.compile(
    r"^\W*(?:(?:hi|hello|hey)\W+)?(?:how|what|when|where|which|who|why|can|could|may|might|do|does|did|is|are|was|were|has|have"
    r"|will|would|should|shall|am)\b", re.IGNORECASE)
_POSSESSIVE = re.compile(
    r"\b(?:my|mine|our)\b|\b(?:the|that|this|those|these)\s+(?:[\w-]+\s+){0,3}?(?:i|we)\s+(?:ordered|bought|purchased|paid\s+for)\b|"
    r"我的|我们的|我买的|我订的|我收到的|我下的|我那个|我这个", re.IGNORECASE)
# "请问" ("may I ask") opens a general question: its "请" is no "please"
_MAY_I_ASK = re.compile(r"请问")
_REQUEST_CUE = re.compile(
    r"\b(?:i|i'm|im|i've|i'd|i'll|my|mine|me|myself|please|pls|plz)\b"
    r"|\b(?:can|could|would|will)\s+(?:you|u|someone|somebody)\b|\byou\s+(?:sent|shipped|delivered|sold)\b"
    r"|我|帮|给|请|麻烦",
    re.IGNORECASE,
)


# asks whether something is allowed or possible ("can I pay by bank transfer?", "is it possible to ...",
# "可以...吗" is in _HOW_TO): information, unless the message uses one of the plugin's own request forms ("can I
# talk to a human?"), which asks for the action itself
_PERMISSION = re.compile(
    r"^\W*(?:(?:hi|hello|hey)\W+)?(?:(?:can|could|may|might)\s+(?:i|we|one)\b|is\s+(?:it|there)\s+(?:possible|a\s+way|an\s+option)"
    r"|am\s+i\s+(?:able|allowed)|are\s+(?:we|customers)\s+(?:able|allowed)|is\s+it\s+(?:ok|okay|allowed))",
    re.IGNORECASE,
)
# what a customer asks the service itself for in a chat: to be told or shown something, put through, a report filed, a
# lookup made. "Could I get the tracking code?" asks for it; "can I collect my order from a parcel shop?", "can a person
# pick up the item?", "can my order be delivered to a locker?" ask what is possible, which the knowledge base answers
_ASKING = (r"(?:get|have|receive|speak|talk|chat|see|know|find\s+out|check|track|trace|look|help|open|file|raise|log|lodge|submit"
           rf"|report|make|complain|escalate|request|ask|reach|contact|call|ring|phone|handle|deal|review|take\s+over|{_JOIN_IN}|be\s+(?:put|connected"
           r"|transferred|called|told|updated))")
_CAPABILITY = re.compile(
    r"^\W*(?:(?:hi|hello|hey)\W+)?(?:(?:can|could|may|might)\s+(?!(?:you|u)\b)"
    r"|is\s+(?:it|there)\s+(?:possible|a\s+way|an\s+option)\s+(?:to|for\s+[\w'-]+\s+to)\s+|(?:am|are)\s+(?:i|we|customers)\s+(?:able|allowed)\s+to\s+"
    r"|is\s+it\s+(?:ok|okay|allowed)\s+to\s+)"
    rf"(?!(?:[\w'-]+\s+){{0,6}}?(?:please\s+)?{_ASKING}\b)",
    re.IGNORECASE,
)
# the same in Chinese: "商品有划痕能退货吗", "客服可以帮我改订单吗" ask what is possible; "能帮我查一下订单吗", "可以转人工吗" ask
# for the action itself (its verb, after "让…" and "帮我", is one a customer asks the service for); "看到" is what
# someone can see, no lookup asked for ("客服能看到我之前和机器人聊的内容吗")
_ASKING_ZH = (r"(?:转|找|回答|答复|解答|叫|派|安排|接|联系|查|看(?!到|得到|见)|瞅|跟踪|追踪|催|投诉|报修|登记|提交|申请售后|开(?:个|一个)?工单|建(?:个|一个)?工单|回电|回个电"
              r"|打(?:个)?电话|(?:和|跟|与|同)我)")
_CAPABILITY_ZH = re.compile(
    rf"(?:可以|可不可以|能不能|能否|(?<![不功智性只才可])能)(?!(?:让[^，。！？,.!?]{{1,10}}?)?(?:来)?(?:帮(?:我|忙)?|给我)?{_ASKING_ZH})"
    r"[^，。！？,.!?]{1,20}?(?:吗|么|嘛)")
# a choice between two ("…吗，还是要自己改"): a question for information, as "… or …?" is in English; "还是没到" is "still"
# and so is "是…还是…" ("商品坏了是换新还是维修？") when it is not about the customer's own order ("我的包裹是丢了还是在路上")
_CHOICE_ZH = re.compile(r"[，,、]\s*还是(?!没|不|一直|老|在)|(?:吗|呢)\s*还是"
                        r"|^(?!.*(?:我(?:们)?(?:的|那|这)|帮我|给我)).*是[^，。！？,.!?]{1,10}?还是(?!没|不|一直|老|在)")
_USUALLY = re.compile(r"\b(?:usually|normally|typically|generally|in\s+general)\b|一般|通常|正常情况下", re.IGNORECASE)
_QUESTION_ZH = re.compile(r"[几多]|什么时候|哪|吗|么|呢|[?？]")
# clauses: "useless bot. HUMAN." asks for a human in its second clause, as "HUMAN." alone would; so does "log this: the strap
# snapped" in its second
_CLAUSE = re.compile(r"[.!?;:,，。！？；：…]+")


def asks_capability(message: str) -> bool:
    """Whether the message asks what is possible or allowed ("can I collect my order from a shop?", "能退货吗") rather than
    for something the service does in the chat ("could I get my tracking code?", "能帮我查一下订单吗")."""
    return bool(_CAPABILITY.search(message) or _CAPABILITY_ZH.search(message) or _CHOICE_ZH.search(message))


def asks_permission(message: str) -> bool:
    """Whether the message asks if something is possible or allowed ("can I ...", "is it possible to ...")."""
    return bool(_PERMISSION.search(message))


def clauses(message: str) -> list[str]:
    """The message's clauses (split at sentence and clause punctuation), non-empty, in order."""
    return [c.strip() for c in _CLAUSE.split(message) if c.strip()]


def conditional_question(message: str) -> bool:
    """Whether the message asks what holds in a case that may happen ("can I ... if my order arrives late?")."""
    return ("?" in message or bool(_QUESTION.search(message))) and bool(_CONDITION.search(_WHETHER.sub(" ", message)))


def usually(message: str) -> bool:
    """Whether a question of the message asks what usually happens ("…, what usually comes next?", "投诉一般几天答复"):
    how things go in general, whoever's case set it."""
    return any(_USUALLY.search(part) and (_QUESTION.search(part) or _QUESTION_ZH.search(part)) for part in clauses(message))


def asks_for_information(message: str, own: bool = False) -> bool:
    """Whether the message asks for general information (how to, what is, what if) rather than for an action.

    `own`: the message names the customer's own case another way than "my" (an order number the plugin found)."""
    if _HOW_TO.search(message) or conditional_question(message) or asks_capability(message) or usually(message):
        return True
    return bool(_INFORMATION.search(message)) and not own and not _POSSESSIVE.search(message)


def request_cue(message: str) -> bool:
    """Whether the message speaks of the customer's own case or asks for something, not for general information.

    A question ("when is my card charged?", "what's the status of my order?", "..., is that normal?") is never a
    cue, even with a "my": only a plugin's request form or an argument it finds makes it a request."""
    if _HOW_TO.search(message) or _INFORMATION.search(message) or conditional_question(message) or asks_capability(message):
        return False
    # "my order number starts with a letter, is that normal?": a question in any clause
    if "?" in message or "？" in message or any(_QUESTION.search(part) for part in clauses(message)):
        return False
    return bool(_REQUEST_CUE.search(_MAY_I_ASK.sub(" ", message)))


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


_PLEASE = re.compile(r"^\W*(?:请(?!问)|麻烦|please\b|pls\b|plz\b)", re.IGNORECASE)


def states_intent(message: str, intents: Sequence[str]) -> bool:
    """Whether the message asks for the action in one of a plugin's declared request forms (and not for information)."""
    if not intents:
        return False
    patterns = _compiled(tuple(intents))
    if not asks_for_information(message):
        return any(p.search(part) for part in (message, *clauses(message)) for p in patterns)
    # a question, then a request of its own: "现在谁在值班？请值班的客服来回复我", "any idea why? please put a person on"
    return any(_PLEASE.match(part) and not asks_for_information(part) and any(p.search(part) for p in patterns)
               for part in clauses(message)[1:])
