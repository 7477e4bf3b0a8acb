"""Calico's label selector expressions: a parser and the expression tree it builds.

The language, as the Calico documentation defines it (docs.tigera.io, Calico
reference, "NetworkPolicy" resource, section Selectors; the same table is on the
GlobalNetworkPolicy page):

- match operators: `all()`, `global()`, `k == 'v'`, `k != 'v'`, `has(k)`,
  `k in {'v1', 'v2'}`, `k not in {'v1', 'v2'}`, `k contains 's'`,
  `k starts with 's'`, `k ends with 's'`;
- logical operators: `( ... )`, `!`, `&&`, `||`;
- precedence, highest first: the match operators, parentheses, `!`, `&&`, `||`.

`k != 'v'` and `k not in {...}` also match resources without the label `k`.
Values are quoted with single or double quotes (the documentation writes both);
there is no escape inside quotes, as Kubernetes label values hold no quote.
An empty selector means `all()`, the default of a policy's `selector`.

`all()` matches every resource in the selector's scope; `global()` matches the
non-namespaced ones (global network sets, host endpoints), and is meant for a
`namespaceSelector` ("Selector scopes" on the same pages). Evaluation takes the
scope as `is_global`.

Errors are one line: the field, the position (1-based character) and what was
expected, e.g. `spec.selector: invalid selector at character 8: expected a quoted
value after '==' in "app == web"`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

# Nesting deeper than this is refused rather than risk the interpreter's recursion limit.
MAX_DEPTH = 64
# A label key as Kubernetes writes it (an optional DNS prefix, '/', a name).
_KEY = re.compile(r"[A-Za-z0-9_./-]+")
_SPACE = re.compile(r"\s+")
_FUNCTIONS = ("has", "all", "global")


class SelectorError(ValueError):
    """A selector that does not parse; the message is one line."""


# --- the expression tree ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class All:
    def matches(self, labels: Mapping[str, str], is_global: bool = False) -> bool:
        return True

    def __str__(self) -> str:
        return "all()"


@dataclass(frozen=True, slots=True)
class Global:
    def matches(self, labels: Mapping[str, str], is_global: bool = False) -> bool:
        return is_global

    def __str__(self) -> str:
        return "global()"


@dataclass(frozen=True, slots=True)
class Has:
    key: str

    def matches(self, labels: Mapping[str, str], is_global: bool = False) -> bool:
        return self.key in labels

    def __str__(self) -> str:
        return f"has({self.key})"


@dataclass(frozen=True, slots=True)
class Compare:
    """`key <operator> 'value'` for ==, !=, contains, starts with, ends with."""

    key: str
    operator: str
    value: str

    def matches(self, labels: Mapping[str, str], is_global: bool = False) -> bool:
        actual = labels.get(self.key)
        if self.operator == "!=":
            return actual != self.value  # a missing label matches too
        if actual is None:
            return False
        if self.operator == "==":
            return actual == self.value
        if self.operator == "contains":
            return self.value in actual
        if self.operator == "starts with":
            return actual.startswith(self.value)
        return actual.endswith(self.value)

    def __str__(self) -> str:
        return f"{self.key} {self.operator} '{self.value}'"


@dataclass(frozen=True, slots=True)
class InSet:
    """`key in {...}`, or `key not in {...}` (which matches a missing label too)."""

    key: str
    values: frozenset[str]
    negated: bool = False

    def matches(self, labels: Mapping[str, str], is_global: bool = False) -> bool:
        actual = labels.get(self.key)
        if self.negated:
            return actual is None or actual not in self.values
        return actual is not None and actual in self.values

    def __str__(self) -> str:
        values = ", ".join(f"'{v}'" for v in sorted(self.values))
        return f"{self.key} {'not in' if self.negated else 'in'} {{{values}}}"


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expression

    def matches(self, labels: Mapping[str, str], is_global: bool = False) -> bool:
        return not self.operand.matches(labels, is_global)

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"!({inner})" if isinstance(self.operand, And | Or) else f"!{inner}"


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expression, ...]

    def matches(self, labels: Mapping[str, str], is_global: bool = False) -> bool:
        return all(o.matches(labels, is_global) for o in self.operands)

    def __str__(self) -> str:
        return " && ".join(f"({o})" if isinstance(o, Or) else str(o) for o in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expression, ...]

    def matches(self, labels: Mapping[str, str], is_global: bool = False) -> bool:
        return any(o.matches(labels, is_global) for o in self.operands)

    def __str__(self) -> str:
        return " || ".join(str(o) for o in self.operands)


Expression: TypeAlias = All | Global | Has | Compare | InSet | Not | And | Or

ALL = All()


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed selector and its source text."""

    text: str
    expression: Expression

    def matches(self, labels: Mapping[str, str], is_global: bool = False) -> bool:
        return self.expression.matches(labels, is_global)

    @property
    def selects_all(self) -> bool:
        return isinstance(self.expression, All)

    @property
    def mentions_global(self) -> bool:
        return "global()" in str(self.expression)

    def __str__(self) -> str:
        return str(self.expression)


MATCH_ALL_SELECTOR = Selector("all()", ALL)


# --- the parser ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word", "string", or the punctuation itself ("(", "&&", "==", ...)
    text: str
    position: int  # 0-based offset in the source


def _tokens(text: str, fail: _Fail) -> list[_Token]:
    tokens: list[_Token] = []
    index, end = 0, len(text)
    while index < end:
        space = _SPACE.match(text, index)
        if space:
            index = space.end()
            continue
        two = text[index : index + 2]
        if two in ("&&", "||", "==", "!="):
            tokens.append(_Token(two, two, index))
            index += 2
            continue
        char = text[index]
        if char in "(){},!":
            tokens.append(_Token(char, char, index))
            index += 1
            continue
        if char in "'\"":
            close = text.find(char, index + 1)
            if close < 0:
                raise fail(index, f"unterminated string (no closing {char})")
            tokens.append(_Token("string", text[index + 1 : close], index))
            index = close + 1
            continue
        word = _KEY.match(text, index)
        if word is None:
            raise fail(index, f"unexpected character {char!r}")
        tokens.append(_Token("word", word.group(), index))
        index = word.end()
    return tokens


class _Fail:
    """Builds the one-line error for a position in the source."""

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field

    def __call__(self, position: int, reason: str) -> SelectorError:
        shown = self.text if len(self.text) <= 200 else self.text[:200] + "..."
        where = f"{self.field}: " if self.field else ""
        return SelectorError(
            f"{where}invalid selector at character {position + 1}: {reason} in {shown!r}"
        )


class _Parser:
    def __init__(self, text: str, field: str) -> None:
        self.fail = _Fail(text, field)
        self.tokens = _tokens(text, self.fail)
        self.index = 0
        self.end_position = len(text)

    def peek(self, offset: int = 0) -> _Token | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def at(self, kind: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == kind

    def position(self) -> int:
        token = self.peek()
        return token.position if token else self.end_position

    def take(self, kind: str, what: str) -> _Token:
        token = self.peek()
        if token is None or token.kind != kind:
            found = "the end" if token is None else repr(token.text)
            raise self.fail(self.position(), f"expected {what}, found {found}")
        self.index += 1
        return token

    def take_word(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text == word:
            self.index += 1
            return True
        return False

    def parse(self) -> Expression:
        if not self.tokens:
            return ALL
        expression = self.disjunction(0)
        token = self.peek()
        if token is not None:
            raise self.fail(
                token.position, f"unexpected {token.text!r} after a complete expression"
            )
        return expression

    def disjunction(self, depth: int) -> Expression:
        operands = [self.conjunction(depth)]
        while self.at("||"):
            self.index += 1
            operands.append(self.conjunction(depth))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self, depth: int) -> Expression:
        operands = [self.unary(depth)]
        while self.at("&&"):
            self.index += 1
            operands.append(self.unary(depth))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self, depth: int) -> Expression:
        if depth > MAX_DEPTH:
            raise self.fail(self.position(), f"nested more than {MAX_DEPTH} deep")
        token = self.peek()
        if token is not None and token.kind == "!":
            self.index += 1
            return Not(self.unary(depth + 1))
        if token is not None and token.kind == "(":
            self.index += 1
            inner = self.disjunction(depth + 1)
            self.take(")", "')'")
            return inner
        return self.match()

    def match(self) -> Expression:
        token = self.peek()
        if token is None or token.kind != "word":
            found = "the end" if token is None else repr(token.text)
            raise self.fail(
                self.position(), f"expected a label or all(), has(), global(), found {found}"
            )
        following = self.peek(1)
        if token.text in _FUNCTIONS and following is not None and following.kind == "(":
            self.index += 2
            if token.text == "has":
                label = self.take("word", "a label key")
                self.take(")", "')'")
                return Has(label.text)
            self.take(")", "')'")
            return ALL if token.text == "all" else Global()
        self.index += 1
        key = token.text
        operator = self.peek()
        if operator is None:
            raise self.fail(self.end_position, f"expected an operator after label {key!r}")
        if operator.kind in ("==", "!="):
            self.index += 1
            return Compare(key, operator.kind, self.value(operator.kind))
        if self.take_word("in"):
            return InSet(key, self.value_set())
        if self.take_word("not"):
            if not self.take_word("in"):
                raise self.fail(self.position(), "expected 'in' after 'not'")
            return InSet(key, self.value_set(), negated=True)
        if self.take_word("contains"):
            return Compare(key, "contains", self.value("contains"))
        for word in ("starts", "ends"):
            if self.take_word(word):
                if not self.take_word("with"):
                    raise self.fail(self.position(), f"expected 'with' after {word!r}")
                return Compare(key, f"{word} with", self.value(f"{word} with"))
        raise self.fail(
            operator.position,
            f"expected ==, !=, in, not in, contains, starts with or ends with after label "
            f"{key!r}, found {operator.text!r}",
        )

    def value(self, after: str) -> str:
        return self.take("string", f"a quoted value after {after!r}").text

    def value_set(self) -> frozenset[str]:
        self.take("{", "'{'")
        values: list[str] = []
        token = self.peek()
        if token is not None and token.kind == "}":
            self.index += 1
            return frozenset()
        while True:
            values.append(self.take("string", "a quoted value in the set").text)
            token = self.peek()
            if token is not None and token.kind == ",":
                self.index += 1
                continue
            self.take("}", "',' or '}'")
            return frozenset(values)


def parse_selector(text: str | None, field: str = "") -> Selector:
    """Parse a Calico selector; `field` names it in errors (`spec.selector`).

    None and the empty string mean `all()`. Raises SelectorError (a ValueError).
    """
    if text is None or not text.strip():
        return MATCH_ALL_SELECTOR
    return Selector(text, _Parser(text, field).parse())
