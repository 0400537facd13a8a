"""The router's request classifier (kotaemon_like/tools/classifier.py), trained on the shipped requests file
without the `vault`, `quay`, `wharf` and `jetty` splits, on their real messages: it must route what the rules alone get wrong (short of a
request form, which stands), and a bad or missing requests file must leave the rules routing."""

from __future__ import annotations

import json
import logging
import os
import shutil

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

TRAINING = ROOT / "plugins" / "requests.jsonl"
HELD_OUT = ("vault", "quay", "wharf", "jetty")  # splits written blind; the classifier of these tests never sees them


def toolbox(folder, embedder, **settings):
    from kotaemon_like.config import ToolsSettings
    from kotaemon_like.tools import Toolbox

    return Toolbox(ToolsSettings(folder=folder, reload=False, **settings), embedder, entry_points=False, watch=False)


def plugins_folder(path, lines=None):
    for plugin in (ROOT / "plugins").glob("*.py"):
        shutil.copy(plugin, path / plugin.name)
    if lines is not None:
        (path / "requests.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


ROWS = [json.loads(line) for line in TRAINING.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def boxes(tmp_path_factory, embedder):
    """(rules alone, rules + a classifier trained on every split but HELD_OUT's) over the shipped plugins."""
    lines = [json.dumps(row, ensure_ascii=False) for row in ROWS if row["split"] not in HELD_OUT]
    learnt = toolbox(plugins_folder(tmp_path_factory.mktemp("plugins"), lines), embedder)
    rules = toolbox(ROOT / "plugins", embedder, requests_file="")
    yield rules, learnt
    learnt.close()
    rules.close()


def route(box, text):
    decision = box.route(text)
    return decision.name if decision else None


@pytest.mark.parametrize("text, expect", [
    ("你们的人工客服是外包的吗？", None),  # a question about the people, not a request for one
    ("the headphones' left side is dead silent", "create_ticket"),  # a fault in words no example holds
    ("need a flesh and blood human on this, not autocomplete", "handoff_to_human"),  # a person, asked for indirectly
    ("you billed my card 89.99 but the price on the site was 59.99, fix this", "create_ticket"),
    ("我退货的钱只退了一半，麻烦开个单跟进一下", "create_ticket"),
])
def test_the_classifier_routes_what_the_rules_get_wrong(boxes, text, expect):
    rules, learnt = boxes
    assert any(row["text"] == text and row["expect"] == expect and row["split"] in HELD_OUT for row in ROWS)
    assert route(rules, text) != expect  # why the classifier is there
    assert route(learnt, text) == expect


@pytest.mark.parametrize("text, expect", [
    # asking whether one may is how people ask politely (written blind for `wharf`, in no training file here)
    ("Can I get someone from the billing team on the chat?", "handoff_to_human"),
    # ... and how they ask what is possible: the classifier is sure this one is for the knowledge base
    ("is it possible to get a refund without the original packaging?", None),
])
def test_a_question_whether_one_may_goes_where_the_classifier_says(boxes, text, expect):
    rules, learnt = boxes
    assert not any(row["text"] == text for row in ROWS if row["split"] not in HELD_OUT)  # never trained on
    assert route(learnt, text) == expect


def test_on_a_split_it_never_saw_it_routes_more_requests_right_and_hijacks_no_more(boxes):
    rules, learnt = boxes
    held = [row for row in ROWS if row["split"] in HELD_OUT]
    requests = [row for row in held if row["expect"]]
    questions = [row for row in held if not row["expect"]]

    def figures(box):
        return (sum(route(box, row["text"]) == row["expect"] for row in requests),
                sum(route(box, row["text"]) is not None for row in questions))

    (rules_right, rules_hijacked), (right, hijacked) = figures(rules), figures(learnt)
    assert right > rules_right and hijacked <= rules_hijacked, (right, rules_right, hijacked, rules_hijacked)


def test_a_question_for_information_reaches_a_plugin_only_when_the_classifier_is_very_sure(boxes):
    from kotaemon_like.tools.classifier import MAJORITY, VERY_SURE

    _, learnt = boxes
    classifier = learnt.classifier({n: p.spec for n, p in learnt.plugins().items()})
    # both read as questions; neither is in the training file of these tests
    question = "how do I reach a real agent on this chat?"
    choice, probability = classifier.predict(question)
    assert choice == "handoff_to_human" and MAJORITY <= probability < VERY_SURE
    assert route(learnt, question) is None
    request = "could a colleague of yours jump in here?"  # "could ..." asks whether one may, and asks for a person
    choice, probability = classifier.predict(request)
    assert choice == "handoff_to_human" and probability >= VERY_SURE
    assert route(learnt, request) == "handoff_to_human"


def test_a_request_form_stands_unless_the_classifier_is_very_sure_of_a_question(boxes):
    rules, learnt = boxes
    question = "which mail transfer agent does debian install by default?"  # "agent": handoff_to_human's form
    assert route(rules, question) == "handoff_to_human"
    assert route(learnt, question) is None


@pytest.mark.parametrize("text", ["hello", "yes", "ok please"])
def test_a_message_too_short_to_read_is_left_to_the_rules(boxes, text):
    rules, learnt = boxes
    assert route(learnt, text) == route(rules, text) is None


def test_a_request_form_stands_against_the_classifier(boxes):
    _, learnt = boxes
    specs = {n: p.spec for n, p in learnt.plugins().items()}
    text = "订的是蓝色的，寄来的却是红色的"  # what came against what was bought: create_ticket's request form
    assert learnt.classifier(specs).predict(text)[0] != "create_ticket"
    assert route(learnt, text) == "create_ticket"


def test_a_very_sure_classifier_reads_which_request_a_request_form_makes(boxes):
    rules, learnt = boxes
    # "escalate it to the team" is handoff_to_human's request form; what the customer asks for is a ticket on the refund
    text = "my refund for order 51234 still isn't on my card after a month, escalate it to the team"
    assert route(rules, text) == "handoff_to_human"
    decision = learnt.route(text)
    assert decision.name == "create_ticket" and "51234" in decision.arguments["title"]


def test_the_arguments_still_come_from_the_message(boxes):
    _, learnt = boxes
    decision = learnt.route("can u peek at 72950 and see if its moving")
    assert decision.name == "order_status" and decision.arguments == {"order_id": "72950"} and decision.complete
    decision = learnt.route("The blender makes a burning smell and won't spin anymore. Order 22871.")
    assert decision.name == "create_ticket" and decision.missing == ("contact",)
    assert decision.arguments["title"] == "The blender makes a burning smell and won't spin anymore."


def test_a_bad_requests_file_is_reported_and_the_rules_route(tmp_path, embedder, caplog):
    folder = plugins_folder(tmp_path, ['{"text": "where is my parcel", "expect": "order_status"}', "not json"])
    with caplog.at_level(logging.ERROR), toolbox(folder, embedder) as box:
        assert box.classifier({n: p.spec for n, p in box.plugins().items()}) is None
        assert route(box, "where is my order 12345?") == "order_status"
    assert any("requests.jsonl:2" in r.getMessage() and "request classifier off" in r.getMessage() for r in caplog.records)


def test_a_classifier_that_fails_to_train_leaves_the_rules_routing(tmp_path, embedder, monkeypatch, caplog):
    from kotaemon_like.tools.classifier import RequestClassifier

    def broken(*args, **kwargs):
        raise MemoryError("no room for the model")

    monkeypatch.setattr(RequestClassifier, "for_plugins", broken)
    with caplog.at_level(logging.ERROR), toolbox(plugins_folder(tmp_path, [json.dumps(r) for r in ROWS[:50]]), embedder) as box:
        assert route(box, "where is my order 12345?") == "order_status"
    assert any("training failed" in r.getMessage() for r in caplog.records)


def test_nothing_to_learn_from_leaves_the_rules_alone(tmp_path, embedder):
    # requests only, no knowledge question: a classifier would call everything a request
    folder = plugins_folder(tmp_path, ['{"text": "where is my parcel", "expect": "order_status"}'])
    with toolbox(folder, embedder) as box:
        assert box.classifier({n: p.spec for n, p in box.plugins().items()}) is None
    with toolbox(ROOT / "plugins", embedder, requests_file="") as box:
        assert box.classifier({n: p.spec for n, p in box.plugins().items()}) is None


def test_lines_for_plugins_not_loaded_are_left_out_and_a_changed_file_retrains(tmp_path, embedder):
    lines = [json.dumps({"text": row["text"], "expect": row["expect"]}, ensure_ascii=False) for row in ROWS[:400]]
    folder = plugins_folder(tmp_path, lines + ['{"text": "book me a table for two", "expect": "restaurant_booking"}'])
    with toolbox(folder, embedder) as box:
        specs = {n: p.spec for n, p in box.plugins().items()}
        first = box.classifier(specs)
        assert set(first.model.classes_) == {"", *specs}
        assert box.classifier(specs) is first  # trained once
        path = folder / "requests.jsonl"
        path.write_text(path.read_text(encoding="utf-8") + '{"text": "what is the warranty", "expect": null}\n',
                        encoding="utf-8")
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
        assert box.classifier(specs) is not first


def test_warm_up_trains_the_classifier_routing_then_uses(tmp_path, embedder):
    with toolbox(plugins_folder(tmp_path, [json.dumps(r, ensure_ascii=False) for r in ROWS[:300]]), embedder) as box:
        trained = box.warm_up()
        assert trained is not None and box.classifier({n: p.spec for n, p in box.plugins().items()}) is trained


def test_a_message_routed_while_the_classifier_trains_is_routed_by_the_rules(tmp_path, embedder):
    with toolbox(plugins_folder(tmp_path, [json.dumps(r, ensure_ascii=False) for r in ROWS[:300]]), embedder) as box:
        with box._classifier_lock:  # as while warm_up trains it in its thread
            assert box._ready_classifier({n: p.spec for n, p in box.plugins().items()}) is None
            assert route(box, "where is my order 12345?") == "order_status"
        assert box._ready_classifier({n: p.spec for n, p in box.plugins().items()}) is not None


def test_read_requests_names_the_bad_line(tmp_path):
    from kotaemon_like.tools.classifier import Labelled, read_requests

    path = tmp_path / "requests.jsonl"
    path.write_text('{"text": "hi there agent", "expect": "handoff_to_human"}\n\n{"text": "", "expect": null}\n',
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"requests.jsonl:3: expected a JSON object"):
        read_requests(path)
    path.write_text('{"text": "hi there agent", "expect": "handoff_to_human"}\n{"text": "what is x", "expect": null}\n',
                    encoding="utf-8")
    assert read_requests(path) == [Labelled("hi there agent", "handoff_to_human"), Labelled("what is x", None)]


def test_routing_vectors_are_kept_per_embedder_and_merged_across_processes(tmp_path):
    from kotaemon_like.tools.classifier import VectorStore, multilingual_embedder

    e5 = multilingual_embedder()
    first, second = VectorStore(e5, tmp_path), VectorStore(e5, tmp_path)  # two app replicas, one cache folder
    first.vectors(["where is my parcel"])
    second.vectors(["open a ticket for me"])  # saved after the first: it must not drop the first one's text
    assert set(VectorStore(e5, tmp_path)._saved()) == {"where is my parcel", "open a ticket for me"}

    class Retrained:  # new weights under the same model name
        name = e5.name

        def embed_queries(self, texts):
            return e5.embed_queries(texts)[:, ::-1].copy()

    assert VectorStore(Retrained(), tmp_path).file != first.file

