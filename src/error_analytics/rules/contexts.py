"""Contexts in which a named exception decides no category: assertions and expectations.

``TypeError not raised``, ``DID NOT RAISE <class 'TypeError'>``, ``expected [Function] to throw
TypeError`` report a test that failed, not a type error. Every line holding one of
:data:`NON_DECIDING_CONTEXTS` is ignored by every category, the built-in ones and those of a
rules file (:mod:`error_analytics.rules.classify` applies them first); a message whose only
category evidence sits on such a line stays ``unknown``. Rules as data: a table, applied
elsewhere.
"""

from __future__ import annotations

from typing import NamedTuple


class NonDecidingContext(NamedTuple):
    """A context that makes a line unable to decide a category: an assertion or expectation
    about an exception names the exception without it having happened."""

    name: str
    pattern: str  # a regular expression, as in CategoryRule.patterns; the line it hits is ignored
    example: str  # a message whose only category evidence this context takes away


#: Lines holding an assertion or expectation about an exception do not decide a category (see
#: the module docstring). Applied by :mod:`error_analytics.rules.classify` before any category.
NON_DECIDING_CONTEXTS: tuple[NonDecidingContext, ...] = (
    NonDecidingContext(
        "unittest assertRaises", r"not raised\b", "AssertionError: TypeError not raised"
    ),
    NonDecidingContext(
        "pytest.raises failure", r"DID NOT RAISE\b", "Failed: DID NOT RAISE <class 'TypeError'>"
    ),
    NonDecidingContext(
        "assertion error", r"Assertion(?:Failed)?Error\b", "AssertionError: expected ImportError"
    ),
    NonDecidingContext(
        "assert statement", r"assert (?=\S)", "E       assert isinstance(err, TypeError)"
    ),
    NonDecidingContext(
        "expected to throw / raise", r"to (?:throw|raise)", "expected [Function] to throw TypeError"
    ),
    NonDecidingContext(
        "should throw / raise", r"should (?:throw|raise)\b", "should raise ImportError"
    ),
    NonDecidingContext(
        "to be thrown / raised", r"to be (?:thrown|raised)\b", "Expected TypeError to be thrown"
    ),
    NonDecidingContext(
        "nothing was raised",
        r"nothing was (?:raised|thrown)\b",
        "expected TypeError but nothing was raised",
    ),
    NonDecidingContext(
        "expected an exception",
        r"xpected(?<![Uu]nexpected) (?:error of type |exception |an? )?[\w.:*]{0,100}(?:Error|Exception)\b",
        "expected TimeoutError, got None",
    ),
    NonDecidingContext("pytest.raises call", r"pytest\.raises\b", "with pytest.raises(TypeError):"),
    NonDecidingContext(
        "assertRaises / assertThrows", r"assert(?:Raises|Throws)\b", "self.assertRaises(TypeError)"
    ),
    NonDecidingContext(
        "Assert.Throws",
        r"Assert\.Throws",
        "Assert.Throws<TimeoutException>() Failure: No exception was thrown",
    ),
    NonDecidingContext("jest toThrow", r"toThrow", "expect(fn).toThrow(TypeError)"),
    NonDecidingContext(
        "jest constructor",
        r"Expected constructor:|Received constructor:",
        "Expected constructor: TypeError",
    ),
    NonDecidingContext(
        "xunit typeof", r"Expected: typeof\(", "Expected: typeof(System.TimeoutException)"
    ),
)
