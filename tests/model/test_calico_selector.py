"""Calico's selector expression language, as the Calico documentation defines it
(docs.tigera.io, Calico reference, NetworkPolicy resource, section Selectors)."""

from __future__ import annotations

import pytest

from kaudit.model.cni.calico_selector import (
    MAX_DEPTH,
    And,
    Compare,
    Has,
    InSet,
    Not,
    Or,
    SelectorError,
    parse_selector,
)

WEB = {"app": "web", "tier": "frontend", "env": "prod-eu"}
DB = {"app": "db", "tier": "backend"}
BARE: dict[str, str] = {}


@pytest.mark.parametrize(
    ("text", "web", "db", "bare"),
    [
        ("", True, True, True),  # the default of a policy's selector is all()
        ("all()", True, True, True),
        ("!all()", False, False, False),
        ("global()", False, False, False),  # namespaced labels: not global
        ("app == 'web'", True, False, False),
        ('app == "web"', True, False, False),  # both quotes, as the docs write both
        ("app != 'web'", False, True, True),  # != matches a missing label too
        ("has(tier)", True, True, False),
        ("!has(tier)", False, False, True),
        ("! has( tier )", False, False, True),
        ("app in {'web', 'api'}", True, False, False),
        ("app in {}", False, False, False),
        ("app not in {'web', 'api'}", False, True, True),  # and a missing label matches
        ("env contains 'od-'", True, False, False),
        ("env starts with 'prod'", True, False, False),
        ("env ends with '-eu'", True, False, False),
        ("tier == 'backend' || app == 'web'", True, True, False),
        ("tier == 'backend' && app == 'web'", False, False, False),
        ("!(app == 'web' || app == 'db')", False, False, True),
        ("app == 'web'&&tier=='frontend'", True, False, False),  # no spaces needed
        ("kubernetes.io/metadata.name == 'web'", False, False, False),
        ("((has(app)))", True, True, False),
    ],
)
def test_match_operators(text: str, web: bool, db: bool, bare: bool) -> None:
    selector = parse_selector(text)
    assert (selector.matches(WEB), selector.matches(DB), selector.matches(BARE)) == (web, db, bare)


def test_global_matches_only_in_the_global_scope() -> None:
    selector = parse_selector("global()")
    assert selector.matches({}, is_global=True)
    assert not selector.matches({}, is_global=False)
    assert parse_selector("all()").matches({}, is_global=True)
    assert parse_selector("!global()").matches({"a": "b"})


def test_the_documented_precedence_example() -> None:
    # "! has(my-label) || my-label starts with 'prod' && role in {'frontend','business'}"
    # is bracketed as ((!(has(my-label)) || ((my-label starts with 'prod') && (role in ...)))
    selector = parse_selector(
        "! has(my-label) || my-label starts with 'prod' && role in {'frontend','business'}"
    )
    assert selector.expression == Or(
        (
            Not(Has("my-label")),
            And(
                (
                    Compare("my-label", "starts with", "prod"),
                    InSet("role", frozenset({"frontend", "business"})),
                )
            ),
        )
    )
    assert selector.matches({})
    assert selector.matches({"my-label": "prod-1", "role": "business"})
    assert not selector.matches({"my-label": "prod-1", "role": "db"})
    assert not selector.matches({"my-label": "dev", "role": "frontend"})


def test_not_binds_tighter_than_and_and_and_tighter_than_or() -> None:
    assert parse_selector("!has(a) && has(b)").expression == And((Not(Has("a")), Has("b")))
    assert parse_selector("has(a) || has(b) && has(c)").expression == Or(
        (Has("a"), And((Has("b"), Has("c"))))
    )
    assert parse_selector("(has(a) || has(b)) && has(c)").expression == And(
        (Or((Has("a"), Has("b"))), Has("c"))
    )
    # a || b && c is true with a alone; (a || b) && c is not
    assert parse_selector("has(a) || has(b) && has(c)").matches({"a": "1"})
    assert not parse_selector("(has(a) || has(b)) && has(c)").matches({"a": "1"})


def test_label_and_function_names_do_not_collide() -> None:
    # A label called "has" or "in" is a label when no '(' follows.
    assert parse_selector("has == 'x'").matches({"has": "x"})
    assert parse_selector("in in {'x'}").matches({"in": "x"})


def test_canonical_text_parses_back_to_the_same_tree() -> None:
    text = "!(has(a) || b != 'c') && d not in {'e', 'f'} || g ends with 'h'"
    tree = parse_selector(text).expression
    assert parse_selector(str(tree)).expression == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("app == web", "at character 8: expected a quoted value after '==', found 'web'"),
        ("app ==", "at character 7: expected a quoted value after '==', found the end"),
        ("has(app", "at character 8: expected ')', found the end"),
        ("has()", "at character 5: expected a label key, found ')'"),
        ("app in {'a',}", "at character 13: expected a quoted value in the set, found '}'"),
        ("app in {'a' 'b'}", "at character 13: expected ',' or '}', found 'b'"),
        ("app in 'a'", "at character 8: expected '{', found 'a'"),
        ("app not {'a'}", "at character 9: expected 'in' after 'not'"),
        ("app starts 'a'", "at character 12: expected 'with' after 'starts'"),
        ("(app == 'a'", "at character 12: expected ')', found the end"),
        ("app == 'a')", "at character 11: unexpected ')' after a complete expression"),
        ("app ~ 'a'", "at character 5: unexpected character '~'"),
        ("app == 'a", "at character 8: unterminated string (no closing ')"),
        ("app", "at character 4: expected an operator after label 'app'"),
        ("app = 'a'", "at character 5: unexpected character '='"),
        ("app is 'a'", "at character 5: expected ==, !=, in, not in, contains"),
        ("&& has(a)", "at character 1: expected a label or all(), has(), global(), found '&&'"),
        ("has(a) &&", "at character 10: expected a label or all(), has(), global(), found the end"),
        ("has(a) || || has(b)", "at character 11: expected a label"),
        ("!", "at character 2: expected a label"),
        ("all", "at character 4: expected an operator after label 'all'"),
    ],
)
def test_errors_are_one_line_with_the_field_and_position(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as error:
        parse_selector(text, "spec.ingress[0].source.selector")
    text_of_error = str(error.value)
    assert text_of_error.startswith("spec.ingress[0].source.selector: invalid selector " + message)
    assert text_of_error.endswith(f"in {text!r}")
    assert "\n" not in text_of_error


def test_deep_nesting_is_refused_not_a_crash() -> None:
    deep = "(" * (MAX_DEPTH + 5) + "has(a)" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(SelectorError, match=f"nested more than {MAX_DEPTH} deep"):
        parse_selector(deep, "spec.selector")
    negations = "!" * (MAX_DEPTH + 5) + "has(a)"
    with pytest.raises(SelectorError, match="nested more than"):
        parse_selector(negations)
    assert parse_selector("(" * 10 + "has(a)" + ")" * 10).matches({"a": ""})


def test_long_selectors_are_shortened_in_errors() -> None:
    text = "has(a) && " * 40 + "bad"
    with pytest.raises(SelectorError) as error:
        parse_selector(text)
    assert len(str(error.value)) < 320
    assert "..." in str(error.value)


def test_long_conjunctions_do_not_recurse() -> None:
    text = " && ".join(f"has(k{i})" for i in range(2000))
    labels = {f"k{i}": "" for i in range(2000)}
    assert parse_selector(text).matches(labels)
    assert not parse_selector(text).matches({})
