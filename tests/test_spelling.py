"""Misspelt request words read as meant (tools/spelling.py), with the plugins' own words as the vocabulary."""

from __future__ import annotations

import pytest

from kotaemon_like.tools.spelling import Speller

SPELLER = Speller.of_phrases(["I want to file a complaint", "can I speak to a real person", "where is my package",
                              "transfer me to a representative", r"\b(?:track|trace)\b.{0,20}\bshipments?"])


@pytest.mark.parametrize("typo,meant", [
    ("I want to make a complant", "I want to make a complaint"), ("let me talk to a real persn", "let me talk to a real person"),
    ("can u see where my packge is", "can you see where my package is"), ("speak to representitive", "speak to representative"),
    ("Complaitn!", "complaint!"), ("track my shipmnets", "track my shipments"),
])
def test_one_edit_from_a_long_vocabulary_word_is_corrected(typo, meant):
    assert SPELLER.correct(typo).lower() == meant.lower()


@pytest.mark.parametrize("text", ["there where", "is the package list here", "我的包裹到哪了", "a person", "what is apt"])
def test_known_short_and_unrelated_words_stay(text):
    assert SPELLER.correct(text) == text


def test_chat_shorthand_is_spelt_out():
    assert SPELLER.correct("did u send it? get me some1 pls, ur bot is useless") == "did you send it? get me someone please, your bot is useless"


def test_another_form_of_a_vocabulary_word_is_no_typo():
    speller = Speller(["stored", "charge", "complaint"])
    assert speller.correct("apt stores it, my card is charged") == "apt stores it, my card is charged"
    assert speller.correct("complants") == "complants" and speller.correct("complant") == "complaint"


def test_an_ambiguous_typo_is_left_alone():
    speller = Speller(["parcels", "parcel", "shipped", "shipper"])
    assert speller.correct("shippex") == "shippex"


def test_contractions_and_other_forms_of_known_words_stay():
    # "doesn" is one edit from a vocabulary "doesnt", "talking" from "taking": neither is a typo
    speller = Speller(["doesnt", "havent", "taking", "talk", "make"])
    text = "the TV doesn't turn on, I haven't got it, I'm talking to a machine making noise"
    assert speller.correct(text) == text
