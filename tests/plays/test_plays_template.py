"""Template parsing and safe rendering."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.plays import (
    DEFAULT_TEMPLATES,
    KNOWN_VARIABLES,
    TemplateError,
    check_template,
    parse_template,
    render,
    render_html,
)
from server.plays.template import MAX_TEMPLATE_CHARS

HOSTILE = "<img src=x onerror=alert(1)> {{rep_name}} {first_name} {{ subject }}"


def test_known_variables_are_the_documented_set():
    assert KNOWN_VARIABLES == {"first_name", "company", "rep_name", "subject",
                               "proposed_date", "proposed_time"}


def test_render_substitutes_every_occurrence_and_allows_inner_spaces():
    text = "Hi {{first_name}} ({{ first_name }}) from {{rep_name}}"
    out = render(text, {"first_name": "Ana", "rep_name": "Bo"})
    assert out == "Hi Ana (Ana) from Bo"


def test_parsed_template_lists_its_variables():
    parsed = parse_template("{{first_name}} and {{subject}} and {{first_name}}")
    assert parsed.variables == {"first_name", "subject"}
    assert render(parsed, {"first_name": "A", "subject": "S"}) == "A and S and A"


def test_unknown_variable_is_reported_with_position_and_hint():
    with pytest.raises(TemplateError) as info:
        parse_template("Hello,\n  {{firstname}} and {{deal_size}}")
    err = info.value
    assert err.unknown == ["firstname", "deal_size"]
    first, second = err.problems
    assert (first.line, first.column, first.offset) == (2, 3, 9)
    assert "did you mean {{first_name}}" in first.message
    assert second.name == "deal_size" and second.line == 2
    assert "line 2, column 3" in err.message and "deal_size" in str(err)


@pytest.mark.parametrize("text, fragment", [
    ("{{first_name.upper}}", "attribute access is not allowed"),
    ("{{first_name.__class__}}", "attribute access is not allowed"),
    ("{{first_name[0]}}", "indexing is not allowed"),
    ("{{first_name()}}", "function calls are not allowed"),
    ("{{proposed_date:%Y}}", "format specs are not allowed"),
    ("{{first_name!r}}", "conversions are not allowed"),
    ("{{first_name|upper}}", "filters are not allowed"),
    ("{{ }}", "empty placeholder"),
    ("{{{first_name}}}", "cannot be nested"),
    ("{{first name}}", "is not a variable name"),
    ("Hi {{first_name", "never closed"),
    ("Hi first_name}}", "without a matching"),
    ("Hi {first_name},", "uses single braces; write {{first_name}}"),
])
def test_anything_but_a_plain_known_name_is_rejected(text, fragment):
    with pytest.raises(TemplateError) as info:
        parse_template(text)
    assert fragment in info.value.message
    assert info.value.unknown == []


def test_every_problem_is_listed_not_just_the_first():
    problems = check_template("{{a}} {{b.c}} {first_name} }}")
    assert len(problems) == 4
    assert problems[0].startswith("line 1, column 1: unknown variable 'a'")
    assert all(p.startswith("line 1, column ") for p in problems)


def test_single_braces_around_other_words_are_plain_text():
    assert render("Use {curly} braces freely", {}) == "Use {curly} braces freely"


def test_check_template_accepts_every_default_template():
    for variants in DEFAULT_TEMPLATES.values():
        for text in variants:
            assert check_template(text) == []


def test_values_are_inserted_literally_and_never_expanded_again():
    values = {"first_name": HOSTILE, "rep_name": "REP", "subject": "SUBJ"}
    out = render("Hi {{first_name}}, from {{rep_name}}", values)
    assert out == f"Hi {HOSTILE}, from REP"
    assert "{{rep_name}}" in out and "{first_name}" in out


def test_value_that_looks_like_a_placeholder_stays_text():
    assert render("{{company}}", {"company": "{{first_name}}"}) == "{{first_name}}"
    assert render("{{company}}", {"company": "{first_name}"}) == "{first_name}"


def test_render_html_escapes_template_text_and_values():
    out = render_html("<b>Hi</b> {{first_name}} & co\nBye",
                      {"first_name": "<img src=x onerror=alert(1)> \"q\" 'a'"})
    assert "<img" not in out and "<b>" not in out
    assert out == ("&lt;b&gt;Hi&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt; "
                   "&quot;q&quot; &#x27;a&#x27; &amp; co<br>\nBye")


def test_missing_or_empty_value_renders_empty_without_a_stray_space():
    assert render("Hi {{first_name}},\nThanks", {}) == "Hi,\nThanks"
    assert render("Hi {{first_name}} {{company}}!", {"first_name": ""}) == "Hi!"
    assert render("Hi {{first_name}}, there", {"first_name": "Jo"}) == "Hi Jo, there"
    # Only a space right before punctuation is dropped; other text is untouched.
    assert render("Dear {{first_name}} team", {}) == "Dear  team"
    # A real value is never trimmed, even when an empty one follows it.
    assert render("{{first_name}}{{company}}!", {"first_name": "Jo ", "company": ""}) == "Jo !"


def test_none_values_render_as_empty_and_numbers_as_text():
    assert render("[{{subject}}]", {"subject": None}) == "[]"  # type: ignore[dict-item]
    assert render("[{{subject}}]", {"subject": 42}) == "[42]"  # type: ignore[dict-item]


def test_overlong_template_is_rejected_clearly():
    with pytest.raises(TemplateError) as info:
        parse_template("x" * (MAX_TEMPLATE_CHARS + 1))
    assert "too long" in info.value.message


def test_non_string_template_is_a_type_error():
    with pytest.raises(TypeError):
        parse_template(None)  # type: ignore[arg-type]


@given(st.text(min_size=1))
def test_any_value_comes_out_exactly_as_given(value):
    out = render("<{{first_name}}>", {"first_name": value})
    assert out == f"<{value}>"


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=40),
       st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=40),
       st.text(min_size=1, max_size=40))
def test_literal_text_around_a_placeholder_is_preserved(before, after, value):
    out = render(before + "{{subject}}" + after, {"subject": value})
    assert out == before + value + after
