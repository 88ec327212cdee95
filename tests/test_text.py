"""The analyzer, step by step: normalization, runs, bigrams, stop words, synonyms."""

from __future__ import annotations

from kb.text import Analyzer
from kb.text.normalize import normalize
from kb.text.tokenize import bigrams, split_runs


def test_normalize_folds_width_case_and_traditional() -> None:
    assert normalize("ＤＥＬＩＶＲＤ　子帳號") == "delivrd 子帐号"


def test_latin_codes_numbers_and_prefixes_stay_whole() -> None:
    toks = [t.text for t in split_runs(normalize("DELIVRD SMPP 401 +62 v2.3 ESME_RTHROTTLED 回填率"))]
    assert toks == ["delivrd", "smpp", "401", "+62", "v2.3", "esme_rthrottled", "回填率"]


def test_bigrams_of_a_cjk_run_and_single_character_runs() -> None:
    assert bigrams("回填率") == ["回填", "填率"]
    assert bigrams("低") == ["低"]


def test_query_drops_question_stop_words() -> None:
    q = Analyzer().query_terms("如何查询发送记录？")
    assert "如何" not in q.words and "查询" in q.words
    assert "如何" not in q.bigrams and "何查" not in q.bigrams


def test_glossary_words_and_synonyms() -> None:
    a = Analyzer(["回填率", "DLR 回执率", "子账号", "子帐号"], [["回填率", "DLR 回执率"], ["子账号", "子帐号"]])
    q = a.query_terms("印尼回填率低")
    assert "回填率" in q.words
    assert ["dlr", "回执率"] in q.synonyms


def test_mixed_unspaced_query_keeps_latin_and_chinese_apart() -> None:
    q = Analyzer().query_terms("印尼senderid申请")
    assert "senderid" in q.words and "印尼" in q.words and "申请" in q.words


def test_index_analysis_keeps_every_cjk_character() -> None:
    """The single-character field gets each character of every run, the last one included (拒, 号)."""
    words, grams, chars = Analyzer().analyze("申请被拒，SMPP 账号")
    assert chars == list("申请被拒账号")
    assert "smpp" in words and "smpp" in grams and "smpp" not in chars
